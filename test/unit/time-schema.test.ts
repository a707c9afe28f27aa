import { describe, expect, it } from 'vitest';
import { validateGraph } from '../../src/workflows/graph.js';
import { WorkflowDefinition } from '../../src/workflows/schema.js';

const withNode = (node: Record<string, unknown>, edges: unknown[] = [{ from: 'start', to: 'n' }]) => ({
  name: 'time',
  nodes: [
    { id: 'start', type: 'trigger', event: 'new_lead' },
    { id: 'n', ...node },
  ],
  edges,
});
const issuesOf = (definition: unknown) =>
  (WorkflowDefinition.safeParse(definition).error?.issues ?? []).map((i) => [i.path.join('.'), i.message]);

describe('time fields are checked when a workflow is saved', () => {
  it.each([
    [
      'an impossible date',
      { type: 'wait', params: { until: '2027-02-29T09:00:00Z' } },
      'nodes.1.params.until',
    ],
    ['a negative duration', { type: 'wait', params: { duration: '-PT5M' } }, 'nodes.1.params.duration'],
    ['a weekday without a time', { type: 'wait', params: { weekday: 'mon' } }, 'nodes.1.params.at'],
    [
      'an event wait without a timeout',
      { type: 'wait', params: { event: 'email_opened' } },
      'nodes.1.params.timeout',
    ],
    ['a local time of 25:00', { type: 'wait', params: { weekday: 'mon', at: '25:00' } }, 'nodes.1.params.at'],
  ])('rejects %s, naming the node and field', (_name, node, path) => {
    expect(issuesOf(withNode(node)).map(([p]) => p)).toContain(path);
  });

  it('rejects an invalid cron expression and an unknown time zone on a scheduled trigger', () => {
    const definition = (cron: string, timeZone: string) => ({
      name: 'weekly',
      nodes: [
        { id: 'start', type: 'trigger', event: 'scheduled', schedule: { kind: 'cron', cron, timeZone } },
        { id: 'n', type: 'add_tag', params: { tag: 'x' } },
      ],
      edges: [{ from: 'start', to: 'n' }],
    });

    expect(issuesOf(definition('61 9 * * 1', 'Europe/London')).map(([p]) => p)).toEqual([
      'nodes.0.schedule.cron',
    ]);
    expect(issuesOf(definition('0 9 * * 1', 'Europe/Atlantis')).map(([p]) => p)).toEqual([
      'nodes.0.schedule.timeZone',
    ]);
    expect(issuesOf(definition('0 9 * * 1', 'Europe/London'))).toEqual([]);
  });

  it('needs a received and a timed_out edge out of a wait-for-event', () => {
    const definition = WorkflowDefinition.parse({
      name: 'opened?',
      nodes: [
        { id: 'start', type: 'trigger', event: 'new_lead' },
        { id: 'n', type: 'wait', params: { event: 'email_opened', timeout: 'P3D' } },
        { id: 'a', type: 'add_tag', params: { tag: 'opened' } },
      ],
      edges: [
        { from: 'start', to: 'n' },
        { from: 'n', to: 'a', when: 'received' },
      ],
    });

    expect(validateGraph(definition).map((i) => i.message)).toContain(
      'wait-for-event "n" needs exactly one "timed_out" edge (has 0)',
    );
  });
});
