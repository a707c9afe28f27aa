// Planning: given a node and what it produced, which nodes run next and in which parallel arm. Pure.
import { fnv1a } from '../shared/ids.js';
import type { Edge, WorkflowDefinition, WorkflowNode } from '../workflows/schema.js';

/** A definition indexed for planning; built once per published version and cached. */
export interface CompiledWorkflow {
  readonly definition: WorkflowDefinition;
  readonly nodes: ReadonlyMap<string, WorkflowNode>;
  readonly outgoing: ReadonlyMap<string, readonly Edge[]>;
  readonly triggers: readonly Extract<WorkflowNode, { type: 'trigger' }>[];
}

export function compile(definition: WorkflowDefinition): CompiledWorkflow {
  const nodes = new Map(definition.nodes.map((node) => [node.id, node]));
  const outgoing = new Map<string, Edge[]>();
  for (const edge of definition.edges) outgoing.set(edge.from, [...(outgoing.get(edge.from) ?? []), edge]);
  const triggers = definition.nodes.filter((node) => node.type === 'trigger');
  return { definition, nodes, outgoing, triggers };
}

/**
 * Which parallel arms a token is inside, innermost last: `["fanout.0"]` is arm 0 of node `fanout`.
 * A join pops the arm of its parallel node when the last arm arrives.
 */
export type ArmStack = readonly string[];

export interface NodeResult {
  /** The edge label to follow: `true`/`false` for a branch, the variant for a split. */
  edge?: string;
  output?: unknown;
}

export interface NextStep {
  nodeId: string;
  arms: ArmStack;
}

/** The nodes to run after `node` produced `result`, each with the arm stack it runs in. */
export function planNext(
  workflow: CompiledWorkflow,
  node: WorkflowNode,
  result: NodeResult,
  arms: ArmStack,
): NextStep[] {
  const edges = workflow.outgoing.get(node.id) ?? [];
  switch (node.type) {
    case 'branch':
    case 'split':
      return edges.filter((edge) => edge.when === result.edge).map((edge) => ({ nodeId: edge.to, arms }));
    case 'wait':
      if (node.params.event === undefined) return edges.map((edge) => ({ nodeId: edge.to, arms }));
      return edges.filter((edge) => edge.when === result.edge).map((edge) => ({ nodeId: edge.to, arms }));
    case 'parallel':
      return edges.map((edge, i) => ({ nodeId: edge.to, arms: [...arms, `${node.id}.${i}`] }));
    case 'join':
      return edges.map((edge) => ({ nodeId: edge.to, arms: popArm(arms, node.params.parallel) }));
    default:
      return edges.map((edge) => ({ nodeId: edge.to, arms }));
  }
}

/** The arm of `parallelId` that the token is in, or undefined when it reached the join outside that parallel. */
export function armOf(arms: ArmStack, parallelId: string): string | undefined {
  for (let i = arms.length - 1; i >= 0; i -= 1) {
    if (arms[i]!.startsWith(`${parallelId}.`)) return arms[i];
  }
  return undefined;
}

/** Number of arms a join waits for: the outgoing edges of its parallel node. */
export function armCount(workflow: CompiledWorkflow, parallelId: string): number {
  return workflow.outgoing.get(parallelId)?.length ?? 0;
}

function popArm(arms: ArmStack, parallelId: string): ArmStack {
  const at = arms.findLastIndex((arm) => arm.startsWith(`${parallelId}.`));
  return at === -1 ? arms : arms.slice(0, at);
}

/** Deterministic A/B assignment: the same execution always lands in the same variant, weights respected. */
export function pickVariant(variants: readonly { label: string; weight: number }[], seed: string): string {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  let point = fnv1a(seed) % total;
  for (const variant of variants) {
    if (point < variant.weight) return variant.label;
    point -= variant.weight;
  }
  return variants[variants.length - 1]!.label;
}
