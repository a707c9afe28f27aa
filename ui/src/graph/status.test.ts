import { describe, expect, it } from 'vitest';
import type { Definition, Step } from '../types';
import { deriveView, edgeKey, providerIdOf } from './status';

const definition: Definition = {
  name: 'nurture',
  nodes: [
    { id: 'start', type: 'trigger', event: 'new_lead' },
    { id: 'welcome', type: 'send_email', params: {} },
    { id: 'pause', type: 'wait', params: { duration: 'P1D' } },
    { id: 'opened', type: 'branch', params: {} },
    { id: 'nudge', type: 'send_sms', params: {} },
    { id: 'tag', type: 'add_tag', params: {} },
  ],
  edges: [
    { from: 'start', to: 'welcome' },
    { from: 'welcome', to: 'pause' },
    { from: 'pause', to: 'opened' },
    { from: 'opened', to: 'tag', when: 'true' },
    { from: 'opened', to: 'nudge', when: 'false' },
    { from: 'nudge', to: 'tag' },
  ],
};

const step = (nodeId: string, status: Step['status'], extra: Partial<Step> = {}): Step => ({
  nodeId,
  type: 'x',
  status,
  attempt: 1,
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1,
  ...extra,
});

describe('deriveView: what happened to each node', () => {
  it('shows a step skipped for consent as skipped, and the workflow going on past it', () => {
    const steps = [
      step('start', 'completed'),
      step('welcome', 'skipped', { note: 'skipped: the lead opted out of email' }),
      step('pause', 'waiting', { until: '2026-01-02T00:00:00.000Z' }),
    ];

    const view = deriveView(definition, { status: 'waiting', steps });

    expect(view.nodes.welcome!.state).toBe('skipped');
    expect(view.taken.has(edgeKey('welcome', 'pause'))).toBe(true);
  });

  it('marks the nodes that ran as done, the branch not taken as skipped, and highlights the path', () => {
    const steps = [
      step('start', 'completed'),
      step('welcome', 'completed'),
      step('pause', 'waiting', { until: '2026-01-02T00:00:00.000Z' }),
      step('opened', 'completed', { edge: 'true' }),
      step('tag', 'completed'),
    ];

    const view = deriveView(definition, { status: 'completed', steps });

    expect(Object.fromEntries(Object.entries(view.nodes).map(([id, n]) => [id, n.state]))).toEqual({
      start: 'done',
      welcome: 'done',
      pause: 'done',
      opened: 'done',
      nudge: 'skipped',
      tag: 'done',
    });
    expect(view.taken).toEqual(
      new Set([
        edgeKey('start', 'welcome'),
        edgeKey('welcome', 'pause'),
        edgeKey('pause', 'opened'),
        edgeKey('opened', 'tag'),
      ]),
    );
  });

  it('shows a wait that has not elapsed as waiting until its time, and later nodes as not yet run', () => {
    const steps = [
      step('start', 'completed'),
      step('welcome', 'completed'),
      step('pause', 'waiting', { until: '2026-01-02T00:00:00.000Z' }),
    ];

    const view = deriveView(definition, { status: 'waiting', steps });

    expect(view.nodes.pause).toMatchObject({ state: 'waiting', until: '2026-01-02T00:00:00.000Z' });
    expect(view.nodes.opened!.state).toBe('running');
    expect(view.nodes.tag!.state).toBe('pending');
  });

  it('tells a step being retried from one that failed for good and one parked in the dead-letter queue', () => {
    const error = { name: 'RetryableError', code: 'http_500', message: 'down', retryable: true };
    const first = [step('start', 'completed'), step('welcome', 'failed', { error, note: 'will retry' })];
    const final = [...first, step('welcome', 'failed', { attempt: 2, error })];

    expect(deriveView(definition, { status: 'running', steps: first }).nodes.welcome!.state).toBe('retrying');
    expect(deriveView(definition, { status: 'failed', steps: final }).nodes.welcome).toMatchObject({
      state: 'failed',
      lastError: error,
    });
    const parked = deriveView(definition, { status: 'failed', steps: final }, new Set(['welcome']));
    expect(parked.nodes.welcome!.state).toBe('dead-lettered');
    expect(parked.nodes.pause!.state).toBe('skipped');
  });

  it('marks the next node of a running execution as running', () => {
    const view = deriveView(definition, { status: 'running', steps: [step('start', 'completed')] });
    expect(view.nodes.welcome!.state).toBe('running');
    expect(view.taken.has(edgeKey('start', 'welcome'))).toBe(true);
  });
});

describe('providerIdOf', () => {
  it('finds the id a provider gave an effect', () => {
    expect(providerIdOf({ messageId: 'SM123', to: '+44' })).toBe('SM123');
    expect(providerIdOf({ customerId: 'cus_1' })).toBe('cus_1');
    expect(providerIdOf({ status: 200 })).toBeUndefined();
    expect(providerIdOf(null)).toBeUndefined();
  });
});
