import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrolment } from '../../src/engine/enrolment.js';
import { createStarter, executionIdFor } from '../../src/engine/start.js';
import { RetryableError } from '../../src/shared/errors.js';
import { triggerJobId } from '../../src/events/ingest.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { afterTrigger, eventsFor, testStarter } from '../support/starters.js';
import {
  chain,
  executionsOf,
  publishWorkflow,
  settledExecution,
  tagging,
  trigger,
  refusedStarts,
} from '../support/workflows.js';

const waitingFlow = (enrollment?: string) => ({
  name: 'Waits',
  ...(enrollment ? { settings: { enrollment } } : {}),
  nodes: [
    trigger(),
    { id: 'pause', type: 'wait', params: { duration: 'PT30S' } },
    { id: 'tag', type: 'add_tag', params: { tag: 'x' } },
  ],
  edges: chain('start', 'pause', 'tag'),
});

/** Without `data.hold` the run tags the lead and completes inline; with it, the execution waits (holding the lead). */
const tagOrWaitFirst = {
  name: 'Tag, or wait first',
  nodes: [
    trigger(),
    { id: 'check', type: 'branch', params: { condition: { field: 'event.data.hold', op: 'exists' } } },
    { id: 'pause', type: 'wait', params: { duration: 'PT30S' } },
    { id: 'tag', type: 'add_tag', params: { tag: 'arrived' } },
  ],
  edges: [
    { from: 'start', to: 'check' },
    { from: 'check', to: 'pause', when: 'true' },
    { from: 'check', to: 'tag', when: 'false' },
    { from: 'pause', to: 'tag' },
  ],
};

/**
 * A trigger side whose inline runs work as usual, except that with `stopBeforeFirstEnd` the first run to complete an
 * execution stops between its commit and recording the end (as a worker that dies there would).
 */
function starter(h: Harness, { stopBeforeFirstEnd = false } = {}) {
  let stopBeforeEnd = stopBeforeFirstEnd;
  return testStarter(h, {
    inline: true,
    finalize: async (state, options) => {
      if (stopBeforeEnd) {
        stopBeforeEnd = false;
        throw new RetryableError('the worker stopped before the end was recorded');
      }
      await h.engine.lifecycle.finalize(state, options);
    },
  });
}

describe('events, enrolment and cancellation', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('accepts an event id once, however often it is sent', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow('always'));
    const event = { id: 'form-42', type: 'new_lead', lead: { id: 'dup' } };

    const first = await h.call('POST', '/v1/events', event, apiKey);
    const second = await h.call('POST', '/v1/events', event, apiKey);
    const batch = await h.call(
      'POST',
      '/v1/events',
      { events: [event, { ...event, id: 'form-43' }, { ...event, id: 'form-43' }] },
      apiKey,
    );

    expect(first.body.accepted).toEqual([{ id: 'form-42' }]);
    expect(second.body.accepted).toEqual([{ id: 'form-42', duplicate: true }]);
    expect(batch.body.accepted).toEqual([
      { id: 'form-42', duplicate: true },
      { id: 'form-43' },
      { id: 'form-43', duplicate: true },
    ]);
    await eventually(async () =>
      (await executionsOf(h, apiKey, workflowId)).length === 2 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await executionsOf(h, apiKey, workflowId)).toHaveLength(2);
  });

  it('adds the job of an event claimed by a request that died before adding it, and nothing once it ran', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow('always'));
    const { redis, keys } = h.engine;
    // As a request leaves it that claimed the id and then died before adding the trigger job.
    await redis.set(keys.dedupe(orgId, 'claimed-then-lost'), 'p', 'EX', 3600);
    // As an older version marked ids it had taken.
    await redis.set(keys.dedupe(orgId, 'old-version'), '1', 'EX', 3600);
    const post = (id: string) =>
      h.call('POST', '/v1/events', { id, type: 'new_lead', lead: { id: `lead-${id}` } }, apiKey);

    const retried = await post('claimed-then-lost');
    const legacy = await post('old-version');

    expect(retried.body.accepted).toEqual([{ id: 'claimed-then-lost', duplicate: true }]);
    expect(legacy.body.accepted).toEqual([{ id: 'old-version', duplicate: true }]);
    await eventually(async () =>
      (await executionsOf(h, apiKey, workflowId)).length === 1 ? true : undefined,
    );
    expect(await redis.get(keys.dedupe(orgId, 'claimed-then-lost'))).toBe('d');
    expect(await redis.ttl(keys.dedupe(orgId, 'claimed-then-lost'))).toBeGreaterThan(3000);
    const again = await post('claimed-then-lost');
    expect(again.body.accepted).toEqual([{ id: 'claimed-then-lost', duplicate: true }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await executionsOf(h, apiKey, workflowId)).toHaveLength(1);
    expect(await h.engine.queues.triggers.getJob(triggerJobId(orgId, 'old-version'))).toBeUndefined();
  });

  it('starts at most one active execution per lead by default, and one per event with enrollment "always"', async () => {
    const { apiKey } = await h.createOrg();
    const once = await publishWorkflow(h, apiKey, waitingFlow());
    const always = await publishWorkflow(h, apiKey, waitingFlow('always'));

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'repeat' } }, apiKey);
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'repeat' } }, apiKey);

    await eventually(async () => ((await executionsOf(h, apiKey, always)).length === 2 ? true : undefined));
    expect(await executionsOf(h, apiKey, once)).toHaveLength(1);
  });

  it('enrols a lead only once ever with "once_ever", and counts every start and refusal once', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Once ever',
      settings: { enrollment: 'once_ever' },
      nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'x' } }],
      edges: chain('start', 'tag'),
    });

    await h.call('POST', '/v1/events', { id: 'ever-1', type: 'new_lead', lead: { id: 'forever' } }, apiKey);
    const first = await settledExecution(h, apiKey, workflowId);
    await h.call('POST', '/v1/events', { id: 'ever-2', type: 'new_lead', lead: { id: 'forever' } }, apiKey);
    await refusedStarts(h, orgId, workflowId);

    expect(first.status).toBe('completed');
    expect((await executionsOf(h, apiKey, workflowId)).map((x) => x.id)).toEqual([first.id]);
    expect(await h.engine.redis.hget(h.engine.keys.stats(orgId), `${workflowId}:started`)).toBe('1');
    // The refused start was created alongside its enrolment (the lead had nothing live), then taken back.
    expect(first.id).toBe(executionIdFor(orgId, 'ever-1', workflowId));
    const refused = h.engine.keys.execution(executionIdFor(orgId, 'ever-2', workflowId));
    expect(await h.engine.redis.exists(...Object.values(refused))).toBe(0);
  });

  it('keeps an enrolled start for good, and leaves nothing of a start refused while the lead runs the workflow', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow());
    const { redis, keys } = h.engine;

    await h.call('POST', '/v1/events', { id: 'first', type: 'new_lead', lead: { id: 'twice' } }, apiKey);
    const kept = await settledExecution(h, apiKey, workflowId, ['waiting']);
    await h.call('POST', '/v1/events', { id: 'second', type: 'new_lead', lead: { id: 'twice' } }, apiKey);
    await refusedStarts(h, orgId, workflowId);

    // The start is created provisional (with an expiry) while the enrolment is asked: kept, it has no expiry left.
    expect(kept.id).toBe(executionIdFor(orgId, 'first', workflowId));
    for (const key of Object.values(keys.execution(kept.id)))
      expect(await redis.ttl(key)).not.toBeGreaterThan(0);
    expect(await redis.ttl(keys.execution(kept.id).state)).toBe(-1);
    // Refused, nothing of it is left, and nothing lists it.
    const refused = executionIdFor(orgId, 'second', workflowId);
    expect(await redis.exists(...Object.values(keys.execution(refused)))).toBe(0);
    expect((await executionsOf(h, apiKey, workflowId)).map((x) => x.id)).toEqual([kept.id]);
    expect(await redis.hkeys(keys.leadExecutions(orgId, 'twice'))).toEqual([kept.id]);
  });

  it('enrols both deliveries of one start that find the same stale lock at once', async () => {
    const { orgId } = await h.createOrg();
    const { redis, keys, executions } = h.engine;
    const enrol = createEnrolment({ redis, keys, executions });
    // The lock names an execution that is gone and was listed long ago: stale. Both deliveries read it, one swaps it.
    await redis.set(keys.active(orgId, 'wf_stale', 'lead-1'), 'x_gone');
    await redis.zadd(keys.executionsOf(orgId, 'wf_stale'), 1, 'x_gone');

    const answers = await Promise.all([
      enrol(orgId, 'wf_stale', 'once_active', 'lead-1', 'x_same'),
      enrol(orgId, 'wf_stale', 'once_active', 'lead-1', 'x_same'),
    ]);

    expect(answers).toEqual([undefined, undefined]);
    expect(await redis.get(keys.active(orgId, 'wf_stale', 'lead-1'))).toBe('x_same');
    expect(await enrol(orgId, 'wf_stale', 'once_active', 'lead-1', 'x_other')).toContain('x_same');
  });

  it('creates the execution again when another delivery of the start, refused, took it back before it was kept', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow());
    const { redis, keys, executions, workflows, leads, lifecycle, waiters } = h.engine;
    let creates = 0;
    const enqueued: string[] = [];
    const handleEvent = createStarter({
      redis,
      keys,
      workflows,
      leads,
      lifecycle,
      waiters,
      // The first create answers as if the other delivery had created the execution (and then discarded it).
      executions: {
        ...executions,
        create: async (input) => (creates++ === 0 ? false : executions.create(input)),
      },
      enqueue: async (jobs) => void enqueued.push(...jobs.map((job) => job.data.nodeId)),
      removeTimers: async () => {},
    });
    const now = new Date().toISOString();

    const result = await handleEvent({
      id: 'redelivered',
      orgId,
      type: 'new_lead',
      occurredAt: now,
      receivedAt: now,
      lead: { id: 'again' },
    });

    const executionId = executionIdFor(orgId, 'redelivered', workflowId);
    expect(result.started).toEqual([executionId]);
    expect(creates).toBe(2);
    expect(await executions.load(executionId)).toMatchObject({ status: 'running', pending: 1 });
    expect(await redis.ttl(keys.execution(executionId).state)).toBe(-1);
    expect(enqueued).toEqual(['pause']);
  });

  it('records the end of an execution again when a retried trigger job finds it ended but not recorded', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, tagging('arrived'));
    const { redis, keys, executions } = h.engine;
    const handleEvent = starter(h, { stopBeforeFirstEnd: true });
    const now = new Date().toISOString();
    const event = {
      id: 'ends-once',
      orgId,
      type: 'new_lead' as const,
      occurredAt: now,
      receivedAt: now,
      lead: { id: 'arriving' },
    };
    const executionId = executionIdFor(orgId, 'ends-once', workflowId);
    const finished = () => redis.zscore(keys.finished(orgId), `${workflowId} ${executionId}`);
    const lock = () => redis.get(keys.active(orgId, workflowId, 'arriving'));

    await expect(handleEvent(event)).rejects.toThrow('stopped before the end');
    expect(await executions.load(executionId)).toMatchObject({ status: 'completed' });
    expect(await finished()).toBeNull();
    expect(await lock()).toBe(executionId);

    // The retry (the trigger job's next attempt) finds the execution ended and records the end.
    expect((await handleEvent(event)).started).toEqual([executionId]);
    expect(await finished()).not.toBeNull();
    expect(await redis.hget(keys.stats(orgId), `${workflowId}:completed`)).toBe('1');
    expect(await lock()).toBeNull();
    expect(await redis.hget(keys.leadExecutions(orgId, 'arriving'), executionId)).toBeNull();
    // Once recorded, a further retry counts nothing twice.
    await handleEvent(event);
    expect(await redis.hget(keys.stats(orgId), `${workflowId}:completed`)).toBe('1');
    expect(await lock()).toBeNull();
  });

  it('records that end too when a newer execution took over the lead in between', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, tagOrWaitFirst);
    const { redis, keys } = h.engine;
    const handleEvent = starter(h, { stopBeforeFirstEnd: true });
    const eventOf = eventsFor(orgId, 'returning');
    const first = executionIdFor(orgId, 'first-visit', workflowId);
    const second = executionIdFor(orgId, 'second-visit', workflowId);

    await expect(handleEvent(eventOf('first-visit'))).rejects.toThrow('stopped before the end');
    // The lock still names the completed execution, so the next event's execution takes it over and waits.
    expect((await handleEvent(eventOf('second-visit', { hold: true }))).started).toEqual([second]);
    expect(await redis.get(keys.active(orgId, workflowId, 'returning'))).toBe(second);

    // The first event's retry is refused the lock, but its start happened: it records the end, and skips nothing.
    expect((await handleEvent(eventOf('first-visit'))).started).toEqual([first]);
    expect(await redis.zscore(keys.finished(orgId), `${workflowId} ${first}`)).not.toBeNull();
    expect(await redis.hget(keys.stats(orgId), `${workflowId}:completed`)).toBe('1');
    expect(await redis.hget(keys.stats(orgId), `${workflowId}:skipped`)).toBeNull();
    expect(await redis.get(keys.active(orgId, workflowId, 'returning'))).toBe(second);
    expect(await redis.hkeys(keys.leadExecutions(orgId, 'returning'))).toEqual([second]);
  });

  it('counts no skip for a retried start whose execution ended and was recorded before a newer one took the lead', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, tagOrWaitFirst);
    const { redis, keys } = h.engine;
    const handleEvent = starter(h);
    const eventOf = eventsFor(orgId, 'regular');
    const first = executionIdFor(orgId, 'first-visit', workflowId);
    const second = executionIdFor(orgId, 'second-visit', workflowId);
    const skipped = () => redis.hget(keys.stats(orgId), `${workflowId}:skipped`);

    // The first event's run completes and its end is recorded; its trigger job then dies before BullMQ hears of it.
    expect((await handleEvent(eventOf('first-visit'))).started).toEqual([first]);
    expect(await redis.zscore(keys.finished(orgId), `${workflowId} ${first}`)).not.toBeNull();
    expect((await handleEvent(eventOf('second-visit', { hold: true }))).started).toEqual([second]);

    // Its re-run enrols first (the lead runs the workflow), is refused, and finds its execution already ended.
    const rerun = await handleEvent(eventOf('first-visit'), { retried: true });
    expect(rerun.started).toEqual([first]);
    expect(rerun.skipped).toEqual([]);
    expect(await skipped()).toBeNull();
    expect(await redis.hget(keys.stats(orgId), `${workflowId}:completed`)).toBe('1');
    expect(await redis.get(keys.active(orgId, workflowId, 'regular'))).toBe(second);
    expect(await redis.hkeys(keys.leadExecutions(orgId, 'regular'))).toEqual([second]);

    // A re-run whose earlier attempt created nothing is refused and counted as skipped, as a first run is.
    const refused = await handleEvent(eventOf('third-visit'), { retried: true });
    expect(refused.skipped).toHaveLength(1);
    expect(await skipped()).toBe('1');
  });

  it('counts a retried start refused the lead as started when its execution was cancelled, and records that end if it was not', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow());
    const { redis, keys, executions, lifecycle } = h.engine;
    const handleEvent = starter(h);
    const now = new Date().toISOString();
    const eventOf = eventsFor(orgId, 'caller', now);
    const first = executionIdFor(orgId, 'first-call', workflowId);
    const second = executionIdFor(orgId, 'second-call', workflowId);
    const fourth = executionIdFor(orgId, 'fourth-call', workflowId);
    const stat = (name: string) => redis.hget(keys.stats(orgId), `${workflowId}:${name}`);
    const finished = (executionId: string) =>
      redis.zscore(keys.finished(orgId), `${workflowId} ${executionId}`);

    // The first event's execution waits and is cancelled; its trigger job then dies before BullMQ hears of it. The
    // next event's execution takes the lead. The re-run, refused, finds its execution ended: it started, no skip.
    expect((await handleEvent(eventOf('first-call'))).started).toEqual([first]);
    await lifecycle.end(orgId, first, 'cancelled', 'cancelled by a test');
    expect((await handleEvent(eventOf('second-call'))).started).toEqual([second]);
    expect((await handleEvent(eventOf('first-call'), { retried: true })).started).toEqual([first]);
    expect(await stat('skipped')).toBeNull();

    // The second is cancelled by something that stops before recording the end (the lock is stale, so the next
    // execution takes the lead over). Its trigger job's re-run records that end.
    await executions.end(second, 'cancelled', 'cancelled by a test', new Date().toISOString());
    expect(await finished(second)).toBeNull();
    expect((await handleEvent(eventOf('fourth-call'))).started).toEqual([fourth]);
    expect((await handleEvent(eventOf('second-call'), { retried: true })).started).toEqual([second]);
    expect(await finished(second)).not.toBeNull();
    expect(await stat('cancelled')).toBe('2');
    expect(await stat('skipped')).toBeNull();
    expect(await redis.get(keys.active(orgId, workflowId, 'caller'))).toBe(fourth);
    expect(await redis.hkeys(keys.leadExecutions(orgId, 'caller'))).toEqual([fourth]);

    // A provisional execution found by a refused re-run is left alone (it may be another delivery's, about to be
    // kept; or left by a refused attempt that died, and it expires by itself), and the start counts as skipped.
    const leftover = executionIdFor(orgId, 'third-call', workflowId);
    await executions.create(
      afterTrigger(
        {
          id: leftover,
          orgId,
          workflowId,
          leadId: 'caller',
          event: { id: 'third-call', type: 'new_lead', occurredAt: now, data: {} },
          provisionalSeconds: 3600,
        },
        ['pause'],
        now,
      ),
    );
    expect((await handleEvent(eventOf('third-call'), { retried: true })).skipped).toHaveLength(1);
    expect(await stat('skipped')).toBe('1');
    expect(await executions.load(leftover)).toMatchObject({ status: 'running' });
  });

  it('tells the start of a trigger job put back from the dead-letter queue that it ran before', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, tagOrWaitFirst);
    const { redis, keys, executions, deadLetter, queues } = h.engine;
    const first = executionIdFor(orgId, 'first-visit', workflowId);
    const second = executionIdFor(orgId, 'second-visit', workflowId);
    const post = (id: string, data?: Record<string, unknown>) =>
      h.call(
        'POST',
        '/v1/events',
        { id, type: 'new_lead', lead: { id: 'parked' }, ...(data ? { data } : {}) },
        apiKey,
      );

    await post('first-visit');
    await eventually(async () => ((await executions.load(first))?.status === 'completed' ? true : undefined));
    await post('second-visit', { hold: true });
    await eventually(async () =>
      (await redis.get(keys.active(orgId, workflowId, 'parked'))) === second ? true : undefined,
    );

    // The first event's trigger job, parked as if it had failed after its execution ended, is put back.
    const event = eventsFor(orgId, 'parked')('first-visit');
    const error = { name: 'Error', code: 'test', message: 'failed after the end', retryable: true };
    await deadLetter.park(
      'triggers',
      { id: 'parked-first-visit', name: 'new_lead', data: event, attemptsMade: 3 },
      error,
    );
    await deadLetter.retry((await deadLetter.get('triggers.parked-first-visit'))!);

    const ran = await eventually(async () => {
      const job = await queues.triggers.getJob('parked-first-visit');
      return job && (await job.isCompleted()) ? job : undefined;
    });
    expect(ran.returnvalue).toMatchObject({ started: [first], skipped: [] });
    expect(await redis.hget(keys.stats(orgId), `${workflowId}:skipped`)).toBeNull();
  });

  it('lets a provisional execution expire unless it is kept, and never takes the expiry off one that has ended', async () => {
    const { orgId } = await h.createOrg();
    const { executions, redis, keys } = h.engine;
    const create = (id: string, next: string[]) =>
      executions.create(
        afterTrigger(
          {
            id,
            orgId,
            workflowId: 'wf_x',
            leadId: null,
            event: { id: id, type: 'new_lead' },
            provisionalSeconds: 600,
          },
          next,
        ),
      );
    const created = ['state', 'steps', 'done', 'event'] as const;

    expect(await create('x_provisional', ['next'])).toBe(true);
    for (const name of created)
      expect(await redis.ttl(keys.execution('x_provisional')[name])).toBeGreaterThan(500);
    expect(await executions.keep('x_provisional')).toBe('kept');
    for (const name of created) expect(await redis.ttl(keys.execution('x_provisional')[name])).toBe(-1);
    // A refused delivery of the same start discards only what is still provisional, not what was kept and has since
    // ended with its retention expiry.
    await executions.expire('x_provisional', 3600);
    await executions.discard('x_provisional');
    expect(await redis.exists(keys.execution('x_provisional').state)).toBe(1);
    expect(await create('x_refused', ['next'])).toBe(true);
    await executions.discard('x_refused');
    expect(await redis.exists(...created.map((name) => keys.execution('x_refused')[name]))).toBe(0);
    expect(await executions.keep('x_refused')).toBe('missing');

    // Created complete (no next node): its end is its own, and keep leaves the expiry alone.
    expect(await create('x_ended', [])).toBe(true);
    expect(await executions.keep('x_ended')).toBe('ended');
    expect(await redis.ttl(keys.execution('x_ended').state)).toBeGreaterThan(500);
  });

  it('takes over an active lock that an ended execution left behind', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow());
    const { redis, keys } = h.engine;
    // A crash between an execution's end and its release leaves the lock naming an execution that is gone.
    await redis.set(keys.active(orgId, workflowId, 'orphaned'), 'x_gone');

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'orphaned' } }, apiKey);
    const started = await settledExecution(h, apiKey, workflowId, ['waiting']);

    expect(await redis.get(keys.active(orgId, workflowId, 'orphaned'))).toBe(started.id);
    expect((await executionsOf(h, apiKey, workflowId)).map((x) => x.id)).toEqual([started.id]);
  });

  it('leaves the lock of an execution that is still starting (listed, not yet created) alone', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow());
    const { redis, keys } = h.engine;
    const lock = keys.active(orgId, workflowId, 'racing');
    await redis.set(lock, 'x_starting');
    await redis.zadd(keys.executionsOf(orgId, workflowId), Date.now(), 'x_starting');

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'racing' } }, apiKey);
    await refusedStarts(h, orgId, workflowId);

    expect(await redis.get(lock)).toBe('x_starting');
  });

  it('counts an ended execution once, however often it is finalized', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Quick',
      nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'x' } }],
      edges: chain('start', 'tag'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'twice' } }, apiKey);
    const done = await settledExecution(h, apiKey, workflowId);
    const state = await h.engine.executions.load(done.id);

    await h.engine.lifecycle.finalize(state!);
    await h.engine.lifecycle.finalize(state!);

    expect(await h.engine.redis.hget(h.engine.keys.stats(orgId), `${workflowId}:completed`)).toBe('1');
  });

  it('cancels a waiting execution, removes its timer and lets the lead enrol again', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitingFlow());
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'cancel-me' } }, apiKey);
    const waiting = await settledExecution(h, apiKey, workflowId, ['waiting']);
    const [timer] = await h.engine.redis.hkeys(h.engine.keys.execution(waiting.id).timers);
    expect(await h.engine.queues.wait.getJobState(timer!)).toBe('delayed');

    const cancelled = await h.call('POST', `/v1/executions/${waiting.id}/cancel`, undefined, apiKey);
    const again = await h.call('POST', `/v1/executions/${waiting.id}/cancel`, undefined, apiKey);

    expect(cancelled.body).toEqual({ id: waiting.id, status: 'cancelled' });
    expect(again.status).toBe(409);
    expect(await h.engine.queues.wait.getJobState(timer!)).toBe('unknown');
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'cancel-me' } }, apiKey);
    await eventually(async () =>
      (await executionsOf(h, apiKey, workflowId)).length === 2 ? true : undefined,
    );
  });

  it('sweeps executions and their step logs away after the retention period', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Quick',
      nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'x' } }],
      edges: chain('start', 'tag'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'old' } }, apiKey);
    const done = await settledExecution(h, apiKey, workflowId);
    const { keys, redis } = h.engine;
    expect(await redis.ttl(keys.execution(done.id).steps)).toBeGreaterThan(30 * 86400);

    const member = `${workflowId} ${done.id}`;
    await redis.zadd(keys.finished(orgId), String(Date.now() - 31 * 86400 * 1000), member);
    const removed = await h.engine.lifecycle.sweep();

    expect(removed).toBeGreaterThanOrEqual(1);
    expect(await redis.exists(keys.execution(done.id).state, keys.execution(done.id).steps)).toBe(0);
    expect((await h.call('GET', `/v1/executions/${done.id}`, undefined, apiKey)).status).toBe(404);
    expect(await executionsOf(h, apiKey, workflowId)).toEqual([]);
  });

  it('sweeps away an old listing whose execution was never created, and keeps old ones still running', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Long wait',
      nodes: [trigger(), { id: 'wait', type: 'wait', params: { duration: 'P60D' } }],
      edges: chain('start', 'wait'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'patient' } }, apiKey);
    const [running] = await eventually(async () => {
      const listed = await executionsOf(h, apiKey, workflowId);
      return listed.length === 1 ? listed : undefined;
    });
    const { keys, redis } = h.engine;
    const old = Date.now() - 31 * 86400 * 1000;
    await redis.zadd(keys.executionsOf(orgId, workflowId), String(old), running.id);
    // As the trigger job leaves it when it lists an execution and then fails for good before creating it.
    await redis.zadd(keys.executionsOf(orgId, workflowId), String(old + 1), 'x_never_created');

    // Pages of one: the first sweep finds only the execution still running, the next goes on past it.
    await h.engine.lifecycle.sweep(1);
    expect(await redis.zcard(keys.executionsOf(orgId, workflowId))).toBe(2);
    await h.engine.lifecycle.sweep(1);

    expect(await redis.zrange(keys.executionsOf(orgId, workflowId), '0', '-1')).toEqual([running.id]);
  });
});
