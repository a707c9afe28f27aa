import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { validateGraph } from '../../src/workflows/graph.js';
import { workflowJsonSchema } from '../../src/workflows/json-schema.js';
import { WorkflowDefinition } from '../../src/workflows/schema.js';

const nurture = JSON.parse(readFileSync('examples/nurture.json', 'utf8')) as unknown;

describe('the shipped example and the exported JSON Schema', () => {
  it('the nurture example parses and its graph is valid', () => {
    const definition = WorkflowDefinition.parse(nurture);

    expect(validateGraph(definition)).toEqual([]);
  });

  it('the committed schemas/workflow.schema.json is the one the zod schema exports', () => {
    const committed = JSON.parse(readFileSync('schemas/workflow.schema.json', 'utf8')) as unknown;

    expect(committed).toEqual(workflowJsonSchema());
  });

  it('editors validating with the JSON Schema accept the example and reject a misspelt field', () => {
    const validate = new Ajv2020({ strict: false }).compile(workflowJsonSchema());
    const misspelt = structuredClone(nurture) as { nodes: Record<string, unknown>[] };
    misspelt.nodes[1] = { ...misspelt.nodes[1], parmas: {} };

    expect(validate(nurture)).toBe(true);
    expect(validate(misspelt)).toBe(false);
  });
});
