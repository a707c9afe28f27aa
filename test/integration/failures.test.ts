import { Job, Queue, Worker, type Processor } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionIdFor } from '../../src/engine/start.js';
import { nodeJobId } from '../../src/engine/jobs.js';
import { createOrgIndex } from '../../src/engine/org-index.js';
import { StepFailure } from '../../src/nodes/runner.js';
import { createDeadLetter, ranBefore, type DeadLetter } from '../../src/queue/dead-letter.js';
import { takeLock } from '../../src/queue/lock.js';
import { queuePrefix } from '../../src/queue/queues.js';
import { guard, parkUnparked, STALLED_TOO_OFTEN, sweepUnparked } from '../../src/queue/workers.js';
import { NonRetryableError } from '../../src/shared/errors.js';
import { startFakeServer, type FakeServer } from '../support/fake-http.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { capturedLogs } from '../support/logs.js';
import { afterTrigger, eventsFor, testStarter } from '../support/starters.js';
import { chain, publishWorkflow, settledExecution, tagging, trigger } from '../support/workflows.js';

const webhookFlow = (url: string) => ({
  name: 'Notify the CRM',
  nodes: [
    trigger(),
    { id: 'notify', type: 'webhook_call', params: { url, body: { lead: '{{ lead.id }}' } } },
    { id: 'tag', type: 'add_tag', params: { tag: 'notified' } },
  ],
  edges: chain('start', 'notify', 'tag'),
});

/** Waits `duration` (ISO 8601), then tags the lead: an execution that sits waiting meanwhile. */
const pauseThenTag = (duration: string) => ({
  name: `Pause ${duration}, then tag`,
  nodes: [
    trigger(),
    { id: 'pause', type: 'wait', params: { duration } },
    { id: 'tag', type: 'add_tag', params: { tag: 'later' } },
  ],
  edges: chain('start', 'pause', 'tag'),
});

/** The dead-letter queue, refusing the first `count` jobs it is asked to park (as when its node is down). */
function refusing(real: DeadLetter, count: number) {
  let left = count;
  const deadLetter: DeadLetter = {
    ...real,
    park: async (...args) => {
      if (left > 0) {
        left -= 1;
        throw new Error('dead-letter queue unavailable');
      }
      return real.park(...args);
    },
  };
  return { deadLetter, refusals: () => left };
}

describe('failing steps', () => {
  let h: Harness;
  let server: FakeServer;
  const logs = capturedLogs('error');

  beforeAll(async () => {
    server = await startFakeServer();
    h = await startHarness({ env: { WEBHOOK_ALLOWLIST: '127.0.0.1' }, logger: logs.logger });
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  /** A queue of its own under this harness's prefix, and a worker running `processor` on it. */
  const scratchQueue = (name: string, processor: Processor) => {
    const prefix = `${h.prefix}:{q.${name}}`;
    const queue = new Queue(name, { connection: h.engine.redis, prefix });
    const worker = new Worker(name, processor, { connection: h.engine.redis, prefix });
    return { queue, worker, close: () => worker.close().then(() => queue.close()) };
  };

  /** What `sweepUnparked` needs, with a cursor of the test's own and `abandon` noting each job it is given. */
  const sweepDeps = (cursorKey: string, deadLetter: DeadLetter, abandoned: string[]) => ({
    redis: h.engine.redis,
    cursorKey,
    lockKey: `${cursorKey}:lock`,
    deadLetter,
    logger: h.engine.logger,
    abandon: async (_queue: string, job: { id?: string | undefined }) => void abandoned.push(String(job.id)),
  });

  /**
   * A step that failed for good at its first attempt (a 404 from `/<path>`), parked, and noted as if its failure could
   * not be recorded as it was parked.
   */
  const notedEntry = async (path: string) => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 404 });
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/${path}`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: `lead-${path}` } }, apiKey);
    const [entry] = await deadLettered(apiKey);
    await h.engine.deadLetter.markUnrecorded(
      entry.queue,
      { id: entry.jobId, name: entry.name, data: entry.data },
      entry.error,
    );
    return { apiKey, workflowId, entry };
  };

  /** The organization's dead-letter entries, once there is one. */
  const deadLettered = (apiKey: string): Promise<any[]> =>
    eventually(async () => {
      const r = await h.call('GET', '/v1/dead-letter', undefined, apiKey);
      return r.body.entries.length > 0 ? r.body.entries : undefined;
    });

  it('retries a step that fails with a 5xx and completes when the endpoint recovers', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 503 }, { status: 200, body: { received: true } });
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/retry`));

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-1' } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId);

    const notify = execution.steps.filter((s: any) => s.nodeId === 'notify');
    expect(notify.map((s: any) => [s.status, s.attempt])).toEqual([
      ['failed', 1],
      ['completed', 2],
    ]);
    expect(notify[0].error).toMatchObject({ code: 'http_503', retryable: true });
    expect(notify[1].output).toEqual({ status: 200, body: { received: true } });
    expect(server.requests.filter((r) => r.url === '/retry')).toHaveLength(2);
  });

  it('waits as long as a 429 asks without spending an attempt', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 429, headers: { 'retry-after': '1' } }, { status: 200 });
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/limited`));

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-429' } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId);

    const notify = execution.steps.filter((s: any) => s.nodeId === 'notify');
    expect(notify.map((s: any) => [s.status, s.attempt])).toEqual([
      ['failed', 1],
      ['completed', 1],
    ]);
    expect(notify[0].error).toMatchObject({ code: 'rate_limited' });
    expect(Date.parse(notify[1].startedAt) - Date.parse(notify[0].startedAt)).toBeGreaterThanOrEqual(900);
    expect(server.requests.filter((r) => r.url === '/limited')).toHaveLength(2);
  });

  it('dead-letters a step after its last attempt, and a retry from the dead-letter queue completes it', async () => {
    const { apiKey, orgId } = await h.createOrg();
    server.reply({ status: 500, body: { error: 'down' } });
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/dlq`));

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-2' } }, apiKey);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);
    expect(failed.error).toMatchObject({ code: 'http_500' });
    const entries = await deadLettered(apiKey);

    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      queue: 'actions',
      attempts: 3,
      executionId: failed.id,
      error: { code: 'http_500', retryable: true },
      data: { nodeId: 'notify', executionId: failed.id },
    });
    expect(entries[0].failedAt).toEqual(expect.any(String));

    server.reply({ status: 200 });
    const retried = await h.call('POST', `/v1/dead-letter/${entries[0].id}/retry`, undefined, apiKey);
    expect(retried.status).toBe(202);
    const completed = await settledExecution(h, apiKey, workflowId, ['completed']);
    expect(completed.steps.at(-1)).toMatchObject({ nodeId: 'tag', status: 'completed' });
    const after = await h.call('GET', '/v1/dead-letter', undefined, apiKey);
    expect(after.body.entries).toEqual([]);
    // The job put back says so: its attempts start afresh, and a trigger job's start must know it ran before.
    const putBack = await Job.fromId(h.engine.queues.actionsFor(orgId), entries[0].jobId);
    expect(putBack?.attemptsStarted).toBe(1);
    expect(putBack && ranBefore(putBack)).toBe(true);
  });

  it('tells a job that runs again after a failure from its first run', async () => {
    const seen: boolean[] = [];
    const { queue, close } = scratchQueue('ran-before', async (job) => {
      seen.push(ranBefore(job));
      if (seen.length === 1) throw new Error('fails once');
    });
    try {
      await queue.add('once', {}, { attempts: 2 });
      await eventually(async () => (seen.length === 2 ? true : undefined));
      expect(seen).toEqual([false, true]);
    } finally {
      await close();
    }
  });

  it('records an execution cancelled while its step fails for good as cancelled, not failed', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/cancelled-meanwhile`));
    const executionId = executionIdFor(orgId, 'cancelled-meanwhile', workflowId);
    // The cancel ends the execution while the call is out; its own bookkeeping comes later (as on another worker).
    server.reply({
      status: 404,
      before: () =>
        h.engine.executions.end(executionId, 'cancelled', 'cancelled meanwhile', new Date().toISOString()),
    });

    await h.call(
      'POST',
      '/v1/events',
      { id: 'cancelled-meanwhile', type: 'new_lead', lead: { id: 'lead-c' } },
      apiKey,
    );
    await deadLettered(apiKey);

    // The cancel's own bookkeeping has not run: the failing step records the end, as a cancel.
    expect(await h.engine.executions.load(executionId)).toMatchObject({ status: 'cancelled' });
    const stats = () => h.engine.redis.hgetall(h.engine.keys.stats(orgId));
    expect((await stats())[`${workflowId}:failed`]).toBeUndefined();
    expect((await stats())[`${workflowId}:cancelled`]).toBe('1');
    expect(
      await h.engine.redis.zscore(h.engine.keys.finished(orgId), `${workflowId} ${executionId}`),
    ).not.toBeNull();
    // The cancel's bookkeeping, when it comes, counts nothing twice.
    await h.engine.lifecycle.end(orgId, executionId, 'cancelled', 'cancelled meanwhile');
    expect((await stats())[`${workflowId}:cancelled`]).toBe('1');
  });

  it('records an execution whose job fails for good outside its steps as failed, and parks the job', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, pauseThenTag('PT0.5S'));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-unreadable' } }, apiKey);
    await settledExecution(h, apiKey, workflowId, ['waiting']);
    // The lead can no longer be read (a key of the wrong type): the node job fails before it runs a step.
    const leadKey = h.engine.keys.lead(orgId, 'lead-unreadable');
    const saved = await h.engine.redis.dumpBuffer(leadKey);
    await h.engine.redis.del(leadKey);
    await h.engine.redis.set(leadKey, 'not a hash');

    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);
    expect(failed.error).toMatchObject({ retryable: true });
    expect(failed.error.message).toMatch(/WRONGTYPE/);
    const [entry] = await deadLettered(apiKey);
    expect(entry).toMatchObject({ executionId: failed.id, attempts: 3, data: { nodeId: 'tag' } });
    const stats = await h.engine.redis.hgetall(h.engine.keys.stats(orgId));
    expect(stats[`${workflowId}:failed`]).toBe('1');
    // Retried once the lead is readable again, the execution runs on and completes.
    await h.engine.redis.del(leadKey);
    await h.engine.redis.restore(leadKey, 0, saved!);
    expect((await h.call('POST', `/v1/dead-letter/${entry.id}/retry`, undefined, apiKey)).status).toBe(202);
    await settledExecution(h, apiKey, workflowId, ['completed']);
  });

  it("records a job's final failure once: recorded again, it leaves the execution's error and counts as they were", async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, pauseThenTag('PT1H'));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-recorded-once' } }, apiKey);
    const { id } = await settledExecution(h, apiKey, workflowId, ['waiting']);
    const failure = (message: string) => ({
      steps: [],
      effects: {},
      final: true,
      error: { name: 'Error', code: 'internal_error', message, retryable: false },
      jobId: 'job-recorded-once',
    });
    const first = await h.engine.executions.fail(id, failure('the first record'), new Date().toISOString());
    expect(first).toEqual({ status: 'failed', recorded: true });
    const again = await h.engine.executions.fail(id, failure('a second record'), new Date().toISOString());
    expect(again).toEqual({ status: 'failed', recorded: false });
    const state = await h.engine.redis.hgetall(h.engine.keys.execution(id).state);
    expect(JSON.parse(state.error!).message).toBe('the first record');
    expect(state.failedJobs).toBe('1');
  });

  it('holds a job the dead-letter queue cannot take, and parks it when it comes back without running it again', async () => {
    const real = h.engine.deadLetter;
    const { deadLetter, refusals } = refusing(real, 3);
    let runs = 0;
    const processor = guard(
      'park-held',
      async () => {
        runs += 1;
        throw new NonRetryableError('the provider refused it');
      },
      deadLetter,
      h.engine.logger,
      async () => undefined,
    );
    const { queue, close } = scratchQueue('park-held', processor);
    try {
      const job = await queue.add('refused', { orgId: 'org-held' }, { jobId: 'held-1', attempts: 3 });
      // Every try to park it failed: it waits, delayed, its attempts untouched.
      await eventually(async () => ((await job.getState()) === 'delayed' ? true : undefined));
      expect(refusals()).toBe(0);
      const held = (await Job.fromId(queue, 'held-1'))!;
      expect(held.attemptsMade).toBe(0);
      await held.promote();

      await eventually(async () => ((await held.getState()) === 'failed' ? true : undefined));
      expect(runs).toBe(1);
      expect(await real.list('org-held')).toMatchObject([
        {
          queue: 'park-held',
          jobId: 'held-1',
          data: { orgId: 'org-held' },
          error: { message: 'the provider refused it', retryable: false },
          attempts: 1,
        },
      ]);
    } finally {
      await close();
      await real.discard({ id: 'park-held.held-1', orgId: 'org-held' } as never);
    }
  });

  it("logs why a failed execution's end could not be recorded, and records it as the job is parked", async () => {
    // Arrange: a step that failed for good, recorded, whose end's bookkeeping failed
    const { logger, lines } = capturedLogs();
    const abandoned: string[] = [];
    const stepError = {
      name: 'Error',
      code: 'http_error',
      message: 'the webhook answered 400',
      retryable: false,
    };
    const processor = guard(
      'park-unended',
      async () => {
        throw new StepFailure(new NonRetryableError(stepError.message), true, stepError, {
          error: new Error('the finished index is out of reach'),
        });
      },
      h.engine.deadLetter,
      logger,
      async (_queue, job) => void abandoned.push(String(job.id)),
    );
    const { queue, close } = scratchQueue('park-unended', processor);
    const entries = () => h.engine.deadLetter.list('org-unended');
    try {
      // Act
      await queue.add('failing', { orgId: 'org-unended' }, { jobId: 'unended-1', attempts: 3 });
      const [entry] = await eventually(async () => {
        const all = await entries();
        return all.length === 1 ? all : undefined;
      });

      // Assert: parked at its first attempt
      expect(entry).toMatchObject({ jobId: 'unended-1', error: { code: 'http_error' }, attempts: 1 });
      // The runner recorded the step's failure but not the end: the worker records it through `abandon`.
      expect(abandoned).toEqual(['unended-1']);
      const logged = lines.map((line) => JSON.parse(line) as { msg: string; err?: { message: string } });
      expect(logged.find((line) => line.msg.startsWith('could not record the end'))?.err?.message).toBe(
        'the finished index is out of reach',
      );
    } finally {
      await close();
      for (const entry of await entries()) await h.engine.deadLetter.discard(entry);
    }
  });

  it('parks a job BullMQ failed for good without the guard parking it, and leaves a retried failure alone', async () => {
    const abandoned: string[] = [];
    // No guard: the processor's errors reach BullMQ as they are, as a stall or a failed hold does.
    const { queue, worker, close } = scratchQueue('park-net', async (job) => {
      throw new Error(job.name === 'stalls' ? STALLED_TOO_OFTEN : 'failed outside the guard');
    });
    worker.on(
      'failed',
      parkUnparked('park-net', {
        deadLetter: h.engine.deadLetter,
        logger: h.engine.logger,
        abandon: async (_queue, job) => void abandoned.push(String(job.id)),
      }),
    );
    const entries = () => h.engine.deadLetter.list('org-net');
    try {
      await queue.add(
        'retried',
        { orgId: 'org-net' },
        { jobId: 'net-retried', attempts: 2, backoff: 60_000 },
      );
      await queue.add('stalls', { orgId: 'org-net' }, { jobId: 'net-stalled', attempts: 1 });
      await queue.add('plain', { orgId: 'org-net' }, { jobId: 'net-plain', attempts: 1 });

      const parked = await eventually(async () => {
        const all = await entries();
        return all.length === 2 ? all : undefined;
      });
      expect(parked.map((e) => [e.jobId, e.error.code, e.error.retryable, e.attempts]).sort()).toEqual([
        ['net-plain', 'internal_error', false, 1],
        ['net-stalled', 'stalled', false, 1],
      ]);
      await eventually(async () => (abandoned.length === 2 ? true : undefined));
      expect(abandoned.sort()).toEqual(['net-plain', 'net-stalled']);
      // The job that will be retried is not parked.
      expect(await (await Job.fromId(queue, 'net-retried'))!.getState()).toBe('delayed');
    } finally {
      await close();
      for (const entry of await entries()) await h.engine.deadLetter.discard(entry);
    }
  });

  it('counts a parked job once however often its failure is recorded, so one retry revives the execution', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 404 });
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/recorded-twice`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-twice' } }, apiKey);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);
    const [entry] = await deadLettered(apiKey);

    // The worker records the same job's failure again (its abandon after an error that followed the runner's record).
    const again = { steps: [], effects: {}, final: true, error: failed.error, jobId: entry.jobId };
    await h.engine.executions.fail(failed.id, again, new Date().toISOString());

    server.reply({ status: 200 });
    expect((await h.call('POST', `/v1/dead-letter/${entry.id}/retry`, undefined, apiKey)).status).toBe(202);
    await settledExecution(h, apiKey, workflowId, ['completed']);
  });

  it('parks a step that failed for good at once even when its end cannot be recorded, not retrying the step', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const finished = h.engine.keys.finished(orgId);
    // While the call is out, the finished index becomes unwritable: the failure is recorded, its end's bookkeeping fails.
    server.reply({ status: 404, before: () => h.engine.redis.set(finished, 'not a sorted set') });
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/end-unrecorded`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-end' } }, apiKey);

    const [entry] = await deadLettered(apiKey);
    // Final at its first attempt: parked with the step's own error, not retried for the bookkeeping's.
    expect(entry).toMatchObject({ attempts: 1, error: { code: 'http_404', retryable: false } });
    expect(server.requests.filter((r) => r.url === '/end-unrecorded')).toHaveLength(1);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);
    expect(failed.error).toMatchObject({ code: 'http_404' });
    // Why its end could not be recorded is logged, with the job it was for.
    const logged = logs.lines.map((line) => JSON.parse(line) as { msg: string; jobId?: string; err?: any });
    expect(
      logged.find((line) => line.msg.startsWith('could not record the end') && line.jobId === entry.jobId)
        ?.err?.message,
    ).toMatch(/WRONGTYPE/);
    // Recording it as the job was parked failed too: noted, and the cleanup job records it once it can.
    const unrecorded = () => h.engine.redis.hexists(h.engine.keys.unrecorded, entry.id);
    await eventually(async () => ((await unrecorded()) === 1 ? true : undefined));
    await h.engine.recordParkedFailures();
    expect(await unrecorded()).toBe(1);
    await h.engine.redis.del(finished);
    // (The engine's own cleanup job may be recording it at the same moment: the note is gone once either has.)
    await eventually(async () => {
      await h.engine.recordParkedFailures();
      return (await unrecorded()) === 0 ? true : undefined;
    });
    expect(await h.engine.redis.zscore(finished, `${workflowId} ${failed.id}`)).not.toBeNull();
    expect(await h.engine.redis.hget(h.engine.keys.stats(orgId), `${workflowId}:failed`)).toBe('1');
    expect(await h.engine.redis.get(h.engine.keys.active(orgId, workflowId, 'lead-end'))).toBeNull();
  });

  it('never retries an entry while its noted failure is being recorded, nor records it while it is retried', async () => {
    const { apiKey, workflowId, entry } = await notedEntry('locked');
    // Whoever holds the entry's recording lock (a cleanup job recording, a retry) keeps the other out.
    const held = (await takeLock(h.engine.redis, `${h.engine.keys.unrecorded}:lock:${entry.id}`, 10_000))!;
    const refused = await h.call('POST', `/v1/dead-letter/${entry.id}/retry`, undefined, apiKey);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    await h.engine.recordParkedFailures();
    expect(await h.engine.redis.hexists(h.engine.keys.unrecorded, entry.id)).toBe(1);
    await held.release();

    server.reply({ status: 200 });
    expect((await h.call('POST', `/v1/dead-letter/${entry.id}/retry`, undefined, apiKey)).status).toBe(202);
    expect(await h.engine.redis.hexists(h.engine.keys.unrecorded, entry.id)).toBe(0);
    expect((await settledExecution(h, apiKey, workflowId, ['completed'])).status).toBe('completed');
  });

  it('forgets a failure noted unrecorded once its entry is retried, and does not fail the execution later', async () => {
    const { apiKey, workflowId, entry } = await notedEntry('noted');

    // The cleanup job records noted failures while the retried step is running: this one's note is gone.
    server.reply({ status: 200, before: () => h.engine.recordParkedFailures() });
    expect((await h.call('POST', `/v1/dead-letter/${entry.id}/retry`, undefined, apiKey)).status).toBe(202);
    expect(await h.engine.redis.hexists(h.engine.keys.unrecorded, entry.id)).toBe(0);
    const completed = await settledExecution(h, apiKey, workflowId, ['completed', 'failed']);
    expect(completed.status).toBe('completed');
    expect(server.requests.filter((request) => request.url === '/noted')).toHaveLength(2);
  });

  it('revives an execution only once each of its parked jobs was retried, however often one is retried', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 404 });
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/two-parked`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-two' } }, apiKey);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);
    const [entry] = await deadLettered(apiKey);
    // A second job of the execution is parked too (as a parallel arm's would be).
    const now = () => new Date().toISOString();
    const other = { steps: [], effects: {}, final: true, error: failed.error, jobId: `${failed.id}.other.0` };
    await h.engine.executions.fail(failed.id, other, now());

    // Two retries of the first job race: neither revives the execution while the other job is parked.
    expect(await h.engine.executions.revive(failed.id, now(), entry.jobId)).toBe('failed');
    expect(await h.engine.executions.revive(failed.id, now(), entry.jobId)).toBe('failed');
    expect(await h.engine.executions.revive(failed.id, now(), other.jobId)).toBe('running');
  });

  it('parks what the failed listener still holds when its worker set closes, without waiting out the pauses', async () => {
    const real = h.engine.deadLetter;
    // The listener's first six tries are refused: over a minute of pauses, were they waited out.
    const { deadLetter, refusals } = refusing(real, 6);
    const stopping = new AbortController();
    const held: Promise<unknown>[] = [];
    const { queue, worker, close } = scratchQueue('park-late', async () => {
      throw new Error('failed outside the guard');
    });
    worker.on(
      'failed',
      parkUnparked(
        'park-late',
        { deadLetter, logger: h.engine.logger, abandon: async () => undefined },
        { signal: stopping.signal, track: (work) => void held.push(work) },
      ),
    );
    try {
      await queue.add('late', { orgId: 'org-late' }, { jobId: 'late-1', attempts: 1 });
      await eventually(async () => (held.length === 1 && refusals() < 6 ? true : undefined));

      // Closing: what is left is tried at once, and the close waits for it.
      stopping.abort();
      await Promise.allSettled(held);

      expect(refusals()).toBe(0);
      expect(await real.list('org-late')).toMatchObject([{ jobId: 'late-1', queue: 'park-late' }]);
    } finally {
      await close();
      for (const entry of await real.list('org-late')) await real.discard(entry);
    }
  });

  it('announces a parked job once however often it is parked, and again once parked after a retry', async () => {
    const announced: string[] = [];
    const { redis, keys, queues } = h.engine;
    const deadLetter = createDeadLetter({
      redis,
      keys,
      queues,
      publish: (_type, detail) => void announced.push(String(detail.deadLetterId)),
    });
    const error = { name: 'Error', code: 'http_500', message: 'down', retryable: true };
    const ofOrg = { id: 'announce-1', name: 'x', data: { orgId: 'org-announce' }, attemptsMade: 2 };
    const ofNone = { id: 'announce-2', name: 'x', data: {}, attemptsMade: 2 };

    for (const job of [ofOrg, ofOrg, ofNone, ofNone]) await deadLetter.park('analytics', job, error);
    expect(announced).toEqual(['analytics.announce-1', 'analytics.announce-2']);

    // Discarded (as a retry does), the next park of the same job is announced again.
    for (const id of announced.splice(0)) await deadLetter.discard((await deadLetter.get(id))!);
    await deadLetter.park('analytics', ofOrg, error);
    await deadLetter.park('analytics', ofNone, error);
    expect(announced).toEqual(['analytics.announce-1', 'analytics.announce-2']);
    for (const id of announced) await deadLetter.discard((await deadLetter.get(id))!);
  });

  it('discards a dead-letter entry on request', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 404 });
    await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/gone`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-3' } }, apiKey);
    const [entry] = await deadLettered(apiKey);

    expect(entry.attempts).toBe(1);
    expect(entry.error).toMatchObject({ code: 'http_404', retryable: false });
    const discarded = await h.call('DELETE', `/v1/dead-letter/${entry.id}`, undefined, apiKey);
    expect(discarded.status).toBe(200);
    expect((await h.call('GET', `/v1/dead-letter/${entry.id}`, undefined, apiKey)).status).toBe(404);
  });

  it('sweeps a job that failed for good without an entry into the dead-letter queue once, never a discarded one', async () => {
    const abandoned: string[] = [];
    const cursorKey = `${h.prefix}:sweep-test`;
    // No guard and no failed listener: the job fails for good as it does when its process dies before parking it.
    // The engine's own `analytics` queue, which it runs no worker on, so that a discard finds the failed original.
    const { queue, close } = scratchQueue('analytics', async () => {
      throw new Error('the process died');
    });
    const sweep = (graceMs: number) =>
      sweepUnparked([queue], sweepDeps(cursorKey, h.engine.deadLetter, abandoned), graceMs);
    const entries = () => h.engine.deadLetter.list('org-swept');
    try {
      // The first sweep only marks where the next ones start: a job failed before it is never read.
      await queue.add('before', { orgId: 'org-swept' }, { jobId: 'swept-0', attempts: 1 });
      await eventually(async () => ((await queue.getFailedCount()) === 1 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await sweep(0)).toBe(0);
      await queue.add('a', { orgId: 'org-swept' }, { jobId: 'swept-1', attempts: 1 });
      await queue.add('b', { orgId: 'org-swept' }, { jobId: 'swept-2', attempts: 1 });
      await eventually(async () => ((await queue.getFailedCount()) === 3 ? true : undefined));

      // Failed less than the grace period ago: left to the failed listener.
      expect(await sweep(60_000)).toBe(0);
      expect(await entries()).toEqual([]);
      expect(await sweep(0)).toBe(2);
      // Read to the end: the next sweep goes on from when this one ran, past every failure it read.
      const failedAt = await h.engine.redis.zrange(queue.toKey('failed'), '-1', '-1', 'WITHSCORES');
      expect(Number(await h.engine.redis.hget(cursorKey, 'analytics'))).toBeGreaterThan(Number(failedAt[1]));
      const parked = await entries();
      expect(parked.map((e) => [e.jobId, e.error.message, e.error.retryable, e.attempts]).sort()).toEqual([
        ['swept-1', 'the process died', false, 1],
        ['swept-2', 'the process died', false, 1],
      ]);
      expect(abandoned.sort()).toEqual(['swept-1', 'swept-2']);
      expect(await sweep(0)).toBe(0);

      // A failure that reaches Redis after a sweep read past its time is parked, and recorded, by the next one.
      await queue.add('late', { orgId: 'org-swept' }, { jobId: 'swept-late', attempts: 1 });
      await eventually(async () => ((await queue.getFailedCount()) === 4 ? true : undefined));
      const cursor = Number(await h.engine.redis.hget(cursorKey, 'analytics'));
      await h.engine.redis.zadd(queue.toKey('failed'), 'XX', cursor - 1, 'swept-late');
      expect(await sweep(0)).toBe(1);
      expect(abandoned).toContain('swept-late');

      // A discarded entry takes its failed original with it, so a sweep over the same failures brings back nothing.
      await h.engine.deadLetter.discard(parked.find((e) => e.jobId === 'swept-1')!);
      expect(await Job.fromId(queue, 'swept-1')).toBeUndefined();
      await h.engine.redis.hset(cursorKey, 'analytics', '0');
      expect(await sweep(0)).toBe(0);
      expect((await entries()).map((e) => e.jobId).sort()).toEqual(['swept-2', 'swept-late']);
      expect(abandoned).toHaveLength(3);
    } finally {
      await close();
      await (await Job.fromId(queue, 'swept-0'))?.remove();
      for (const entry of await entries()) await h.engine.deadLetter.discard(entry);
    }
  });

  it('sweeps failed jobs page by page, one sweep at a time, past a damaged job, and tries one it could not park again', async () => {
    const abandoned: string[] = [];
    const cursorKey = `${h.prefix}:sweep-pages`;
    const { queue, close } = scratchQueue('analytics', async () => {
      throw new Error('the process died');
    });
    const { deadLetter, refusals } = refusing(h.engine.deadLetter, 1);
    const sweep = (with_: DeadLetter) => sweepUnparked([queue], sweepDeps(cursorKey, with_, abandoned), 0);
    const count = 450; // over two pages, many failed in the same millisecond
    const index = h.engine.keys.deadLetters('org-pages');
    try {
      await sweep(h.engine.deadLetter);
      await queue.addBulk(
        Array.from({ length: count }, (_, i) => ({
          name: 'page',
          data: { orgId: 'org-pages' },
          opts: { jobId: `paged-${i}`, attempts: 1 },
        })),
      );
      await eventually(async () => ((await queue.getFailedCount()) === count ? true : undefined), 20_000);
      // A failed job whose hash cannot be read (its data is not JSON), among the others.
      const [damagedAt] = await h.engine.redis
        .zrange(queue.toKey('failed'), '200', '200', 'WITHSCORES')
        .then((r) => [r[1]]);
      await h.engine.redis.hset(
        queue.toKey('damaged'),
        'name',
        'page',
        'data',
        '{not json',
        'timestamp',
        '1',
      );
      await h.engine.redis.zadd(queue.toKey('failed'), damagedAt!, 'damaged');

      // Parking one job failed, and one job cannot be read: the sweep logs them and parks the rest, each failure
      // recorded first.
      expect(await sweep(deadLetter)).toBe(count - 1);
      expect(refusals()).toBe(0);
      expect(await h.engine.redis.zcard(index)).toBe(count - 1);
      expect(new Set(abandoned).size).toBe(count);
      // Two sweeps at once: one runs and parks the job refused before, the other finds it running.
      expect((await Promise.all([sweep(h.engine.deadLetter), sweep(h.engine.deadLetter)])).sort()).toEqual([
        0, 1,
      ]);
      // Read again, the refused job was parked without recording its failure a second time.
      expect(abandoned).toHaveLength(count);
      expect(await h.engine.redis.zcard(index)).toBe(count);
      expect(await sweep(h.engine.deadLetter)).toBe(0);
    } finally {
      await close();
      await h.engine.redis.zrem(queue.toKey('failed'), 'damaged');
      const ids = await h.engine.redis.zrange(index, '0', '-1');
      for (const id of ids) await h.engine.deadLetter.discard((await h.engine.deadLetter.get(id))!);
    }
  });

  it('records a swept job again when it fails again after a retry, and parks none whose failure it could not record', async () => {
    const recorded: string[] = [];
    let refuseRecord = true;
    const cursorKey = `${h.prefix}:sweep-again`;
    const { queue, close } = scratchQueue('analytics', async () => {
      throw new Error('the process died');
    });
    const deps = {
      ...sweepDeps(cursorKey, h.engine.deadLetter, recorded),
      abandon: async (_queue: string, job: { id?: string | undefined }) => {
        if (refuseRecord) throw new Error('the execution cannot be written');
        recorded.push(String(job.id));
      },
    };
    const sweep = () => sweepUnparked([queue], deps, 0);
    const entries = () => h.engine.deadLetter.list('org-again');
    try {
      await sweep();
      await queue.add('again', { orgId: 'org-again' }, { jobId: 'again-1', attempts: 1 });
      await eventually(async () => ((await queue.getFailedCount()) === 1 ? true : undefined));
      // Its failure could not be recorded: not parked, and tried again, recorded, by the next sweep.
      expect(await sweep()).toBe(0);
      expect(await entries()).toEqual([]);
      refuseRecord = false;
      expect(await sweep()).toBe(1);
      expect(recorded).toEqual(['again-1']);
      // Retried, it fails again: a new failure, recorded again.
      await h.engine.deadLetter.retry((await entries())[0]!);
      await eventually(async () => ((await queue.getFailedCount()) === 1 ? true : undefined));
      expect(await sweep()).toBe(1);
      expect(recorded).toEqual(['again-1', 'again-1']);
      // A failure that still cannot be recorded when it is about to leave the sweeps' overlap is parked all the same.
      refuseRecord = true;
      await queue.add('again', { orgId: 'org-again' }, { jobId: 'again-2', attempts: 1 });
      await eventually(async () => ((await queue.getFailedCount()) === 2 ? true : undefined));
      await h.engine.redis.hset(cursorKey, 'analytics:floor', '0');
      await h.engine.redis.zadd(queue.toKey('failed'), 'XX', Date.now() - 6 * 60_000, 'again-2');
      expect(await sweep()).toBe(1);
      expect((await entries()).map((e) => e.jobId).sort()).toEqual(['again-1', 'again-2']);
      expect(recorded).toEqual(['again-1', 'again-1']);
    } finally {
      await close();
      for (const entry of await entries()) await h.engine.deadLetter.discard(entry);
    }
  });

  it('runs again, retried, an entry whose job completed after it was parked (its process died first)', async () => {
    let runs = 0;
    const { queue, close } = scratchQueue('analytics', async () => {
      runs += 1;
    });
    try {
      const job = await queue.add('ran-again', { orgId: 'org-completed' }, { jobId: 'completed-1' });
      await eventually(async () => ((await job.getState()) === 'completed' ? true : undefined));
      await h.engine.deadLetter.park('analytics', job, {
        name: 'Error',
        code: 'refused',
        message: 'refused',
        retryable: false,
      });
      const [entry] = await h.engine.deadLetter.list('org-completed');
      await h.engine.deadLetter.retry(entry!);
      await eventually(async () => (runs === 2 ? true : undefined));
      expect(await h.engine.deadLetter.list('org-completed')).toEqual([]);
      // A second retry of the same entry (a stale view) leaves the job the first one put back, which completed.
      const { processedOn } = (await Job.fromId(queue, 'completed-1'))!;
      await h.engine.deadLetter.retry(entry!);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const kept = (await Job.fromId(queue, 'completed-1'))!;
      expect([runs, await kept.getState(), kept.processedOn]).toEqual([2, 'completed', processedOn]);
    } finally {
      await close();
    }
  });

  it('refuses to retry or discard an entry while its job is still finishing', async () => {
    let finish = () => {};
    const finishing = new Promise<void>((resolve) => (finish = resolve));
    // Parks itself as the guard does, then fails only when told to: the guard's window between the two.
    const { queue, close } = scratchQueue('analytics', async (job) => {
      await h.engine.deadLetter.park('analytics', job, {
        name: 'Error',
        code: 'refused',
        message: 'refused',
        retryable: false,
      });
      await finishing;
      throw new Error('refused');
    });
    try {
      await queue.add('finishing', { orgId: 'org-finishing' }, { jobId: 'finishing-1', attempts: 1 });
      const [entry] = await eventually(async () => {
        const all = await h.engine.deadLetter.list('org-finishing');
        return all.length > 0 ? all : undefined;
      });
      await expect(h.engine.deadLetter.discard(entry!)).rejects.toMatchObject({ status: 409 });
      await expect(h.engine.deadLetter.retry(entry!)).rejects.toMatchObject({ status: 409 });
      // Its process died before failing it, and it waits to run again: refused as well.
      const waiting = await queue.add(
        'later',
        { orgId: 'org-finishing' },
        { jobId: 'finishing-2', delay: 60_000 },
      );
      await h.engine.deadLetter.park('analytics', waiting, {
        name: 'Error',
        code: 'refused',
        message: 'refused',
        retryable: false,
      });
      const later = (await h.engine.deadLetter.get('analytics.finishing-2'))!;
      await expect(h.engine.deadLetter.discard(later)).rejects.toMatchObject({ status: 409 });
      await waiting.remove();
      await h.engine.deadLetter.discard(later);
      // A job that fails within a moment of the request is waited for.
      setTimeout(finish, 200);
      await h.engine.deadLetter.discard(entry!);
      expect(await Job.fromId(queue, 'finishing-1')).toBeUndefined();
      expect(await h.engine.deadLetter.list('org-finishing')).toEqual([]);
    } finally {
      finish();
      await close();
    }
  });

  /** Queueing node jobs, while the action queues are unavailable. */
  const unavailable = async () => {
    throw new Error('the action queue is unavailable');
  };

  /** What the workers hand `abandon` for a trigger job of `event` that failed for good. */
  const failedTriggerJob = (event: { id: string; orgId: string; occurredAt: string; receivedAt: string }) =>
    [
      'triggers',
      { id: `evt-${event.id}`, name: 'new_lead', data: event, attemptsMade: 3, opts: {} },
      { name: 'Error', code: 'internal', message: 'the action queue is unavailable', retryable: true },
    ] as const;

  it('hands the executions a trigger job that failed for good started over to their first jobs, never one refused its lead', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, tagging('started'));
    const { redis, keys, executions, leads } = h.engine;
    // Every attempt of the trigger job fails as it queues the first job, after enrolling and keeping the execution.
    const handleEvent = testStarter(h, { enqueue: unavailable });
    const now = new Date().toISOString();
    const event = eventsFor(orgId, 'stranded', now)('fails-for-good');
    await expect(handleEvent(event)).rejects.toThrow('unavailable');
    await expect(handleEvent(event, { retried: true })).rejects.toThrow('unavailable');
    const executionId = executionIdFor(orgId, event.id, workflowId);
    const lock = () => redis.get(keys.active(orgId, workflowId, 'stranded'));
    expect(await executions.load(executionId)).toMatchObject({ status: 'running', pending: 1 });
    expect(await lock()).toBe(executionId);

    // Two more workflows whose executions of the same event were created provisional and never kept (their starts
    // stopped before the enrolment's answer): one whose lead is free, one whose lead another execution holds.
    const orgIndex = createOrgIndex(redis, keys);
    const created = (workflowId: string, executionId: string, provisional: boolean) =>
      executions.create(
        afterTrigger(
          {
            id: executionId,
            orgId,
            workflowId,
            leadId: 'stranded',
            event: { id: event.id, type: event.type, occurredAt: now, data: {} },
            ...(provisional ? { provisionalSeconds: 3600 } : {}),
          },
          ['tag'],
          now,
        ),
      );
    const enrolled = await publishWorkflow(h, apiKey, tagging('enrolled'));
    await created(enrolled, executionIdFor(orgId, event.id, enrolled), true);
    const held = await publishWorkflow(h, apiKey, tagging('held'));
    const refusedId = executionIdFor(orgId, event.id, held);
    await created(held, refusedId, true);
    await created(held, 'x_holder', false);
    await orgIndex.started(orgId, held, 'stranded', 'x_holder', Date.now(), 'once_active');

    // Handed over twice at once (the guard, and the listener or the sweep), each runs once.
    await Promise.all([
      h.engine.abandon(...failedTriggerJob(event)),
      h.engine.abandon(...failedTriggerJob(event)),
    ]);
    const completed = await settledExecution(h, apiKey, workflowId, ['completed']);
    expect(completed.steps.map((step: { nodeId: string }) => step.nodeId)).toEqual(['start', 'tag']);
    expect(await redis.hget(keys.stats(orgId), `${workflowId}:completed`)).toBe('1');
    // The provisional one whose lead was free is enrolled and kept, as the start's next attempt would have, and runs.
    const kept = await settledExecution(h, apiKey, enrolled, ['completed']);
    expect(kept.steps.map((step: { nodeId: string }) => step.nodeId)).toEqual(['start', 'tag']);
    expect((await leads.get(orgId, 'stranded'))?.tags.sort()).toEqual(['enrolled', 'started']);
    await eventually(async () => ((await lock()) === null ? true : undefined));
    await eventually(async () =>
      (await redis.get(keys.active(orgId, enrolled, 'stranded'))) === null ? true : undefined,
    );
    expect(await redis.hgetall(keys.leadExecutions(orgId, 'stranded'))).toEqual({});
    // The one refused is left to expire, its lead still held by the other.
    const refusedJob = nodeJobId({ executionId: refusedId, nodeId: 'tag', iteration: 0, arms: [] });
    expect(await h.engine.queues.actionsFor(orgId).getJob(refusedJob)).toBeUndefined();
    expect(await executions.load(refusedId)).toMatchObject({ status: 'running', provisional: true });
    expect(await redis.get(keys.active(orgId, held, 'stranded'))).toBe('x_holder');
  });

  it("hands a trigger job's executions over later when the hand-over fails as it is parked, and only once", async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, tagging('arrived'));
    const { redis, keys, executions } = h.engine;
    const handleEvent = testStarter(h, { enqueue: unavailable });
    const event = eventsFor(orgId, 'later')('handed-over-later');
    // Every attempt strands the execution; the hand-over as the job is parked fails too.
    let handOvers = 0;
    const processor = guard(
      'triggers',
      () => handleEvent(event),
      h.engine.deadLetter,
      h.engine.logger,
      async () => {
        handOvers += 1;
        throw new Error('the action queue is still unavailable');
      },
    );
    const { queue, close } = scratchQueue('triggers-stranded', processor);
    try {
      await queue.add('new_lead', event, {
        jobId: 'stranded-1',
        attempts: 2,
        backoff: { type: 'fixed', delay: 10 },
      });
      const entryId = 'triggers.stranded-1';
      await eventually(async () => ((await redis.hexists(keys.unrecorded, entryId)) ? true : undefined));
      expect(handOvers).toBe(1);
      const executionId = executionIdFor(orgId, event.id, workflowId);
      expect(await executions.load(executionId)).toMatchObject({ status: 'running' });

      // The cleanup job hands it over with the engine's own `abandon` (this test's call, or the engine's own cleanup
      // job at the same moment), once; its entry stays for the operator.
      await eventually(async () => {
        await h.engine.recordParkedFailures();
        return (await redis.hexists(keys.unrecorded, entryId)) === 0 ? true : undefined;
      });
      await h.engine.recordParkedFailures();
      const completed = await settledExecution(h, apiKey, workflowId, ['completed']);
      expect(completed.steps.map((step: { nodeId: string }) => step.nodeId)).toEqual(['start', 'tag']);
      expect(await h.engine.deadLetter.get(entryId)).toMatchObject({
        queue: 'triggers',
        jobId: 'stranded-1',
      });
    } finally {
      await close();
      await h.engine.deadLetter.discard({ id: 'triggers.stranded-1', orgId } as never);
      await redis.hdel(keys.unrecorded, 'triggers.stranded-1');
    }
  });

  it('hands over an execution whose inline run reached a wait but whose timer was never queued', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Pause, then tag',
      nodes: [
        trigger(),
        { id: 'pause', type: 'wait', params: { duration: 'PT0.2S' } },
        { id: 'tag', type: 'add_tag', params: { tag: 'later' } },
      ],
      edges: chain('start', 'pause', 'tag'),
    });
    const { redis, keys, executions, leads } = h.engine;
    // The first attempt runs the wait inline and cannot queue its timer; the next cannot queue the first job.
    const handleEvent = testStarter(h, { enqueue: unavailable, inline: true });
    const event = eventsFor(orgId, 'paused')('timer-lost');
    await expect(handleEvent(event)).rejects.toThrow('unavailable');
    await expect(handleEvent(event, { retried: true })).rejects.toThrow('unavailable');
    const executionId = executionIdFor(orgId, event.id, workflowId);
    expect(await executions.load(executionId)).toMatchObject({ status: 'waiting' });

    await h.engine.abandon(...failedTriggerJob(event));
    const completed = await settledExecution(h, apiKey, workflowId, ['completed']);
    expect(completed.steps.filter((step: { nodeId: string }) => step.nodeId === 'tag')).toHaveLength(1);
    expect((await leads.get(orgId, 'paused'))?.tags).toEqual(['later']);
    expect(await redis.get(keys.active(orgId, workflowId, 'paused'))).toBeNull();
  });

  it('runs no node twice when it hands over an execution whose first node ran inline and whose next job is running', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Tag, then notify the CRM',
      nodes: [
        trigger(),
        { id: 'tag', type: 'add_tag', params: { tag: 'notified' } },
        { id: 'notify', type: 'webhook_call', params: { url: `${server.url}/crm` } },
      ],
      edges: chain('start', 'tag', 'notify'),
    });
    const event = { id: 'handed-over-while-running', type: 'new_lead', lead: { id: 'busy' } };
    const now = new Date().toISOString();
    // While the webhook job is running, the event's trigger job is taken as failed for good and handed over.
    let handedOver: Promise<void> | undefined;
    server.reply({
      status: 200,
      before: () =>
        (handedOver = h.engine.abandon(
          ...failedTriggerJob({ ...event, orgId, occurredAt: now, receivedAt: now }),
        )),
    });
    await h.call('POST', '/v1/events', event, apiKey);
    const completed = await settledExecution(h, apiKey, workflowId, ['completed']);
    await handedOver;
    const executionId = executionIdFor(orgId, event.id, workflowId);
    // The first node ran inline: its job, queued by the hand-over, finds its steps committed and adds nothing new.
    const first = nodeJobId({ executionId, nodeId: 'tag', iteration: 0, arms: [] });
    await eventually(async () =>
      (await (await h.engine.queues.actionsFor(orgId).getJob(first))?.getState()) === 'completed'
        ? true
        : undefined,
    );
    expect(completed.id).toBe(executionId);
    expect((await h.engine.executions.steps(executionId)).map((step) => step.nodeId)).toEqual([
      'start',
      'tag',
      'notify',
    ]);
    expect(server.requests.filter((request) => request.url === '/crm')).toHaveLength(1);
    expect(await h.engine.leads.get(orgId, 'busy')).toMatchObject({ tags: ['notified'] });
  });
});

describe('the cleanup job', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ workers: false, env: { CLEANUP_INTERVAL_MS: '200' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('dead-letters a trigger job whose worker died before parking it, and a retry from there starts its workflow', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Tag new leads',
      nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'new' } }],
      edges: chain('start', 'tag'),
    });
    const workerSet = await h.engine.startWorkers();
    const triggers = workerSet.workers.find((worker) => worker.name === 'triggers')!;
    await triggers.pause();
    await eventually(async () =>
      (await h.engine.redis.hexists(h.engine.keys.failedSweep, 'triggers')) ? true : undefined,
    );
    // Another worker takes the event and fails it for good without parking it, as a process that died would.
    const dying = new Worker(
      'triggers',
      async () => {
        throw new Error('the process died');
      },
      { connection: h.engine.redis, prefix: queuePrefix(h.engine.config, 'triggers') },
    );
    try {
      await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-swept' } }, apiKey);
      const failedSet = h.engine.queues.triggers.toKey('failed');
      const [jobId] = await eventually(async () => {
        const ids = await h.engine.redis.zrange(failedSet, '0', '-1');
        return ids.length > 0 ? ids : undefined;
      });
      expect(await h.call('GET', '/v1/dead-letter', undefined, apiKey)).toMatchObject({
        body: { entries: [] },
      });
      // As if it failed over 5 minutes ago (FAILED_SWEEP_GRACE_MS), just after the first sweep's horizon: the sweep
      // parks it.
      const floor = Number(await h.engine.redis.hget(h.engine.keys.failedSweep, 'triggers:floor'));
      await h.engine.redis.zadd(failedSet, 'XX', floor + 1, jobId!);
      const [entry] = await eventually(async () => {
        const r = await h.call('GET', '/v1/dead-letter', undefined, apiKey);
        return r.body.entries.length > 0 ? r.body.entries : undefined;
      });
      expect(entry).toMatchObject({
        queue: 'triggers',
        attempts: 3,
        error: { message: 'the process died', retryable: false },
        data: { type: 'new_lead', lead: { id: 'lead-swept' } },
      });
    } finally {
      await dying.close();
    }
    triggers.resume();
    const [entry] = (await h.call('GET', '/v1/dead-letter', undefined, apiKey)).body.entries;
    expect((await h.call('POST', `/v1/dead-letter/${entry.id}/retry`, undefined, apiKey)).status).toBe(202);
    const execution = await settledExecution(h, apiKey, workflowId, ['completed']);
    expect(execution.steps.map((step: { nodeId: string }) => step.nodeId)).toEqual(['start', 'tag']);
  });
});

describe('webhook_call address policy', () => {
  let h: Harness;
  let server: FakeServer;

  beforeAll(async () => {
    server = await startFakeServer();
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  it('refuses a loopback address without an allowlist, at once and without calling it', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`${server.url}/internal`));

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-4' } }, apiKey);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);

    const notify = failed.steps.filter((s: any) => s.nodeId === 'notify');
    expect(notify).toHaveLength(1);
    expect(notify[0].error).toMatchObject({ code: 'address_refused', retryable: false });
    expect(notify[0].error.message).toContain('loopback');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a host name that resolves to a loopback address', async () => {
    const { apiKey } = await h.createOrg();
    const port = new URL(server.url).port;
    const workflowId = await publishWorkflow(h, apiKey, webhookFlow(`http://localhost:${port}/internal`));

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-5' } }, apiKey);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);

    expect(failed.error).toMatchObject({ code: 'address_refused' });
    expect(server.requests).toHaveLength(0);
  });
});
