// Changing ACTION_QUEUE_PARTITIONS between restarts: the jobs of partitions the new count no longer has are moved to
// the partitions it has, so every execution continues (src/queue/partitions.ts).
import { Worker, type JobsOptions, type Processor, type Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { ranBefore } from '../../src/queue/dead-letter.js';
import { attemptsBeforeMove, redelivered } from '../../src/queue/job-marks.js';
import { queuePrefix } from '../../src/queue/queues.js';
import { guard } from '../../src/queue/workers.js';
import { RetryableError } from '../../src/shared/errors.js';
import { startFakeServer, type FakeServer } from '../support/fake-http.js';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, executionsOf, publishWorkflow, trigger } from '../support/workflows.js';

/** Notify a CRM, wait, tag: a node job on an action partition, then a timer on the `wait` queue. */
const notifyThenWait = (url: string) => ({
  name: 'Notify, then wait',
  nodes: [
    trigger(),
    { id: 'notify', type: 'webhook_call', params: { url, body: { lead: '{{ lead.id }}' } } },
    { id: 'pause', type: 'wait', params: { duration: 'PT2S' } },
    { id: 'tag', type: 'add_tag', params: { tag: 'notified' } },
  ],
  edges: chain('start', 'notify', 'pause', 'tag'),
});

/** A node job's data for a made-up execution: what a queue holds, for tests that stage jobs by hand. */
const node = (orgId: string, nodeId: string) => ({
  orgId,
  executionId: 'x_test',
  workflowId: 'wf',
  version: 1,
  nodeId,
  iteration: 0,
  arms: [],
});

const env = (partitions: number, more: Record<string, string> = {}) => ({
  WEBHOOK_ALLOWLIST: '127.0.0.1',
  ACTION_QUEUE_PARTITIONS: String(partitions),
  ...more,
});

async function executionOf(h: Harness, apiKey: string, workflowId: string, leadId: string): Promise<any> {
  const summary = await eventually(
    async () => (await executionsOf(h, apiKey, workflowId)).find((e) => e.leadId === leadId),
    10_000,
    `an execution for ${leadId}`,
  );
  return (await h.call('GET', `/v1/executions/${summary.id}`, undefined, apiKey)).body;
}

async function settled(h: Harness, apiKey: string, workflowId: string, leadId: string, status = 'completed') {
  return eventually(
    async () => {
      const execution = await executionOf(h, apiKey, workflowId, leadId);
      return execution.status === status ? execution : undefined;
    },
    15_000,
    `the execution for ${leadId} to be ${status}`,
  );
}

async function stateOf(queue: Queue, jobId: string): Promise<string | undefined> {
  const job = await queue.getJob(jobId);
  return job ? queue.getJobState(jobId) : undefined;
}

const unfinished = async (queue: Queue) =>
  queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'waiting-children');

describe('restarting with another ACTION_QUEUE_PARTITIONS', () => {
  let server: FakeServer | undefined;
  const harnesses: Harness[] = [];
  const start = async (...args: Parameters<typeof startHarness>) => {
    const h = await startHarness(...args);
    harnesses.push(h);
    return h;
  };
  /** Stops an engine and starts another on its data with a new partition count. */
  const restart = async (before: Harness, partitions: number, more: Record<string, string> = {}) => {
    await before.engine.close();
    harnesses.splice(harnesses.indexOf(before), 1);
    return start({ env: env(partitions, { QUEUE_PREFIX: before.prefix, ...more }) });
  };

  afterEach(async () => {
    // The last harness cleans the prefix they share.
    for (const h of harnesses.splice(0).reverse()) await h.close();
    await server?.close();
    server = undefined;
  });

  it('3 → 1: a waiting node job, a job backing off and a wait all continue, attempts and delay kept', async () => {
    // Arrange: three executions of one organization, stopped at three places while 3 partitions run
    server = await startFakeServer();
    const before = await start({ env: env(3, { JOB_BACKOFF_MS: '2000' }) });
    const { orgId, apiKey } = await before.createOrg();
    const workflowId = await publishWorkflow(before, apiKey, notifyThenWait(`${server.url}/crm`));
    const partition = before.engine.queues.actionsFor(orgId);
    expect(partition.name).toMatch(/^actions-[0-2]$/);

    server.reply({ status: 503 }, { status: 200 });
    await before.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'backing-off' } }, apiKey);
    const backingOff = await eventually(async () => {
      const execution = await executionOf(before, apiKey, workflowId, 'backing-off');
      return execution.steps.some((s: any) => s.nodeId === 'notify' && s.status === 'failed')
        ? execution
        : undefined;
    });
    await before.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'waiting' } }, apiKey);
    await settled(before, apiKey, workflowId, 'waiting', 'waiting');
    await partition.pause();
    await before.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'queued' } }, apiKey);
    const queued = await executionOf(before, apiKey, workflowId, 'queued');
    await eventually(async () => ((await stateOf(partition, `${queued.id}.notify.0`)) ? true : undefined));

    // Act
    const after = await restart(before, 1);

    // Assert: all three complete on `actions`, and the retired partition is empty
    expect(after.engine.queues.actions.map((queue) => queue.name)).toEqual(['actions']);
    for (const lead of ['backing-off', 'waiting', 'queued']) {
      const execution = await settled(after, apiKey, workflowId, lead);
      expect(execution.steps.map((s: any) => s.nodeId)).toContain('tag');
    }
    const done = await settled(after, apiKey, workflowId, 'backing-off');
    const notify = done.steps.filter((s: any) => s.nodeId === 'notify');
    expect(notify.map((s: any) => [s.status, s.attempt])).toEqual([
      ['failed', 1],
      ['completed', 2],
    ]);
    // The backoff ran its course: the move kept the remaining delay instead of running the job at once.
    expect(Date.parse(notify[1].startedAt) - Date.parse(notify[0].startedAt)).toBeGreaterThanOrEqual(1900);
    expect(backingOff.id).toBe(done.id);
    expect(await stateOf(after.engine.queues.actions[0]!, `${queued.id}.notify.0`)).toBe('completed');
    const retired = after.engine.queues.byName(partition.name)!;
    expect(await unfinished(retired)).toEqual({
      wait: 0,
      prioritized: 0,
      delayed: 0,
      active: 0,
      'waiting-children': 0,
    });
    expect(server.requests.filter((r) => r.url === '/crm')).toHaveLength(4);
    const health = await after.call('GET', '/v1/queues', undefined, ADMIN_TOKEN);
    expect(health.body.queues.filter((q: any) => q.retired)).toEqual([]);
  });

  it('1 → 4: each organization’s jobs go to the partition it uses now', async () => {
    // Arrange: two organizations with node jobs waiting on the one `actions` queue
    server = await startFakeServer();
    const before = await start({ env: env(1) });
    const orgs = [await before.createOrg('First Gym'), await before.createOrg('Second Gym')];
    const workflows: string[] = [];
    for (const { apiKey } of orgs)
      workflows.push(await publishWorkflow(before, apiKey, notifyThenWait(`${server.url}/crm`)));
    await before.engine.queues.actions[0]!.pause();
    const jobIds: string[] = [];
    for (const [i, { apiKey }] of orgs.entries()) {
      await before.call('POST', '/v1/events', { type: 'new_lead', lead: { id: `lead-${i}` } }, apiKey);
      const execution = await executionOf(before, apiKey, workflows[i]!, `lead-${i}`);
      jobIds.push(`${execution.id}.notify.0`);
      await eventually(async () =>
        (await stateOf(before.engine.queues.actions[0]!, jobIds[i]!)) ? true : undefined,
      );
    }

    // Act
    const after = await restart(before, 4);

    // Assert
    for (const [i, { orgId, apiKey }] of orgs.entries()) {
      await settled(after, apiKey, workflows[i]!, `lead-${i}`);
      const partition = after.engine.queues.actionsFor(orgId);
      expect(partition.name).toMatch(/^actions-[0-3]$/);
      expect(await stateOf(partition, jobIds[i]!)).toBe('completed');
    }
    expect(await stateOf(after.engine.queues.byName('actions')!, jobIds[0]!)).toBeUndefined();
  });

  it('during a rolling deploy, a job an API process with the old count adds is moved by the periodic pass', async () => {
    // Arrange: workers with 1 partition, and an API process still running with 3
    server = await startFakeServer();
    const workers = await start({ env: env(1, { PARTITION_DRAIN_INTERVAL_MS: '200' }) });
    const oldApi = await start({ workers: false, env: env(3, { QUEUE_PREFIX: workers.prefix }) });
    const { orgId, apiKey } = await workers.createOrg();
    const workflowId = await publishWorkflow(workers, apiKey, notifyThenWait(`${server.url}/crm`));
    await workers.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'replayed' } }, apiKey);
    const first = await settled(workers, apiKey, workflowId, 'replayed');

    // Act: the old API process replays the execution, putting its first job on a partition the workers do not use
    const replayed = await oldApi.call(
      'POST',
      `/v1/executions/${first.id}/replay`,
      { fromNode: 'tag' },
      apiKey,
    );

    // Assert
    expect(replayed.status).toBe(201);
    const jobId = `${replayed.body.id}.tag.0`;
    const oldPartition = oldApi.engine.queues.actionsFor(orgId);
    const second = await eventually(async () => {
      const r = await workers.call('GET', `/v1/executions/${replayed.body.id}`, undefined, apiKey);
      return r.body.status === 'completed' ? r.body : undefined;
    });
    expect(second.steps.map((s: any) => s.nodeId)).toEqual(['start', 'tag']);
    expect(await stateOf(workers.engine.queues.actions[0]!, jobId)).toBe('completed');
    expect(await stateOf(oldPartition, jobId)).toBeUndefined();
  });

  it('with two counts running at once, only that of the workers started last moves jobs, and none move back', async () => {
    // Arrange: workers with 3 partitions, then (a deploy going out) workers with 1 on the same data; a job waits on a
    // partition of each count, both paused so that no worker takes them
    const rarely = { PARTITION_DRAIN_INTERVAL_MS: '3600000' };
    const older = await start({ env: env(3, rarely) });
    const newer = await start({ env: env(1, { ...rarely, QUEUE_PREFIX: older.prefix }) });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the passes run as they started found nothing
    const [plain] = newer.engine.queues.actions;
    const three = older.engine.queues.byName('actions-2')!;
    const job = (nodeId: string) => node('org-x', nodeId);
    for (const queue of [plain!, three]) await queue.pause();
    await plain!.add('stay', job('stay'), { jobId: 'stay' });
    await three.add('come', job('come'), { jobId: 'come' });

    // Act
    const byOlder = await older.engine.partitions.pass();
    const byNewer = await newer.engine.partitions.pass();
    const byOlderAgain = await older.engine.partitions.pass();

    // Assert: the count-1 workers moved `come` into `actions`; the count-3 ones moved nothing out of it
    expect([byOlder, byOlderAgain]).toEqual([[], []]);
    expect(byNewer).toMatchObject([{ queue: 'actions-2', into: { actions: 1 } }]);
    expect([await stateOf(plain!, 'stay'), await stateOf(plain!, 'come')]).toEqual(['waiting', 'waiting']);
    expect(await stateOf(three, 'come')).toBeUndefined();
  });

  it('a dead-letter retry of a job parked from a retired partition runs on the current one', async () => {
    // Arrange: a step dead-lettered while 3 partitions run
    server = await startFakeServer();
    const before = await start({ env: env(3) });
    const { orgId, apiKey } = await before.createOrg();
    const workflowId = await publishWorkflow(before, apiKey, notifyThenWait(`${server.url}/crm`));
    server.reply({ status: 404 });
    await before.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'parked' } }, apiKey);
    await settled(before, apiKey, workflowId, 'parked', 'failed');
    const [entry] = await eventually(async () => {
      const r = await before.call('GET', '/v1/dead-letter', undefined, apiKey);
      return r.body.entries.length > 0 ? r.body.entries : undefined;
    });
    const retiredName = before.engine.queues.actionsFor(orgId).name;
    expect(entry.queue).toBe(retiredName);

    // Act
    const after = await restart(before, 1);
    server.reply({ status: 200 });
    const retried = await after.call('POST', `/v1/dead-letter/${entry.id}/retry`, undefined, apiKey);

    // Assert
    expect(retried.status).toBe(202);
    const execution = await settled(after, apiKey, workflowId, 'parked');
    expect(execution.steps.at(-1)).toMatchObject({ nodeId: 'tag', status: 'completed' });
    expect(await stateOf(after.engine.queues.actions[0]!, entry.jobId)).toBe('completed');
    // The failed original is gone from the retired partition, so nothing there still claims the id.
    expect(await stateOf(after.engine.queues.byName(retiredName)!, entry.jobId)).toBeUndefined();
  });
});

describe('moving the jobs of a retired partition', () => {
  const harnesses: Harness[] = [];
  const workers: Worker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close(true)));
    for (const h of harnesses.splice(0).reverse()) await h.close();
  });
  /** An engine with one partition and no workers: passes are run by hand. */
  const engine = async (prefix?: string) => {
    const h = await startHarness({
      workers: false,
      env: { ACTION_QUEUE_PARTITIONS: '1', ...(prefix ? { QUEUE_PREFIX: prefix } : {}) },
    });
    harnesses.push(h);
    return h;
  };
  const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  /** A worker on an action queue: of the old count on a retired one, as a process not yet restarted would run. */
  const workerOn = (h: Harness, name: string, process: Processor, lockDuration = 30_000) => {
    const worker = new Worker(name, process, {
      connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) },
      prefix: queuePrefix(h.engine.config, name),
      lockDuration,
    });
    workers.push(worker);
    return worker;
  };

  it('keeps id, name, data, order, priority, remaining delay, the attempts left and dead-letter marks', async () => {
    // Arrange: jobs on `actions-2`, which a count of 1 does not use, and one job already on `actions`
    const h = await engine();
    const { queues } = h.engine;
    const retired = queues.byName('actions-2')!;
    const [current] = queues.actions;
    await current!.add('newer', node('org-1', 'newer'), { jobId: 'newer' });
    for (const id of ['a', 'b']) await retired.add(id, node('org-1', id), { jobId: id });
    // `c` was put back by a dead-letter retry: a stale second retry of the same entry must still know it. The marks are
    // spelled out (not `redelivered(...)`), so the test pins the names stored on jobs already in Redis.
    const putBack = { atlasRedelivered: true, atlasRetryOf: '2026-12-06T10:00:00.000Z' };
    await retired.add('c', node('org-1', 'c'), { jobId: 'c', ...putBack } as JobsOptions);
    await retired.add('p', node('org-1', 'p'), { jobId: 'p', priority: 5 });
    await retired.add('d', node('org-1', 'd'), { jobId: 'd', delay: 60_000 });
    await h.engine.redis.hset(retired.toKey('b'), 'atm', 2, 'ats', 3);

    // Act
    const [report] = await h.engine.partitions.pass();

    // Assert
    expect(report).toEqual({
      queue: 'actions-2',
      moved: { waiting: 3, prioritized: 1, delayed: 1, stalled: 0 },
      into: { actions: 5 },
      dropped: 0,
      left: { active: 0, unreadable: 0 },
    });
    expect(await unfinished(retired)).toMatchObject({ wait: 0, prioritized: 0, delayed: 0 });
    // Waiting jobs keep their order, ahead of work that came after them
    expect((await current!.getJobs(['wait'], 0, -1, true)).map((job) => job.id)).toEqual([
      'a',
      'b',
      'c',
      'newer',
    ]);
    // `b` made 2 of its 3 attempts: its copy has 1, and counts on from the 2 made before the move
    const b = (await current!.getJob('b'))!;
    expect([b.name, b.data, b.attemptsMade, b.opts.attempts, attemptsBeforeMove(b)]).toEqual([
      'b',
      node('org-1', 'b'),
      0,
      1,
      2,
    ]);
    const c = (await current!.getJob('c'))!;
    expect(c.opts).toMatchObject(putBack);
    expect(ranBefore(c)).toBe(true);
    expect(b.opts).not.toHaveProperty('atlasRedelivered');
    const p = (await current!.getJob('p'))!;
    expect([await p.getState(), p.priority]).toEqual(['prioritized', 5]);
    const score = await h.engine.redis.zscore(current!.toKey('delayed'), 'd');
    const runIn = Math.floor(Number(score) / 0x1000) - Date.now();
    expect(runIn).toBeGreaterThan(55_000);
    expect(runIn).toBeLessThanOrEqual(60_000);
  });

  it('keeps a job a dead-letter retry put back on a retired partition from running again on a stale second retry', async () => {
    // Arrange: an entry, retried by a process of the old count, which put its job back on `actions-2` with its marks
    const h = await engine();
    const retired = h.engine.queues.byName('actions-2')!;
    const [current] = h.engine.queues.actions;
    const parkedJob = await retired.add('r', node('org-stale', 'r'), { jobId: 'r' });
    const error = { name: 'Error', code: 'http_500', message: 'refused', retryable: false };
    await h.engine.deadLetter.park('actions-2', parkedJob, error);
    const [entry] = await h.engine.deadLetter.list('org-stale');
    await parkedJob.remove();
    await h.engine.deadLetter.discard(entry!);
    await retired.add('r', node('org-stale', 'r'), { jobId: 'r', ...redelivered(entry!.failedAt) });
    await h.engine.partitions.pass();
    let runs = 0;
    workerOn(h, current!.name, async () => {
      runs += 1;
    });
    const moved = await eventually(async () => {
      const job = await current!.getJob('r');
      return job && (await job.getState()) === 'completed' ? job : undefined;
    });

    // Act: a second retry of the same entry, from a view read before the first forgot it
    await h.engine.deadLetter.retry(entry!);
    // Time for a job the retry wrongly added again to run; its state and start time below tell it either way.
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Assert: the job the first retry put back was kept, and did not run again
    const kept = (await current!.getJob('r'))!;
    expect([runs, await kept.getState(), kept.processedOn]).toEqual([1, 'completed', moved.processedOn]);
  });

  it('moves each job once with two passes at once, and finishes a move stopped between add and remove', async () => {
    // Arrange: two processes starting together; `m` already copied by a pass that stopped before removing it
    const first = await engine();
    const second = await engine(first.prefix);
    const retired = first.engine.queues.byName('actions-5')!;
    const [current] = first.engine.queues.actions;
    const ids = Array.from({ length: 450 }, (_, i) => `j${i}`);
    await retired.addBulk(ids.map((id) => ({ name: id, data: node(`org-${id}`, id), opts: { jobId: id } })));
    await retired.add('m', node('org-1', 'm'), { jobId: 'm', delay: 30_000 });
    await first.engine.redis.hset(retired.toKey('m'), 'atm', 1, 'ats', 1);
    await current!.add('m', node('org-1', 'm'), {
      jobId: 'm',
      attempts: 2,
      atlasAttemptsBefore: 1,
    } as JobsOptions);

    // Act
    const reports = (
      await Promise.all([first.engine.partitions.pass(), second.engine.partitions.pass()])
    ).flat();

    // Assert
    const moved = reports.reduce((sum, r) => sum + r.moved.waiting + r.moved.delayed, 0);
    expect(moved).toBe(ids.length + 1);
    expect(await unfinished(retired)).toMatchObject({ wait: 0, delayed: 0 });
    const counts = await current!.getJobCounts('wait', 'delayed');
    expect((counts.wait ?? 0) + (counts.delayed ?? 0)).toBe(ids.length + 1);
    const m = (await current!.getJob('m'))!;
    expect([m.opts.attempts, attemptsBeforeMove(m)]).toEqual([2, 1]);
  });

  it('leaves an active job its worker holds, lists the partition as retired, and moves the job once the worker is gone', async () => {
    // Arrange: a worker of the old count holds one job; another job waits behind it
    const h = await engine();
    const retired = h.engine.queues.byName('actions-1')!;
    const [current] = h.engine.queues.actions;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const worker = workerOn(h, 'actions-1', () => held, 1000);
    await retired.add('held', node('org-1', 'held'), { jobId: 'held' });
    await eventually(async () => ((await stateOf(retired, 'held')) === 'active' ? true : undefined));

    // Act, Assert: the held job stays, and health shows the retired partition with its worker
    const [report] = await h.engine.partitions.pass();
    expect(report).toMatchObject({ moved: { waiting: 0, stalled: 0 }, left: { active: 1 } });
    expect(await stateOf(retired, 'held')).toBe('active');
    const health = await h.call('GET', '/v1/queues', undefined, ADMIN_TOKEN);
    expect(health.body.queues.find((q: any) => q.name === 'actions-1')).toMatchObject({
      retired: true,
      active: 1,
      workers: 1,
    });

    // Act: the worker dies without finishing; its lock runs out
    await worker.close(true);
    release();
    await eventually(async () =>
      (await h.engine.redis.exists(`${retired.toKey('held')}:lock`)) === 0 ? true : undefined,
    );
    const [later] = await h.engine.partitions.pass();

    // Assert: moved as stalled, the stall counted; the partition is no longer listed
    expect(later).toMatchObject({ moved: { stalled: 1 }, into: { actions: 1 }, left: { active: 0 } });
    const moved = (await current!.getJob('held'))!;
    expect([await moved.getState(), moved.stalledCounter, moved.attemptsMade, moved.opts.attempts]).toEqual([
      'waiting',
      1,
      0,
      3,
    ]);
    const after = await h.call('GET', '/v1/queues', undefined, ADMIN_TOKEN);
    expect(after.body.queues.map((q: any) => q.name)).not.toContain('actions-1');
  });

  it('gives a copy only the attempts left, even when a worker takes it before the pass is done', async () => {
    // Arrange: `b` made 2 of its 3 attempts on `actions-2`; as the pass adds its copy, a worker on `actions` whose
    // provider is down takes it (the engine's guard decides retry or dead-letter)
    const h = await engine();
    const retired = h.engine.queues.byName('actions-2')!;
    const [current] = h.engine.queues.actions;
    await retired.add('b', node('org-1', 'b'), { jobId: 'b' });
    await h.engine.redis.hset(retired.toKey('b'), 'atm', 2, 'ats', 2);
    let runs = 0;
    const failing = guard(
      'actions',
      async () => {
        runs += 1;
        throw new RetryableError('provider down');
      },
      h.engine.deadLetter,
      h.engine.logger,
      async () => undefined,
    );
    const addBulk = current!.addBulk.bind(current!);
    current!.addBulk = async (jobs) => {
      const added = await addBulk(jobs);
      workerOn(h, 'actions', failing);
      await eventually(async () => (runs > 0 ? true : undefined));
      return added;
    };

    // Act
    await h.engine.partitions.pass();

    // Assert: its third attempt was its last, and its dead-letter entry says so
    await eventually(async () => ((await stateOf(current!, 'b')) === 'failed' ? true : undefined));
    expect(runs).toBe(1);
    expect((await h.engine.deadLetter.get('actions.b'))!.attempts).toBe(3);
  });

  it('withdraws the copy of a job a worker of the old count took and finished while the pass copied it', async () => {
    // Arrange: a job waiting on `actions-2`; as the pass adds its copy, a worker of the old count runs the original
    const h = await engine();
    const retired = h.engine.queues.byName('actions-2')!;
    const [current] = h.engine.queues.actions;
    await retired.add('raced', node('org-1', 'raced'), { jobId: 'raced' });
    const addBulk = current!.addBulk.bind(current!);
    current!.addBulk = async (jobs) => {
      const added = await addBulk(jobs);
      const worker = workerOn(h, 'actions-2', async () => undefined);
      await eventually(async () => ((await stateOf(retired, 'raced')) === 'completed' ? true : undefined));
      await worker.close();
      return added;
    };

    // Act
    const [report] = await h.engine.partitions.pass();

    // Assert: it ran once, where it was; nothing counts as moved and no copy is left to run again
    expect([report!.moved.waiting, report!.into]).toEqual([0, {}]);
    expect(await stateOf(retired, 'raced')).toBe('completed');
    expect(await stateOf(current!, 'raced')).toBeUndefined();
  });

  it('drops ids whose job is gone and leaves unreadable jobs, moving the jobs behind a full page of them', async () => {
    // Arrange: on `actions-4`, a real job, then (at the end read first) an unreadable job and 250 ids of jobs gone
    const h = await engine();
    const retired = h.engine.queues.byName('actions-4')!;
    const [current] = h.engine.queues.actions;
    await retired.add('kept', node('org-1', 'kept'), { jobId: 'kept' });
    await h.engine.redis.hset(retired.toKey('bad'), 'name', 'bad', 'data', '{not json', 'opts', '{}');
    await h.engine.redis.lpush(retired.toKey('wait'), 'bad');
    const gone = Array.from({ length: 250 }, (_, i) => `gone-${i}`);
    await h.engine.redis.lpush(retired.toKey('wait'), ...gone);

    // Act
    const [report] = await h.engine.partitions.pass();

    // Assert
    expect(report).toMatchObject({
      moved: { waiting: 1 },
      into: { actions: 1 },
      dropped: 250,
      left: { active: 0, unreadable: 1 },
    });
    expect(await stateOf(current!, 'kept')).toBe('waiting');
    expect(await h.engine.redis.lrange(retired.toKey('wait'), 0, -1)).toEqual(['bad']);
  });

  it('moves at most 10 pages of a state per pass, so a state kept full leaves the others their turn', async () => {
    // Arrange: 2050 jobs waiting on `actions-6`, as if processes of the old count kept adding, and one delayed
    const h = await engine();
    const retired = h.engine.queues.byName('actions-6')!;
    const ids = Array.from({ length: 2050 }, (_, i) => `w${i}`);
    await retired.addBulk(ids.map((id) => ({ name: id, data: node('org-1', id), opts: { jobId: id } })));
    await retired.add('later', node('org-1', 'later'), { jobId: 'later', delay: 60_000 });

    // Act
    const [first] = await h.engine.partitions.pass();
    const [second] = await h.engine.partitions.pass();

    // Assert: the first pass stops waiting jobs at 2000 and still moves the delayed one; the next takes the rest
    expect(first).toMatchObject({ moved: { waiting: 2000, delayed: 1 }, capped: true });
    expect(second).toMatchObject({ moved: { waiting: 50, delayed: 0 } });
    expect(second!.capped).toBeUndefined();
  });

  it('opens no retired queue that holds no job: passes and queue health only ask whether their keys exist', async () => {
    // Arrange: an engine with one partition; no other action queue was ever used
    const h = await engine();

    // Act
    const reports = await h.engine.partitions.pass();
    const health = await h.call('GET', '/v1/metrics/queues', undefined, ADMIN_TOKEN);

    // Assert: nothing to move or list, and no retired queue was opened (opening one writes its meta)
    expect(reports).toEqual([]);
    expect(health.body.queues.filter((q: any) => q.retired)).toEqual([]);
    expect(await h.engine.redis.keys(`${h.prefix}:{q.actions-*`)).toEqual([]);
  });

  it('neither drains nor lists a retired queue whose only unfinished job waits for children', async () => {
    // Arrange: `actions-3` holds a job in `waiting-children` (the engine adds no flows; another tool might)
    const h = await engine();
    const retired = h.engine.queues.byName('actions-3')!;
    await h.engine.redis.zadd(retired.toKey('waiting-children'), Date.now(), 'parent');

    // Act
    const reports = await h.engine.partitions.pass();
    const health = await h.call('GET', '/v1/queues', undefined, ADMIN_TOKEN);

    // Assert
    expect(reports).toEqual([]);
    expect(health.body.queues.map((q: any) => q.name)).not.toContain('actions-3');
  });

  it('a dead-letter retry of an action job without an organization goes back to its retired queue', async () => {
    // Arrange: a job with no organization parked from `actions-2`, which a count of 1 does not use
    const h = await engine();
    const error = { name: 'Error', code: 'invalid', message: 'no organization', retryable: false };
    await h.engine.deadLetter.park(
      'actions-2',
      { id: 'orphan', name: 'n', data: {}, attemptsMade: 0 },
      error,
    );
    const entry = (await h.engine.deadLetter.get('actions-2.orphan'))!;

    // Act
    await h.engine.deadLetter.retry(entry);

    // Assert: back where it failed, from where the next pass moves it to a current partition
    expect(await stateOf(h.engine.queues.byName('actions-2')!, 'orphan')).toBe('waiting');
    const [report] = await h.engine.partitions.pass();
    expect(report).toMatchObject({ queue: 'actions-2', into: { actions: 1 } });
  });
});
