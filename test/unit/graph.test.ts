import { describe, expect, it } from 'vitest';
import { validateGraph } from '../../src/workflows/graph.js';
import { WorkflowDefinition } from '../../src/workflows/schema.js';
import { definition, edge, node, nurtureInput } from './builders.js';

/** trigger → fan → (a, b) → done → after: a valid parallel/join diamond. */
const diamondNodes = () => [
  node.trigger('start'),
  node.parallel('fan'),
  node.tag('a'),
  node.tag('b'),
  node.join('done', 'fan'),
  node.tag('after'),
];
const diamondEdges = () => [
  edge('start', 'fan'),
  edge('fan', 'a'),
  edge('fan', 'b'),
  edge('a', 'done'),
  edge('b', 'done'),
  edge('done', 'after'),
];

describe('validateGraph', () => {
  describe('valid graphs', () => {
    it('finds no issue in the nurture example of DESIGN.md', () => {
      // Arrange
      const workflow = WorkflowDefinition.parse(nurtureInput());

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([]);
    });

    it('finds no issue in a straight line', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.email('hello'), node.wait('pause'), node.tag('done')],
        [edge('start', 'hello'), edge('hello', 'pause'), edge('pause', 'done')],
      );

      // Act + Assert
      expect(validateGraph(workflow)).toEqual([]);
    });

    it('finds no issue in a parallel fan-out that meets at its join', () => {
      // Act + Assert
      expect(validateGraph(definition(diamondNodes(), diamondEdges()))).toEqual([]);
    });

    it('finds no issue in nested parallels, each with its own join', () => {
      // Arrange
      const workflow = definition(
        [
          node.trigger('start'),
          node.parallel('outer'),
          node.parallel('inner'),
          node.tag('x'),
          node.tag('y'),
          node.join('innerDone', 'inner'),
          node.tag('z'),
          node.join('outerDone', 'outer'),
        ],
        [
          edge('start', 'outer'),
          edge('outer', 'inner'),
          edge('outer', 'z'),
          edge('inner', 'x'),
          edge('inner', 'y'),
          edge('x', 'innerDone'),
          edge('y', 'innerDone'),
          edge('innerDone', 'outerDone'),
          edge('z', 'outerDone'),
        ],
      );

      // Act + Assert
      expect(validateGraph(workflow)).toEqual([]);
    });

    it('finds no issue in a branch inside a parallel arm whose both sides reach the join', () => {
      // Arrange
      const workflow = definition(
        [
          node.trigger('start'),
          node.parallel('fan'),
          node.branch('check'),
          node.tag('hot'),
          node.tag('b'),
          node.join('done', 'fan'),
        ],
        [
          edge('start', 'fan'),
          edge('fan', 'check'),
          edge('fan', 'b'),
          edge('check', 'hot', 'true'),
          edge('check', 'done', 'false'),
          edge('hot', 'done'),
          edge('b', 'done'),
        ],
      );

      // Act + Assert
      expect(validateGraph(workflow)).toEqual([]);
    });

    it('finds no issue in a split with one edge per variant', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.split('ab', { A: 1, B: 1 }), node.email('a'), node.email('b')],
        [edge('start', 'ab'), edge('ab', 'a', 'A'), edge('ab', 'b', 'B')],
      );

      // Act + Assert
      expect(validateGraph(workflow)).toEqual([]);
    });

    it('allows two triggers that lead into the same node', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('lead', 'new_lead'), node.trigger('form', 'form_submitted'), node.tag('t')],
        [edge('lead', 't'), edge('form', 't')],
      );

      // Act + Assert
      expect(validateGraph(workflow)).toEqual([]);
    });
  });

  describe('node ids and edges', () => {
    it('reports a duplicate node id at the second occurrence', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a'), node.tag('a', 'again')],
        [edge('start', 'a')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([{ path: 'nodes.2.id', nodeId: 'a', message: 'duplicate node id "a"' }]);
    });

    it('reports an edge to an unknown node at edges.N.to', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a')],
        [edge('start', 'a'), edge('a', 'ghost')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([{ path: 'edges.1.to', message: 'edge to unknown node "ghost"' }]);
    });

    it('reports an edge from an unknown node at edges.N.from', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a')],
        [edge('start', 'a'), edge('ghost', 'a')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([{ path: 'edges.1.from', message: 'edge from unknown node "ghost"' }]);
    });

    it('reports a duplicate edge', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a'), node.tag('b')],
        [edge('start', 'a'), edge('a', 'b'), edge('a', 'b')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({ path: 'edges.2', nodeId: 'a', message: 'duplicate edge' });
    });

    it('reports an edge that loops to its own node, and the cycle it makes', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a')],
        [edge('start', 'a'), edge('a', 'a')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({
        path: 'edges.1.to',
        nodeId: 'a',
        message: 'an edge cannot loop to its own node',
      });
      expect(issues).toContainEqual({ path: 'nodes.1', nodeId: 'a', message: 'cycle: a -> a' });
    });
  });

  describe('triggers and reachability', () => {
    it('needs at least one trigger', () => {
      // Arrange
      const workflow = definition([node.tag('a')]);

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({ path: 'nodes', message: 'a workflow needs at least one trigger node' });
    });

    it('reports a trigger without an outgoing edge and one with two', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('lonely'), node.trigger('greedy', 'form_submitted'), node.tag('a'), node.tag('b')],
        [edge('greedy', 'a'), edge('greedy', 'b')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.0', nodeId: 'lonely', message: 'trigger "lonely" needs exactly one outgoing edge' },
        { path: 'nodes.1', nodeId: 'greedy', message: 'trigger "greedy" needs exactly one outgoing edge' },
      ]);
    });

    it('reports an edge into a trigger', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a'), node.trigger('second', 'lead_tagged')],
        [edge('start', 'a'), edge('second', 'a'), edge('a', 'second')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({
        path: 'nodes.2',
        nodeId: 'second',
        message: 'trigger "second" cannot have incoming edges',
      });
    });

    it('reports a node no trigger reaches, naming its index and id', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a'), node.tag('orphan'), node.tag('b')],
        [edge('start', 'a'), edge('orphan', 'b'), edge('a', 'b')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.2', nodeId: 'orphan', message: 'node "orphan" is not reachable from any trigger' },
      ]);
    });

    it('reports a cycle once, starting at the node where it was entered', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a'), node.wait('b'), node.tag('c')],
        [edge('start', 'a'), edge('a', 'b'), edge('b', 'c'), edge('c', 'a')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([{ path: 'nodes.1', nodeId: 'a', message: 'cycle: a -> b -> c -> a' }]);
    });
  });

  describe('branch and split', () => {
    it('needs a false edge out of a branch', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.branch('check'), node.tag('yes')],
        [edge('start', 'check'), edge('check', 'yes', 'true')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({
        path: 'nodes.1',
        nodeId: 'check',
        message: 'branch "check" needs exactly one "false" edge (has 0)',
      });
      expect(issues.every((issue) => issue.nodeId === 'check')).toBe(true);
    });

    it('rejects two true edges out of a branch', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.branch('check'), node.tag('a'), node.tag('b'), node.tag('c')],
        [
          edge('start', 'check'),
          edge('check', 'a', 'true'),
          edge('check', 'b', 'true'),
          edge('check', 'c', 'false'),
        ],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.1', nodeId: 'check', message: 'branch "check" needs exactly one "true" edge (has 2)' },
        { path: 'nodes.1', nodeId: 'check', message: 'branch "check" takes only a true and a false edge' },
      ]);
    });

    it('rejects an unlabelled third edge out of a branch', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.branch('check'), node.tag('a'), node.tag('b'), node.tag('c')],
        [edge('start', 'check'), edge('check', 'a', 'true'), edge('check', 'b', 'false'), edge('check', 'c')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.1', nodeId: 'check', message: 'branch "check" takes only a true and a false edge' },
      ]);
    });

    it('rejects a split with a variant that has no edge or an edge for no variant', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.split('ab', { A: 1, B: 1 }), node.email('a'), node.email('c')],
        [edge('start', 'ab'), edge('ab', 'a', 'A'), edge('ab', 'c', 'C')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.1', nodeId: 'ab', message: 'split "ab" needs exactly one "B" edge' },
      ]);
    });

    it('rejects a split with repeated variant labels at params.variants', () => {
      // Arrange
      const workflow = definition(
        [
          node.trigger('start'),
          {
            id: 'ab',
            type: 'split',
            params: {
              variants: [
                { label: 'A', weight: 1 },
                { label: 'A', weight: 2 },
              ],
            },
          },
          node.email('a'),
        ],
        [edge('start', 'ab'), edge('ab', 'a', 'A')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({
        path: 'nodes.1.params.variants',
        nodeId: 'ab',
        message: 'variant labels must be unique',
      });
    });
  });

  describe('action nodes', () => {
    it('rejects more than one outgoing edge from an action node', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.email('hello'), node.tag('a'), node.tag('b')],
        [edge('start', 'hello'), edge('hello', 'a'), edge('hello', 'b')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        {
          path: 'nodes.1',
          nodeId: 'hello',
          message: '"hello" has 2 outgoing edges; use a parallel node to fan out',
        },
      ]);
    });

    it('rejects a when label on an edge out of an action node', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.wait('pause'), node.tag('a')],
        [edge('start', 'pause'), edge('pause', 'a', 'true')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.1', nodeId: 'pause', message: 'edges out of "pause" take no "when" label' },
      ]);
    });
  });

  describe('parallel and join', () => {
    it('rejects a parallel node with a single outgoing edge', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.parallel('fan'), node.tag('a'), node.join('done', 'fan')],
        [edge('start', 'fan'), edge('fan', 'a'), edge('a', 'done')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.1', nodeId: 'fan', message: 'parallel "fan" needs at least two outgoing edges' },
      ]);
    });

    it('rejects labelled edges out of a parallel node', () => {
      // Arrange
      const edges = diamondEdges().map((e) => (e.from === 'fan' ? { ...e, when: 'x' } : e));

      // Act
      const issues = validateGraph(definition(diamondNodes(), edges));

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.1', nodeId: 'fan', message: 'parallel "fan" edges take no "when" label' },
      ]);
    });

    it('reports an arm that ends without reaching the join, naming the node where it ends', () => {
      // Arrange
      const nodes = [...diamondNodes(), node.tag('stray')];
      const edges = [...diamondEdges(), edge('fan', 'stray')];

      // Act
      const issues = validateGraph(definition(nodes, edges));

      // Assert
      expect(issues).toEqual([
        {
          path: 'nodes.6',
          nodeId: 'stray',
          message: '"stray" ends an arm of parallel "fan" without reaching join "done"',
        },
      ]);
    });

    it('reports a branch side inside an arm that stops short of the join', () => {
      // Arrange
      const workflow = definition(
        [
          node.trigger('start'),
          node.parallel('fan'),
          node.branch('check'),
          node.tag('deadEnd'),
          node.tag('b'),
          node.join('done', 'fan'),
        ],
        [
          edge('start', 'fan'),
          edge('fan', 'check'),
          edge('fan', 'b'),
          edge('check', 'done', 'true'),
          edge('check', 'deadEnd', 'false'),
          edge('b', 'done'),
        ],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        {
          path: 'nodes.3',
          nodeId: 'deadEnd',
          message: '"deadEnd" ends an arm of parallel "fan" without reaching join "done"',
        },
      ]);
    });

    it('reports a join whose parallel param names a node that is not a parallel', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.tag('a'), node.join('done', 'a')],
        [edge('start', 'a'), edge('a', 'done')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({
        path: 'nodes.2.params.parallel',
        nodeId: 'done',
        message: '"a" is not a parallel node',
      });
    });

    it('reports a join that its parallel never reaches', () => {
      // Arrange
      const workflow = definition(
        [
          node.trigger('start'),
          node.parallel('fan'),
          node.tag('a'),
          node.tag('b'),
          node.join('done', 'fan'),
          node.trigger('other', 'form_submitted'),
        ],
        [edge('start', 'fan'), edge('fan', 'a'), edge('fan', 'b'), edge('other', 'done')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toContainEqual({
        path: 'nodes.4.params.parallel',
        nodeId: 'done',
        message: 'join "done" is not reachable from "fan"',
      });
    });

    it('reports a second join for the same parallel', () => {
      // Arrange
      const workflow = definition(
        [node.trigger('start'), node.parallel('fan'), node.join('j1', 'fan'), node.join('j2', 'fan')],
        [edge('start', 'fan'), edge('fan', 'j1'), edge('fan', 'j2')],
      );

      // Act
      const issues = validateGraph(workflow);

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.2.params.parallel', nodeId: 'j1', message: 'parallel "fan" has more than one join' },
      ]);
    });

    it('rejects a join with two outgoing edges', () => {
      // Arrange
      const nodes = [...diamondNodes(), node.tag('also')];
      const edges = [...diamondEdges(), edge('done', 'also')];

      // Act
      const issues = validateGraph(definition(nodes, edges));

      // Assert
      expect(issues).toEqual([
        { path: 'nodes.4', nodeId: 'done', message: 'join "done" takes at most one outgoing edge' },
      ]);
    });

    it('skips the join analysis when the graph has a cycle', () => {
      // Arrange
      const nodes = [...diamondNodes(), node.tag('stray')];
      const edges = [...diamondEdges(), edge('fan', 'stray'), edge('after', 'a')];

      // Act
      const issues = validateGraph(definition(nodes, edges));

      // Assert
      expect(issues.map((issue) => issue.message)).toEqual(['cycle: a -> done -> after -> a']);
    });
  });
});
