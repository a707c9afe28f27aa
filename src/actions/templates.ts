// Message templates with liquidjs: `{{ lead.firstName }}`, event data and earlier nodes' outputs.
import { Liquid } from 'liquidjs';
import { NonRetryableError } from '../shared/errors.js';

/**
 * `templates: {}` replaces the file system: `include`, `render` and `layout` can never read a file of the host.
 * The limits stop a tenant's template from holding a worker (a loop over a huge range, a giant string).
 */
const engine = new Liquid({
  strictVariables: true,
  strictFilters: true,
  cache: 500,
  templates: {},
  parseLimit: 100_000,
  renderLimit: 200,
  memoryLimit: 10_000_000,
});

export interface TemplateScope {
  lead: unknown;
  event: unknown;
  nodes: unknown;
}

/** Renders a template; a syntax error or a missing variable is a non-retryable step error, never a half-filled message. */
export function render(template: string, scope: TemplateScope, field: string): string {
  if (!template.includes('{{') && !template.includes('{%')) return template;
  try {
    return engine.parseAndRenderSync(template, scope as object);
  } catch (error) {
    throw new NonRetryableError(`template in ${field} failed: ${(error as Error).message}`, {
      code: 'template_error',
      cause: error,
    });
  }
}
