// Trigger matching: which published workflows an event starts. Pure.
import type { CompiledWorkflow } from '../engine/plan.js';
import { evaluate, type ConditionContext } from './conditions.js';

export interface PublishedWorkflow {
  workflowId: string;
  version: number;
  compiled: CompiledWorkflow;
}

export interface TriggerMatch {
  workflowId: string;
  version: number;
  triggerNodeId: string;
}

/**
 * The workflows whose trigger listens for `eventType` and whose filter holds on `context` (`{ event, lead }`).
 * A workflow with several matching triggers starts once, from the first trigger in definition order.
 */
export function matchTriggers(
  workflows: readonly PublishedWorkflow[],
  eventType: string,
  context: ConditionContext,
): TriggerMatch[] {
  const matches: TriggerMatch[] = [];
  for (const { workflowId, version, compiled } of workflows) {
    const trigger = compiled.triggers.find(
      (node) => node.event === eventType && (node.filter === undefined || evaluate(node.filter, context)),
    );
    if (trigger) matches.push({ workflowId, version, triggerNodeId: trigger.id });
  }
  return matches;
}
