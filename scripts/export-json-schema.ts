// Writes schemas/workflow.schema.json from the zod definition schema (npm run schema:json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { workflowJsonSchema } from '../src/workflows/json-schema.js';

mkdirSync('schemas', { recursive: true });
writeFileSync('schemas/workflow.schema.json', `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
console.log('wrote schemas/workflow.schema.json');
