import { describe, expect, it } from 'vitest';
import { validateGraph } from '../../src/workflows/graph.js';
import { WorkflowDefinition } from '../../src/workflows/schema.js';
import { edge, node, type NodeInput } from './builders.js';

const aiBranch = (params: Record<string, unknown>): NodeInput =>
  ({
    id: 'ai',
    type: 'branch',
    params: { aiDecision: { prompt: 'Hot or cold?', labels: ['hot', 'cold'], fallback: 'cold', ...params } },
  }) as NodeInput;

const parse = (nodes: NodeInput[], edges = [edge('start', 'ai')]) =>
  WorkflowDefinition.safeParse({ name: 'wf', nodes: [node.trigger('start'), ...nodes], edges });

describe('branch with aiDecision: schema', () => {
  it('accepts labels with a fallback among them, and defaults the timeout', () => {
    // Act
    const parsed = parse([aiBranch({})]);

    // Assert
    expect(parsed.success).toBe(true);
    const branch = parsed.data!.nodes[1] as Extract<WorkflowDefinition['nodes'][number], { type: 'branch' }>;
    expect(branch.params.aiDecision?.timeoutMs).toBe(10_000);
  });

  it.each([
    [{ fallback: 'warm' }, 'nodes.1.params.aiDecision.fallback', 'fallback must be one of the labels'],
    [
      { labels: ['hot', 'hot'], fallback: 'hot' },
      'nodes.1.params.aiDecision.labels',
      'labels must be unique',
    ],
    [{ labels: ['only'], fallback: 'only' }, 'nodes.1.params.aiDecision.labels', ''],
    [{ labels: ['has space', 'b'], fallback: 'b' }, 'nodes.1.params.aiDecision.labels.0', ''],
  ])('refuses %j at %s', (params, path, message) => {
    // Act
    const parsed = parse([aiBranch(params)]);

    // Assert
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues.find((i) => i.path.join('.') === path);
    expect(issue?.message).toContain(message);
  });

  it('takes exactly one of condition and aiDecision', () => {
    // Act
    const both = WorkflowDefinition.safeParse({
      name: 'wf',
      nodes: [
        node.trigger('start'),
        {
          id: 'b',
          type: 'branch',
          params: {
            condition: { field: 'lead.x', op: 'exists' },
            aiDecision: { prompt: 'p', labels: ['a', 'b'], fallback: 'a' },
          },
        },
      ],
      edges: [],
    });
    const neither = WorkflowDefinition.safeParse({
      name: 'wf',
      nodes: [node.trigger('start'), { id: 'b', type: 'branch', params: {} }],
      edges: [],
    });

    // Assert
    expect(both.error?.issues[0]?.message).toBe('give exactly one of condition or aiDecision');
    expect(neither.error?.issues[0]?.message).toBe('give exactly one of condition or aiDecision');
  });
});

describe('branch with aiDecision: graph', () => {
  const tags = [node.tag('hotTag'), node.tag('coldTag')];

  it('accepts one edge per label', () => {
    // Arrange
    const parsed = parse(
      [aiBranch({}), ...tags],
      [edge('start', 'ai'), edge('ai', 'hotTag', 'hot'), edge('ai', 'coldTag', 'cold')],
    );

    // Act + Assert
    expect(validateGraph(parsed.data!)).toEqual([]);
  });

  it('refuses a missing label edge, an extra edge, and true/false edges', () => {
    // Arrange
    const missing = parse([aiBranch({}), ...tags], [edge('start', 'ai'), edge('ai', 'hotTag', 'hot')]);
    const trueFalse = parse(
      [aiBranch({}), ...tags],
      [edge('start', 'ai'), edge('ai', 'hotTag', 'true'), edge('ai', 'coldTag', 'false')],
    );

    // Act
    const missingIssues = validateGraph(missing.data!).map((i) => i.message);
    const trueFalseIssues = validateGraph(trueFalse.data!).map((i) => i.message);

    // Assert
    expect(missingIssues).toContain('branch "ai" needs exactly one "cold" edge (has 0)');
    expect(missingIssues).toContain('branch "ai" takes exactly one edge per label (hot, cold)');
    expect(trueFalseIssues).toContain('branch "ai" needs exactly one "hot" edge (has 0)');
  });
});
