// Graph validation of a parsed definition: every issue names the node and the field at fault.
import type { Edge, WorkflowDefinition, WorkflowNode } from './schema.js';

export interface GraphIssue {
  /** Path into the definition, such as `nodes.3.id` or `edges.2.to`. */
  path: string;
  nodeId?: string;
  message: string;
}

const branchLabels = ['true', 'false'] as const;
/** The edges out of a wait-for-event. */
export const waitLabels = ['received', 'timed_out'] as const;

export function validateGraph(definition: WorkflowDefinition): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const index = new Map<string, number>();

  definition.nodes.forEach((node, i) => {
    if (index.has(node.id)) {
      issues.push({ path: `nodes.${i}.id`, nodeId: node.id, message: `duplicate node id "${node.id}"` });
    } else {
      index.set(node.id, i);
    }
  });

  const outgoing = new Map<string, { edge: Edge; i: number }[]>();
  const incoming = new Map<string, number>();
  const seenEdges = new Set<string>();
  definition.edges.forEach((edge, i) => {
    const fromOk = index.has(edge.from);
    const toOk = index.has(edge.to);
    if (!fromOk) issues.push({ path: `edges.${i}.from`, message: `edge from unknown node "${edge.from}"` });
    if (!toOk) issues.push({ path: `edges.${i}.to`, message: `edge to unknown node "${edge.to}"` });
    if (!fromOk || !toOk) return;
    const key = `${edge.from}->${edge.to}:${edge.when ?? ''}`;
    if (seenEdges.has(key)) issues.push({ path: `edges.${i}`, nodeId: edge.from, message: 'duplicate edge' });
    seenEdges.add(key);
    if (edge.from === edge.to)
      issues.push({
        path: `edges.${i}.to`,
        nodeId: edge.from,
        message: 'an edge cannot loop to its own node',
      });
    outgoing.set(edge.from, [...(outgoing.get(edge.from) ?? []), { edge, i }]);
    incoming.set(edge.to, (incoming.get(edge.to) ?? 0) + 1);
  });

  const nodeAt = (id: string) => definition.nodes[index.get(id) ?? -1];
  const triggers = definition.nodes.filter((node) => node.type === 'trigger');
  if (triggers.length === 0)
    issues.push({ path: 'nodes', message: 'a workflow needs at least one trigger node' });

  definition.nodes.forEach((node, i) => {
    if (index.get(node.id) !== i) return;
    issues.push(...nodeEdgeIssues(node, i, outgoing.get(node.id) ?? [], incoming.get(node.id) ?? 0, nodeAt));
  });

  const reachable = reach(
    triggers.map((t) => t.id),
    (id) => (outgoing.get(id) ?? []).map(({ edge }) => edge.to),
  );
  definition.nodes.forEach((node, i) => {
    if (index.get(node.id) === i && !reachable.has(node.id)) {
      issues.push({
        path: `nodes.${i}`,
        nodeId: node.id,
        message: `node "${node.id}" is not reachable from any trigger`,
      });
    }
  });

  const cycle = findCycle(definition.nodes, outgoing);
  if (cycle)
    issues.push({
      path: `nodes.${index.get(cycle[0]!)}`,
      nodeId: cycle[0],
      message: `cycle: ${cycle.join(' -> ')}`,
    });
  else issues.push(...joinIssues(definition, index, outgoing));

  return issues;
}

function nodeEdgeIssues(
  node: WorkflowNode,
  i: number,
  out: { edge: Edge; i: number }[],
  incomingCount: number,
  nodeAt: (id: string) => WorkflowNode | undefined,
): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const at = (message: string, field = 'edges') =>
    issues.push({ path: field === 'edges' ? `nodes.${i}` : `nodes.${i}.${field}`, nodeId: node.id, message });
  const labels = out.map(({ edge }) => edge.when);

  switch (node.type) {
    case 'trigger':
      if (incomingCount > 0) at(`trigger "${node.id}" cannot have incoming edges`);
      if (out.length !== 1) at(`trigger "${node.id}" needs exactly one outgoing edge`);
      break;
    case 'branch': {
      // A condition branch has a true and a false edge; an AI branch one edge per label.
      const ai = node.params.aiDecision;
      const expected = ai ? ai.labels : branchLabels;
      for (const label of expected) {
        const count = labels.filter((l) => l === label).length;
        if (count !== 1) at(`branch "${node.id}" needs exactly one "${label}" edge (has ${count})`);
      }
      if (out.length !== expected.length)
        at(
          ai
            ? `branch "${node.id}" takes exactly one edge per label (${expected.join(', ')})`
            : `branch "${node.id}" takes only a true and a false edge`,
        );
      break;
    }
    case 'split': {
      const variants = node.params.variants.map((v) => v.label);
      if (new Set(variants).size !== variants.length) at('variant labels must be unique', 'params.variants');
      for (const label of variants) {
        if (labels.filter((l) => l === label).length !== 1)
          at(`split "${node.id}" needs exactly one "${label}" edge`);
      }
      if (out.length !== variants.length) at(`split "${node.id}" takes exactly one edge per variant`);
      break;
    }
    case 'wait':
      if (node.params.event !== undefined) {
        for (const label of waitLabels) {
          const count = labels.filter((l) => l === label).length;
          if (count !== 1) at(`wait-for-event "${node.id}" needs exactly one "${label}" edge (has ${count})`);
        }
        if (out.length !== 2) at(`wait-for-event "${node.id}" takes only a received and a timed_out edge`);
      } else {
        if (out.length > 1)
          at(`"${node.id}" has ${out.length} outgoing edges; use a parallel node to fan out`);
        if (labels.some((l) => l !== undefined)) at(`edges out of "${node.id}" take no "when" label`);
      }
      break;
    case 'parallel':
      if (out.length < 2) at(`parallel "${node.id}" needs at least two outgoing edges`);
      if (labels.some((l) => l !== undefined)) at(`parallel "${node.id}" edges take no "when" label`);
      break;
    case 'join': {
      const target = nodeAt(node.params.parallel);
      if (!target || target.type !== 'parallel')
        at(`"${node.params.parallel}" is not a parallel node`, 'params.parallel');
      if (out.length > 1) at(`join "${node.id}" takes at most one outgoing edge`);
      break;
    }
    default:
      if (out.length > 1) at(`"${node.id}" has ${out.length} outgoing edges; use a parallel node to fan out`);
      if (labels.some((l) => l !== undefined)) at(`edges out of "${node.id}" take no "when" label`);
  }
  return issues;
}

function reach(starts: string[], next: (id: string) => string[], stop?: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...starts];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    if (id === stop) continue;
    stack.push(...next(id));
  }
  return seen;
}

function findCycle(nodes: WorkflowNode[], outgoing: Map<string, { edge: Edge }[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    path.push(id);
    for (const { edge } of outgoing.get(id) ?? []) {
      const found = visit(edge.to);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const node of nodes) {
    const found = visit(node.id);
    if (found) return found;
  }
  return undefined;
}

/** Every path out of a parallel node must reach the join that waits for it, or the join would wait forever. */
function joinIssues(
  definition: WorkflowDefinition,
  index: Map<string, number>,
  outgoing: Map<string, { edge: Edge }[]>,
): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const joinsFor = new Map<string, string[]>();
  for (const node of definition.nodes) {
    if (node.type === 'join')
      joinsFor.set(node.params.parallel, [...(joinsFor.get(node.params.parallel) ?? []), node.id]);
  }
  for (const [parallelId, joins] of joinsFor) {
    const i = index.get(joins[0]!)!;
    if (joins.length > 1) {
      issues.push({
        path: `nodes.${i}.params.parallel`,
        nodeId: joins[0],
        message: `parallel "${parallelId}" has more than one join`,
      });
      continue;
    }
    const joinId = joins[0]!;
    const next = (id: string) => (outgoing.get(id) ?? []).map(({ edge }) => edge.to);
    const inside = reach([parallelId], next, joinId);
    if (!inside.has(joinId)) {
      issues.push({
        path: `nodes.${i}.params.parallel`,
        nodeId: joinId,
        message: `join "${joinId}" is not reachable from "${parallelId}"`,
      });
      continue;
    }
    for (const id of inside) {
      if (id !== joinId && next(id).length === 0) {
        issues.push({
          path: `nodes.${index.get(id)}`,
          nodeId: id,
          message: `"${id}" ends an arm of parallel "${parallelId}" without reaching join "${joinId}"`,
        });
      }
    }
  }
  return issues;
}
