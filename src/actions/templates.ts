// Message templates with liquidjs: `{{ lead.firstName }}`, event data and earlier nodes' outputs, date filters in the
// lead's time zone. HTML templates escape every value (`| raw` opts out); a missing variable never half-fills a message.
import { Liquid, type FilterImplOptions } from 'liquidjs';
import { DateTime } from 'luxon';
import { NonRetryableError } from '../shared/errors.js';

export interface TemplateScope {
  lead: unknown;
  event: unknown;
  nodes: unknown;
  [name: string]: unknown;
}

/** The scope key holding the organization's time zone, used when the lead has none. */
export const TIME_ZONE_KEY = 'org_time_zone';

function zoneOf(environments: unknown, explicit: unknown): string {
  if (typeof explicit === 'string' && explicit) return explicit;
  const scope = (environments ?? {}) as { lead?: { timeZone?: unknown }; [TIME_ZONE_KEY]?: unknown };
  const lead = scope.lead?.timeZone;
  if (typeof lead === 'string' && DateTime.local().setZone(lead).isValid) return lead;
  const org = scope[TIME_ZONE_KEY];
  return typeof org === 'string' && org ? org : 'UTC';
}

function toDateTime(value: unknown, zone: string): DateTime {
  const parsed =
    value instanceof Date
      ? DateTime.fromJSDate(value)
      : typeof value === 'number'
        ? DateTime.fromMillis(value)
        : value === 'now' || value === 'today'
          ? DateTime.now()
          : /^\d{4}-\d{2}-\d{2}$/.test(String(value))
            ? // A bare date is a calendar day in the lead's zone, not midnight UTC.
              DateTime.fromISO(String(value), { zone })
            : DateTime.fromISO(String(value), { setZone: true });
  if (!parsed.isValid) throw new Error(`"${String(value)}" is not a date`);
  return parsed.setZone(zone);
}

/** `{{ x | local_date }}`, `{{ x | local_date: "EEE d MMM", "Europe/Madrid" }}`: luxon formats in the lead's zone. */
const dateFilter = (fallbackFormat: string): FilterImplOptions =>
  function (this: { context: { environments: unknown } }, value: unknown, format?: unknown, zone?: unknown) {
    const at = toDateTime(value, zoneOf(this.context.environments, zone));
    return at.toFormat(typeof format === 'string' && format ? format : fallbackFormat);
  };

const filters: Record<string, FilterImplOptions> = {
  local_date: dateFilter('d LLLL yyyy'),
  local_time: dateFilter('HH:mm'),
  local_datetime: dateFilter('d LLLL yyyy, HH:mm'),
};

function engine(outputEscape?: 'escape'): Liquid {
  // `templates: {}` replaces the file system: `include`, `render` and `layout` can never read a file of the host.
  // The limits stop a tenant's template from holding a worker (a loop over a huge range, a giant string).
  const liquid = new Liquid({
    strictVariables: true,
    strictFilters: true,
    cache: 500,
    templates: {},
    parseLimit: 100_000,
    renderLimit: 200,
    memoryLimit: 10_000_000,
    ...(outputEscape ? { outputEscape } : {}),
  });
  for (const [name, filter] of Object.entries(filters)) liquid.registerFilter(name, filter);
  return liquid;
}

const textEngine = engine();
const htmlEngine = engine('escape');

/** The engine template checks parse with: the same filters as rendering. */
export const templateEngine = textEngine;

function renderWith(liquid: Liquid, template: string, scope: TemplateScope, field: string): string {
  if (!template.includes('{{') && !template.includes('{%')) return template;
  try {
    return liquid.parseAndRenderSync(template, scope as object);
  } catch (error) {
    throw new NonRetryableError(`template in ${field} failed: ${(error as Error).message}`, {
      code: 'template_error',
      cause: error,
    });
  }
}

/** Renders a template; a syntax error or a missing variable is a non-retryable step error, never a half-filled message. */
export function render(template: string, scope: TemplateScope, field: string): string {
  return renderWith(textEngine, template, scope, field);
}

/** Renders an HTML template: every value is HTML-escaped unless piped through `raw`. */
export function renderHtml(template: string, scope: TemplateScope, field: string): string {
  return renderWith(htmlEngine, template, scope, field);
}
