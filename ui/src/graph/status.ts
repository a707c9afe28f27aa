// What happened to each node of an execution, derived from its step log: the colours and the highlighted path of the
// debugger. Pure, so it is unit-tested without a browser.
import type { Definition, ExecutionStatus, Step } from '../types';

export type NodeState =
  | 'done'
  | 'running'
  | 'retrying'
  | 'waiting'
  | 'failed'
  | 'dead-lettered'
  | 'skipped'
  | 'pending'
  | 'not-run';

export interface NodeView {
  state: NodeState;
  /** Steps of this node, in log order (one per attempt). */
  steps: Step[];
  /** For a waiting node: when the next node is due. */
  until?: string;
  lastError?: Step['error'];
}

export interface ExecutionView {
  nodes: Record<string, NodeView>;
  /** Keys `from->to` of the edges the execution took. */
  taken: Set<string>;
}

export const edgeKey = (from: string, to: string) => `${from}->${to}`;

const live: ReadonlySet<ExecutionStatus> = new Set(['running', 'waiting']);

/**
 * @param deadLettered node ids whose failed job sits in the dead-letter queue now.
 */
export function deriveView(
  definition: Definition,
  execution: { status: ExecutionStatus; steps: Step[] },
  deadLettered: ReadonlySet<string> = new Set(),
): ExecutionView {
  const nodes: Record<string, NodeView> = {};
  for (const node of definition.nodes) nodes[node.id] = { state: 'pending', steps: [] };
  for (const step of execution.steps) nodes[step.nodeId]?.steps.push(step);
  const isLive = live.has(execution.status);

  // An edge is taken when its source finished (following the edge label out of a branch or split) and its target
  // ran or is about to. A step skipped on purpose (a lead who opted out of the channel) lets the workflow go on.
  const taken = new Set<string>();
  const reached = new Set<string>();
  for (const edge of definition.edges) {
    const source = nodes[edge.from];
    const finished =
      source?.steps.filter(
        (step) => step.status === 'completed' || step.status === 'waiting' || step.status === 'skipped',
      ) ?? [];
    if (finished.length === 0) continue;
    if (edge.when !== undefined && !finished.some((step) => step.edge === edge.when)) continue;
    if (finished.every((step) => step.note === 'waiting for the other arms')) continue;
    taken.add(edgeKey(edge.from, edge.to));
    reached.add(edge.to);
  }

  for (const [id, view] of Object.entries(nodes)) {
    const last = view.steps.at(-1);
    view.lastError = [...view.steps].reverse().find((step) => step.error)?.error;
    if (!last) {
      if (reached.has(id)) view.state = isLive ? 'running' : 'not-run';
      else view.state = isLive ? 'pending' : 'skipped';
      continue;
    }
    switch (last.status) {
      case 'completed':
        view.state = 'done';
        break;
      case 'skipped':
        view.state = 'skipped';
        break;
      case 'waiting': {
        const movedOn = definition.edges.some(
          (edge) => edge.from === id && (nodes[edge.to]?.steps.length ?? 0) > 0,
        );
        view.state = movedOn || !isLive ? 'done' : 'waiting';
        if (last.until) view.until = last.until;
        break;
      }
      case 'failed':
        if (deadLettered.has(id)) view.state = 'dead-lettered';
        else if (isLive && last.note !== undefined) view.state = 'retrying';
        else if (isLive) view.state = 'running';
        else view.state = 'failed';
        break;
    }
  }
  return { nodes, taken };
}

/** The id a provider gave the effect (message, customer, event), if the step's output names one. */
export function providerIdOf(output: unknown): string | undefined {
  if (!output || typeof output !== 'object') return undefined;
  const record = output as Record<string, unknown>;
  for (const name of ['messageId', 'customerId', 'eventId', 'providerId']) {
    if (typeof record[name] === 'string') return record[name];
  }
  return undefined;
}
