// The definition schema as JSON Schema, so editors can validate workflow files.
import { z } from 'zod';
import { WorkflowDefinition } from './schema.js';

let cached: Record<string, unknown> | undefined;

export function workflowJsonSchema(): Record<string, unknown> {
  cached ??= {
    ...z.toJSONSchema(WorkflowDefinition, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    $id: 'https://atlas.fitness/schemas/workflow.json',
    title: 'Atlas Automations workflow definition',
  };
  return cached;
}
