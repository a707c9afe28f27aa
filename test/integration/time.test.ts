import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIME_TRIGGER_JOB } from '../../src/queue/schedules.js';
import { firingDueAt } from '../../src/scheduler/time-triggers.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, executionsOf, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

describe('time', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { SCHEDULER_SYNC_MS: '600000' } });
    await h.engine.startScheduler();
  });
  afterAll(() => h.close());

  const waitForOpen = (timeout: string) => ({
    name: 'Opened?',
    nodes: [
      trigger(),
      { id: 'welcome', type: 'send_email', params: { subject: 'Hi', body: 'Welcome' } },
      { id: 'opened', type: 'wait', params: { event: 'email_opened', timeout } },
      { id: 'yes', type: 'add_tag', params: { tag: 'opened' } },
      { id: 'no', type: 'add_tag', params: { tag: 'ignored' } },
    ],
    edges: [
      ...chain('start', 'welcome', 'opened'),
      { from: 'opened', to: 'yes', when: 'received' },
      { from: 'opened', to: 'no', when: 'timed_out' },
    ],
  });

  it('continues on "received" when the awaited event arrives, and removes the timeout', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitForOpen('PT30S'));
    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'w1', email: 'w1@example.com' } },
      apiKey,
    );
    const waiting = await settledExecution(h, apiKey, workflowId, ['waiting']);

    await h.call(
      'POST',
      '/v1/events',
      { type: 'email_opened', lead: { id: 'w1' }, data: { executionId: waiting.id } },
      apiKey,
    );
    const done = await settledExecution(h, apiKey, workflowId, ['completed']);

    expect(done.steps.map((s: any) => [s.nodeId, s.status, s.edge])).toEqual([
      ['start', 'completed', undefined],
      ['welcome', 'completed', undefined],
      ['opened', 'waiting', undefined],
      ['opened', 'completed', 'received'],
      ['yes', 'completed', undefined],
    ]);
    expect(await h.engine.redis.hlen(h.engine.keys.execution(done.id).timers)).toBe(0);
    expect(await h.engine.queues.wait.getDelayedCount()).toBe(0);
  });

  it('continues on "timed_out" when nothing arrives in time, and a late event changes nothing', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, waitForOpen('PT0.3S'));
    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'w2', email: 'w2@example.com' } },
      apiKey,
    );

    const done = await settledExecution(h, apiKey, workflowId, ['completed']);
    await h.call('POST', '/v1/events', { type: 'email_opened', lead: { id: 'w2' } }, apiKey);
    await new Promise((r) => setTimeout(r, 300));

    expect(done.steps.filter((s: any) => s.nodeId === 'opened').at(-1).edge).toBe('timed_out');
    const lead = await h.call('GET', '/v1/leads/w2', undefined, apiKey);
    expect(lead.body.tags).toEqual(['ignored']);
    const after = await h.call('GET', `/v1/executions/${done.id}`, undefined, apiKey);
    expect(after.body.steps).toHaveLength(done.steps.length);
  });

  it('holds a text outside the send window until the window opens, and says why', async () => {
    const opens = Date.now() + 2 * 3600_000;
    const { apiKey } = await h.createOrg('Quiet', {
      timeZone: 'UTC',
      sendWindow: { start: hhmm(opens), end: hhmm(opens + 3600_000) },
    });
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Text',
      nodes: [trigger(), { id: 'text', type: 'send_sms', params: { body: 'Hi' } }],
      edges: chain('start', 'text'),
    });

    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'night', phone: '+15550001111' } },
      apiKey,
    );
    const held = await settledExecution(h, apiKey, workflowId, ['waiting']);

    const step = held.steps.at(-1);
    expect(step).toMatchObject({ nodeId: 'text', status: 'waiting' });
    expect(step.note).toContain('quiet hours');
    const due = Date.parse(held.waitingUntil);
    expect(Math.abs(due - opens)).toBeLessThan(60_000);
    expect((await h.call('GET', '/v1/outbox', undefined, apiKey)).body.messages).toEqual([]);
    const [timer] = await h.engine.redis.hkeys(h.engine.keys.execution(held.id).timers);
    expect(await h.engine.queues.wait.getJobState(timer!)).toBe('delayed');
  });

  it('ends a waiting execution with status exited when its goal is reached, and counts the goal', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Until member',
      settings: {
        goal: { event: 'lead_updated', filter: { field: 'lead.status', op: 'eq', value: 'member' } },
      },
      nodes: [
        trigger(),
        { id: 'pause', type: 'wait', params: { duration: 'PT1H' } },
        { id: 'tag', type: 'add_tag', params: { tag: 'x' } },
      ],
      edges: chain('start', 'pause', 'tag'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'g1' } }, apiKey);
    const waiting = await settledExecution(h, apiKey, workflowId, ['waiting']);

    await h.call('POST', '/v1/events', { type: 'lead_updated', lead: { id: 'g1', status: 'trial' } }, apiKey);
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.call('GET', `/v1/executions/${waiting.id}`, undefined, apiKey)).body.status).toBe(
      'waiting',
    );
    await h.call(
      'POST',
      '/v1/events',
      { type: 'lead_updated', lead: { id: 'g1', status: 'member' } },
      apiKey,
    );
    const exited = await settledExecution(h, apiKey, workflowId, ['exited']);

    expect(exited.endReason).toContain('goal reached');
    const goals = () => h.engine.redis.hget(h.engine.keys.stats(orgId), `${workflowId}:v1:goals`);
    expect(await eventually(async () => (await goals()) ?? undefined)).toBe('1');
    expect(await h.engine.redis.hlen(h.engine.keys.execution(exited.id).timers)).toBe(1);
    const [timer] = await h.engine.redis.hkeys(h.engine.keys.execution(exited.id).timers);
    expect(await h.engine.queues.wait.getJobState(timer!)).toBe('unknown');
  });

  /** Enrols each lead 7 days before its renewal date, at 09:00 in the organization's zone. */
  const renewalReminder = {
    name: 'Renewal reminder',
    nodes: [
      {
        id: 'start',
        type: 'trigger',
        event: 'date_reached',
        schedule: { kind: 'date', field: 'renewalDate', offsetDays: -7, at: '09:00' },
      },
      { id: 'tag', type: 'add_tag', params: { tag: 'reminded' } },
    ],
    edges: chain('start', 'tag'),
  };
  /** The UTC date `offset` days from now. */
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

  it('enrols exactly the leads whose renewal is 7 days away', async () => {
    const { apiKey, orgId } = await h.createOrg('Renewals', { timeZone: 'UTC' });
    const workflowId = await publishWorkflow(h, apiKey, renewalReminder);
    const leads: [string, string][] = [
      ['due-1', day(7)],
      ['due-2', day(7)],
      ['early', day(6)],
      ['late', day(8)],
      ['moved', day(7)],
    ];
    for (const [id, renewalDate] of leads) await h.engine.leads.upsert(orgId, { id, renewalDate });
    await h.engine.leads.setFields(orgId, 'moved', { renewalDate: day(30) });
    expect((await h.engine.queues.scheduled.getJobSchedulers()).map((s) => s.key)).toContain(
      `tt.${orgId}.${workflowId}.start`,
    );

    await h.engine.queues.scheduled.add(
      TIME_TRIGGER_JOB,
      { orgId, workflowId, triggerNodeId: 'start' },
      { jobId: 'fire-now' },
    );
    const enrolled = await eventually(async () => {
      const all = await executionsOf(h, apiKey, workflowId);
      return all.length >= 2 && all.every((e) => e.status === 'completed') ? all : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));

    expect((await executionsOf(h, apiKey, workflowId)).map((e) => e.leadId).sort()).toEqual([
      'due-1',
      'due-2',
    ]);
    expect(enrolled.every((e) => e.event.type === 'date_reached')).toBe(true);
  });

  it('sweeps the day a late firing was due, not the day it runs', async () => {
    const { apiKey, orgId } = await h.createOrg('Late renewals', { timeZone: 'UTC' });
    const workflowId = await publishWorkflow(h, apiKey, renewalReminder);
    // Due yesterday (the scheduler was down): yesterday's audience renews in 6 days from today.
    await h.engine.leads.upsert(orgId, { id: 'due-yesterday', renewalDate: day(6) });
    await h.engine.leads.upsert(orgId, { id: 'due-today', renewalDate: day(7) });
    const yesterday = Date.now() - 86_400_000;

    await h.engine.queues.scheduled.add(
      TIME_TRIGGER_JOB,
      { orgId, workflowId, triggerNodeId: 'start' },
      { jobId: `repeat:tt.${orgId}.${workflowId}.start:${yesterday}` },
    );
    await eventually(async () => {
      const all = await executionsOf(h, apiKey, workflowId);
      return all.length >= 1 && all.every((e) => e.status === 'completed') ? all : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));

    const executions = await executionsOf(h, apiKey, workflowId);
    expect(executions.map((e) => e.leadId)).toEqual(['due-yesterday']);
    expect(executions[0]!.event.occurredAt).toBe(new Date(yesterday).toISOString());
    // The workflow's real scheduler job names its due time the same way.
    const next = (await h.engine.queues.scheduled.getDelayed()).find((job) =>
      job.id?.startsWith(`repeat:tt.${orgId}.${workflowId}.start:`),
    );
    expect(next?.opts.prevMillis).toEqual(expect.any(Number));
    expect(firingDueAt(next!)).toBe(next!.opts.prevMillis);
  });
});

describe('schedulers', () => {
  it('fires a recurring trigger the expected number of times, with two scheduler replicas running', async () => {
    const first = await startHarness({ env: { SCHEDULER_SYNC_MS: '600000' } });
    const second = await startHarness({ env: { SCHEDULER_SYNC_MS: '600000', QUEUE_PREFIX: first.prefix } });
    try {
      const { apiKey, orgId } = await first.createOrg();
      const workflowId = await publishWorkflow(first, apiKey, {
        name: 'Every minute',
        settings: { enrollment: 'always' },
        nodes: [
          {
            id: 'start',
            type: 'trigger',
            event: 'recurring',
            schedule: { kind: 'every', every: 1, unit: 'minutes' },
          },
          { id: 'tag', type: 'add_tag', params: { tag: 'swept' } },
        ],
        edges: chain('start', 'tag'),
      });
      await first.engine.leads.upsert(orgId, { id: 'member-1' });
      await first.engine.leads.upsert(orgId, { id: 'member-2' });
      await Promise.all([first.engine.startScheduler(), second.engine.startScheduler()]);
      // The real schedule fires each minute; this one fires three times, a second apart, through the same path.
      const id = `tt.${orgId}.${workflowId}.start`;
      const repeat = { pattern: `@every 1 seconds ${Date.now()} UTC`, limit: 3 };
      const data = { orgId, workflowId, triggerNodeId: 'start' };
      await Promise.all([
        first.engine.queues.scheduled.upsertJobScheduler(id, repeat, { name: TIME_TRIGGER_JOB, data }),
        second.engine.queues.scheduled.upsertJobScheduler(id, repeat, { name: TIME_TRIGGER_JOB, data }),
      ]);

      await eventually(
        async () => ((await executionsOf(first, apiKey, workflowId)).length >= 6 ? true : undefined),
        15_000,
      );
      await new Promise((r) => setTimeout(r, 2000));

      const executions = await executionsOf(first, apiKey, workflowId);
      expect(executions).toHaveLength(6);
      expect(executions.filter((e) => e.leadId === 'member-1')).toHaveLength(3);
      expect(new Set(executions.map((e) => e.event.data.firingId)).size).toBe(3);
    } finally {
      await second.engine.close();
      await first.close();
    }
  });

  it('runs a live new lead ahead of a 5,000-lead sweep already queued', async () => {
    const h = await startHarness({ env: { SCHEDULER_SYNC_MS: '600000', WORKER_CONCURRENCY: '20' } });
    try {
      const { apiKey, orgId } = await h.createOrg();
      const sweepWorkflow = await publishWorkflow(h, apiKey, {
        name: 'Weekly sweep',
        nodes: [
          { id: 'start', type: 'trigger', event: 'scheduled', schedule: { kind: 'cron', cron: '0 9 * * 1' } },
          { id: 'tag', type: 'add_tag', params: { tag: 'swept' } },
        ],
        edges: chain('start', 'tag'),
      });
      const welcome = await publishWorkflow(h, apiKey, {
        name: 'Welcome',
        nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'welcomed' } }],
        edges: chain('start', 'tag'),
      });
      const ids = Array.from({ length: 5000 }, (_, i) => `m${i}`);
      for (let i = 0; i < ids.length; i += 500) {
        await Promise.all(ids.slice(i, i + 500).map((id) => h.engine.leads.upsert(orgId, { id })));
      }
      await h.engine.queues.triggers.pause();
      await h.engine.startScheduler();
      await h.engine.queues.scheduled.add(TIME_TRIGGER_JOB, {
        orgId,
        workflowId: sweepWorkflow,
        triggerNodeId: 'start',
      });
      await eventually(
        async () => ((await h.engine.queues.triggers.getPrioritizedCount()) === 5000 ? true : undefined),
        20_000,
      );

      await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'walk-in' } }, apiKey);
      await h.engine.queues.triggers.resume();
      const live = await settledExecution(h, apiKey, welcome, ['completed'], 30_000);
      const sweptSoFar = (await executionsOf(h, apiKey, sweepWorkflow)).length;

      expect(sweptSoFar).toBeLessThan(500);
      expect(live.leadId).toBe('walk-in');
    } finally {
      await h.close();
    }
  }, 60_000);
});
