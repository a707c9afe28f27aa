import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import {
  chain,
  executionsOf,
  publishWorkflow,
  settledExecution,
  trigger,
  refusedStarts,
} from '../support/workflows.js';

describe('control flow', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('joins a parallel fan-out only after every arm has arrived', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Fan out',
      nodes: [
        trigger(),
        { id: 'fan', type: 'parallel' },
        { id: 'slow', type: 'wait', params: { duration: 'PT0.4S' } },
        { id: 'slowTag', type: 'add_tag', params: { tag: 'slow-arm' } },
        { id: 'fastTag', type: 'add_tag', params: { tag: 'fast-arm' } },
        { id: 'sms', type: 'send_sms', params: { body: 'hello' } },
        { id: 'together', type: 'join', params: { parallel: 'fan' } },
        { id: 'done', type: 'change_status', params: { status: 'engaged' } },
      ],
      edges: [
        ...chain('start', 'fan'),
        ...chain('fan', 'slow', 'slowTag', 'together'),
        ...chain('fan', 'fastTag', 'together'),
        ...chain('fan', 'sms', 'together'),
        ...chain('together', 'done'),
      ],
    });

    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'p1', phone: '+15551234567' } },
      apiKey,
    );
    const execution = await settledExecution(h, apiKey, workflowId);

    const order = execution.steps.map((s: any) => s.nodeId);
    expect(order.filter((id: string) => id === 'done')).toHaveLength(1);
    expect(order.indexOf('done')).toBeGreaterThan(order.indexOf('slowTag'));
    const joins = execution.steps.filter((s: any) => s.nodeId === 'together');
    expect(joins).toHaveLength(3);
    expect(joins.filter((s: any) => s.output.proceed)).toHaveLength(1);
    expect(joins.at(-1).output.proceed).toBe(true);
    const lead = await h.call('GET', '/v1/leads/p1', undefined, apiKey);
    expect(lead.body).toMatchObject({ status: 'engaged', tags: ['fast-arm', 'slow-arm'] });
  });

  it('keeps a waiting execution on the version it started with when a new version is published', async () => {
    const { apiKey } = await h.createOrg();
    const version = (tag: string) => ({
      name: 'Pinned',
      nodes: [
        trigger(),
        { id: 'pause', type: 'wait', params: { duration: 'PT0.5S' } },
        { id: 'tag', type: 'add_tag', params: { tag } },
      ],
      edges: chain('start', 'pause', 'tag'),
    });
    const workflowId = await publishWorkflow(h, apiKey, version('v1'));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'early' } }, apiKey);
    const waiting = await settledExecution(h, apiKey, workflowId, ['waiting']);
    expect(waiting.waitingUntil).toEqual(expect.any(String));

    await h.call('PUT', `/v1/workflows/${workflowId}`, version('v2'), apiKey);
    const republished = await h.call('POST', `/v1/workflows/${workflowId}/publish`, undefined, apiKey);
    expect(republished.body.version).toBe(2);
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'late' } }, apiKey);

    const first = await eventually(async () => {
      const r = await h.call('GET', `/v1/executions/${waiting.id}`, undefined, apiKey);
      return r.body.status === 'completed' ? r.body : undefined;
    });
    expect(first.version).toBe(1);
    expect((await h.call('GET', '/v1/leads/early', undefined, apiKey)).body.tags).toEqual(['v1']);
    await eventually(async () =>
      (await h.call('GET', '/v1/leads/late', undefined, apiKey)).body.tags?.[0] === 'v2' ? true : undefined,
    );
    const all = await executionsOf(h, apiKey, workflowId);
    expect(all.map((e) => e.version).sort()).toEqual([1, 2]);
    const v1 = await h.call('GET', `/v1/workflows/${workflowId}/versions/1`, undefined, apiKey);
    expect(v1.body.definition.nodes[2].params.tag).toBe('v1');
  });

  it('goes straight on past a wait whose time has already come', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Late',
      nodes: [
        trigger(),
        { id: 'pause', type: 'wait', params: { until: '2020-01-01T09:00:00Z' } },
        { id: 'tag', type: 'add_tag', params: { tag: 'on-time' } },
      ],
      edges: chain('start', 'pause', 'tag'),
    });

    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'late-wait' } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId);

    expect(execution.steps.map((s: any) => [s.nodeId, s.status])).toEqual([
      ['start', 'completed'],
      ['pause', 'completed'],
      ['tag', 'completed'],
    ]);
  });

  it('keeps an execution ending in a wait running until the wait is over, holding its lead', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Tag, then keep the lead out for a while',
      nodes: [
        trigger(),
        { id: 'tag', type: 'add_tag', params: { tag: 'welcomed' } },
        { id: 'cooldown', type: 'wait', params: { duration: 'PT1S' } },
      ],
      edges: chain('start', 'tag', 'cooldown'),
    });
    const post = (id: string) =>
      h.call('POST', '/v1/events', { id, type: 'new_lead', lead: { id: 'cooling' } }, apiKey);

    await post('first');
    const waiting = await settledExecution(h, apiKey, workflowId, ['waiting']);
    await post('second');
    await refusedStarts(h, orgId, workflowId);
    const done = await settledExecution(h, apiKey, workflowId, ['completed']);

    expect(waiting.steps.map((s: any) => [s.nodeId, s.status])).toEqual([
      ['start', 'completed'],
      ['tag', 'completed'],
      ['cooldown', 'waiting'],
    ]);
    expect(done.steps.map((s: any) => [s.nodeId, s.status])).toEqual([
      ['start', 'completed'],
      ['tag', 'completed'],
      ['cooldown', 'waiting'],
      ['cooldown', 'completed'],
    ]);
    expect(Date.parse(done.finishedAt) - Date.parse(done.startedAt)).toBeGreaterThanOrEqual(1000);
    expect(await executionsOf(h, apiKey, workflowId)).toHaveLength(1);
  });

  it('splits leads between A/B variants by weight and records the variant', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'A/B',
      settings: { enrollment: 'always' },
      nodes: [
        trigger(),
        {
          id: 'ab',
          type: 'split',
          params: {
            variants: [
              { label: 'a', weight: 1 },
              { label: 'b', weight: 1 },
            ],
          },
        },
        { id: 'tagA', type: 'add_tag', params: { tag: 'variant-a' } },
        { id: 'tagB', type: 'add_tag', params: { tag: 'variant-b' } },
      ],
      edges: [
        ...chain('start', 'ab'),
        { from: 'ab', to: 'tagA', when: 'a' },
        { from: 'ab', to: 'tagB', when: 'b' },
      ],
    });

    await h.call(
      'POST',
      '/v1/events',
      { events: Array.from({ length: 20 }, (_, i) => ({ type: 'new_lead', lead: { id: `ab${i}` } })) },
      apiKey,
    );
    const done = await eventually(async () => {
      const all = await executionsOf(h, apiKey, workflowId);
      return all.length === 20 && all.every((e) => e.status === 'completed') ? all : undefined;
    });

    const variants = await Promise.all(
      done.map(
        async (e) => (await h.call('GET', `/v1/executions/${e.id}`, undefined, apiKey)).body.steps[1].edge,
      ),
    );
    expect(new Set(variants)).toEqual(new Set(['a', 'b']));
  });
});
