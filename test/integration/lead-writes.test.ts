import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

/**
 * Commands Redis runs on the keys of one lead (its fields, tags and live executions), as MONITOR reports them.
 * The connection is set up by hand, with its listeners on before it connects: ioredis enters monitoring mode a tick
 * after MONITOR's OK, so lines arriving in the same read as the OK (other tests' commands, on a busy machine) come out
 * as "Command queue state error" errors, which `redis.monitor()` rejects with (the first) or leaves unhandled. Those
 * lines name commands Redis ran before this watch is ready, never this lead's (its event is sent after), and are
 * dropped.
 */
async function watchLead(h: Harness, orgId: string, leadId: string) {
  const monitor = new Redis(h.engine.config.REDIS_URL, { monitor: true, lazyConnect: true });
  const tag = h.engine.keys.lead(orgId, leadId).match(/\{[^}]+\}/)![0];
  const seen: string[][] = [];
  monitor.on('error', () => undefined);
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    // Commands a script runs are reported too (source 'lua'): only the client's own commands count here.
    if (source !== 'lua' && args.some((arg) => arg.includes(tag))) seen.push(args);
  });
  // Not `events.once`: it would reject on those errors.
  const monitoring = new Promise((resolve) => monitor.once('monitoring', resolve));
  await monitor.connect();
  await monitoring;
  return {
    /** Everything seen but the live-execution entries (HSET and HDEL on the lead's `execs` hash). */
    writes: () =>
      seen.filter(
        ([name, key]) => !(['hset', 'hdel'].includes(name!.toLowerCase()) && key!.endsWith(':execs')),
      ),
    close: () => monitor.disconnect(),
  };
}

describe('lead writes of a run of CRM nodes', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('go to Redis once, together, before the run is committed', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Three CRM nodes',
      nodes: [
        trigger(),
        { id: 'tag', type: 'add_tag', params: { tag: 'warm' } },
        { id: 'stage', type: 'update_lead', params: { fields: { stage: 'nurtured', score: 5 } } },
        { id: 'status', type: 'change_status', params: { status: 'contacted' } },
        { id: 'again', type: 'update_lead', params: { fields: { score: 7 } } },
      ],
      edges: chain('start', 'tag', 'stage', 'status', 'again'),
    });
    const watch = await watchLead(h, orgId, 'batched');

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'batched', tags: ['new'] } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId);
    // MONITOR reports a command as Redis runs it; give the monitor connection a moment to deliver the last ones.
    const writes = await eventually(async () => (watch.writes().length >= 2 ? watch.writes() : undefined));
    await watch.close();

    // The event's own upsert, then one write for the four nodes (fields and tag in one script): no SADD, no second write.
    expect(writes.map(([name]) => name!.toLowerCase().replace('evalsha', 'eval'))).toEqual(['eval', 'eval']);
    const lead = (await h.call('GET', '/v1/leads/batched', undefined, apiKey)).body;
    expect(lead).toMatchObject({ stage: 'nurtured', score: 7, status: 'contacted' });
    expect(lead.tags).toEqual(['new', 'warm']);
    expect(execution.steps.map((step: { nodeId: string }) => step.nodeId)).toEqual([
      'start',
      'tag',
      'stage',
      'status',
      'again',
    ]);
    expect(execution.steps[1].output).toEqual({ tag: 'warm', added: true });
  });

  it('are written for the steps a failed run records as completed', async () => {
    // `lead.nickname` is missing: the template fails when it renders (not when the workflow is checked).
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Tag, then a template that cannot render',
      nodes: [
        trigger(),
        { id: 'tag', type: 'add_tag', params: { tag: 'reached' } },
        { id: 'broken', type: 'update_lead', params: { fields: { note: '{{ lead.nickname }}' } } },
      ],
      edges: chain('start', 'tag', 'broken'),
    });

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'half-way' } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId, ['failed']);

    expect(
      execution.steps.map((step: { nodeId: string; status: string }) => [step.nodeId, step.status]),
    ).toEqual([
      ['start', 'completed'],
      ['tag', 'completed'],
      ['broken', 'failed'],
    ]);
    const lead = (await h.call('GET', '/v1/leads/half-way', undefined, apiKey)).body;
    expect(lead.tags).toEqual(['reached']);
    expect(lead.note).toBeUndefined();
  });
});
