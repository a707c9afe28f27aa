// Save-time checks of a definition's templates: what can be known before a lead exists. A template must parse, use
// known filters, and read only `lead.*`, `event.{id,type,occurredAt,data}` and `nodes.<another node>.*`. Lead fields
// and event data cannot be known in advance; a missing one fails the step (non-retryable) at run time instead.
import type { WorkflowDefinition, WorkflowNode } from '../workflows/schema.js';
import { TIME_ZONE_KEY, templateEngine } from './templates.js';

export interface TemplateIssue {
  /** Path into the definition, such as `nodes.2.params.subject`. */
  path: string;
  message: string;
}

const eventFields = new Set(['id', 'type', 'occurredAt', 'data']);

/** The template fields of a node, with their paths under the node. */
function templatesOf(node: WorkflowNode): [string, string][] {
  const found: [string, string][] = [];
  const add = (path: string, value: unknown) => {
    if (typeof value === 'string') found.push([path, value]);
    else if (Array.isArray(value)) value.forEach((item, i) => add(`${path}.${i}`, item));
    else if (value && typeof value === 'object')
      for (const [key, inner] of Object.entries(value)) add(`${path}.${key}`, inner);
  };
  switch (node.type) {
    case 'send_email':
    case 'send_sms':
    case 'send_whatsapp': {
      const { templateName: _name, from: _from, ...fields } = node.params as Record<string, unknown>;
      add('params', fields);
      break;
    }
    case 'update_lead':
      add('params.fields', node.params.fields);
      break;
    case 'webhook_call':
      add('params.url', node.params.url);
      add('params.body', node.params.body);
      add('params.headers', node.params.headers);
      break;
    case 'branch':
      if (node.params.aiDecision) add('params.aiDecision.prompt', node.params.aiDecision.prompt);
      break;
    default:
      break;
  }
  return found;
}

export function templateIssues(definition: WorkflowDefinition): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  const ids = new Set(definition.nodes.map((node) => node.id));
  definition.nodes.forEach((node, i) => {
    const roots = new Set(['lead', 'event', 'nodes', TIME_ZONE_KEY]);
    if (node.type === 'send_email') roots.add('unsubscribe_url');
    for (const [field, template] of templatesOf(node)) {
      if (!template.includes('{{') && !template.includes('{%')) continue;
      const path = `nodes.${i}.${field}`;
      let segments: (string | number | unknown)[][];
      try {
        segments = templateEngine.globalVariableSegmentsSync(template) as unknown[][];
      } catch (error) {
        issues.push({ path, message: `template does not parse: ${(error as Error).message}` });
        continue;
      }
      for (const [root, second] of segments) {
        const name = String(root);
        if (!roots.has(name)) {
          issues.push({
            path,
            message: `unknown variable "${name}": use lead.*, event.*, nodes.<id>.*${node.type === 'send_email' ? ' or unsubscribe_url' : ''}`,
          });
        } else if (name === 'event' && second !== undefined && !eventFields.has(String(second))) {
          issues.push({
            path,
            message: `event.${String(second)} does not exist: an event has id, type, occurredAt and data (event.data.*)`,
          });
        } else if (
          name === 'nodes' &&
          second !== undefined &&
          (!ids.has(String(second)) || second === node.id)
        ) {
          issues.push({
            path,
            message: `nodes.${String(second)} is not another node of this workflow`,
          });
        }
      }
    }
  });
  return issues;
}
