// Small builders for workflow definitions, shared by the unit tests of the pure core.
import { compile, type CompiledWorkflow } from '../../src/engine/plan.js';
import type { Condition } from '../../src/triggers/condition-schema.js';
import {
  WorkflowDefinition,
  type WorkflowDefinitionInput,
  type WorkflowNode,
} from '../../src/workflows/schema.js';

export type NodeInput = WorkflowDefinitionInput['nodes'][number];
export type EdgeInput = WorkflowDefinitionInput['edges'][number];

export const node = {
  trigger: (id: string, event = 'new_lead', filter?: Condition): NodeInput =>
    (filter === undefined
      ? { id, type: 'trigger', event }
      : { id, type: 'trigger', event, filter }) as NodeInput,
  tag: (id: string, tag = id): NodeInput => ({ id, type: 'add_tag', params: { tag } }),
  email: (id: string): NodeInput => ({
    id,
    type: 'send_email',
    params: { subject: 'Hello {{ lead.firstName }}', body: 'Welcome' },
  }),
  wait: (id: string, duration = 'PT1H'): NodeInput => ({ id, type: 'wait', params: { duration } }),
  branch: (id: string, condition: Condition = { field: 'lead.score', op: 'gt', value: 10 }): NodeInput => ({
    id,
    type: 'branch',
    params: { condition },
  }),
  split: (id: string, variants: Record<string, number>): NodeInput => ({
    id,
    type: 'split',
    params: { variants: Object.entries(variants).map(([label, weight]) => ({ label, weight })) },
  }),
  parallel: (id: string): NodeInput => ({ id, type: 'parallel' }),
  join: (id: string, parallel: string): NodeInput => ({ id, type: 'join', params: { parallel } }),
};

export const edge = (from: string, to: string, when?: string): EdgeInput =>
  when === undefined ? { from, to } : { from, to, when };

/** A parsed definition (defaults applied), as the store hands it to graph validation and planning. */
export function definition(nodes: NodeInput[], edges: EdgeInput[] = []): WorkflowDefinition {
  return WorkflowDefinition.parse({ name: 'Test workflow', nodes, edges });
}

export function compiled(nodes: NodeInput[], edges: EdgeInput[] = []): CompiledWorkflow {
  return compile(definition(nodes, edges));
}

export function nodeOf(workflow: CompiledWorkflow, id: string): WorkflowNode {
  const found = workflow.nodes.get(id);
  if (!found) throw new Error(`test workflow has no node "${id}"`);
  return found;
}

/** The example of DESIGN.md: welcome, wait a day, branch on whether the email was opened. */
export function nurtureInput(): WorkflowDefinitionInput {
  return {
    name: 'New lead nurture',
    nodes: [
      {
        id: 'start',
        type: 'trigger',
        event: 'new_lead',
        filter: { field: 'lead.source', op: 'in', value: ['instagram', 'facebook'] },
      },
      {
        id: 'welcome',
        type: 'send_email',
        params: { subject: 'Welcome, {{ lead.firstName }}', body: '...' },
      },
      { id: 'pause', type: 'wait', params: { duration: 'P1D' } },
      {
        id: 'opened',
        type: 'branch',
        params: { condition: { field: 'lead.tags', op: 'contains', value: 'opened-welcome' } },
      },
      {
        id: 'nudge',
        type: 'send_sms',
        params: { body: 'Hi {{ lead.firstName }}, your free class is waiting' },
      },
      { id: 'tag', type: 'add_tag', params: { tag: 'nurtured' } },
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
}
