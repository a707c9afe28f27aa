// Per-organization provider settings over the API: secrets go in, and never come back out (`"authToken": "set"`).
import type { z } from 'zod';
import type { Engine } from '../app.js';
import { settingsSchemas, settingsSections, type SettingsSection } from '../orgs/settings.js';
import { HttpError, notFound } from '../shared/errors.js';
import { json, parseWith, type Route } from './router.js';
import type { ApiRequest } from './types.js';

/** What these routes need from the API's request context. */
export interface OrgRouteContext {
  engine: Engine;
  principal(): Promise<{ kind: 'admin' } | { kind: 'org'; orgId: string }>;
}

export async function callerOrg(context: OrgRouteContext): Promise<string> {
  const principal = await context.principal();
  if (principal.kind !== 'org')
    throw new HttpError(403, 'forbidden', 'this endpoint needs an organization API key');
  return principal.orgId;
}

export function jsonOf(request: ApiRequest): unknown {
  if (request.body.trim() === '')
    throw new HttpError(400, 'invalid_json', 'request body is empty; send a JSON object');
  try {
    return JSON.parse(request.body) as unknown;
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

function sectionOf(name: string | undefined): SettingsSection {
  if (!name || !(settingsSections as string[]).includes(name))
    throw notFound(`settings section ${name} (sections: ${settingsSections.join(', ')})`);
  return name as SettingsSection;
}

export const settingsRoutes: Route<OrgRouteContext>[] = [
  {
    method: 'GET',
    pattern: '/v1/org/settings',
    async handle(_request, _params, context) {
      return json(200, { settings: await context.engine.settings.view(await callerOrg(context)) });
    },
  },
  {
    method: 'PUT',
    pattern: '/v1/org/settings/:section',
    async handle(request, { section: name }, context) {
      const orgId = await callerOrg(context);
      const section = sectionOf(name);
      const schema = settingsSchemas[section] as z.ZodType<Record<string, unknown>>;
      const input = parseWith(schema, jsonOf(request), section);
      const saved = await context.engine.settings.put(orgId, section, input);
      return json(200, { section, settings: saved });
    },
  },
  {
    method: 'DELETE',
    pattern: '/v1/org/settings/:section',
    async handle(_request, { section: name }, context) {
      const orgId = await callerOrg(context);
      const section = sectionOf(name);
      if (!(await context.engine.settings.remove(orgId, section)))
        throw notFound(`settings section ${section}`);
      return json(200, { section, removed: true });
    },
  },
];
