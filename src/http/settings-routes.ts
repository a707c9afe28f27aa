// Per-organization provider settings over the API: secrets go in, and never come back out (`"authToken": "set"`).
import type { z } from 'zod';
import type { Engine } from '../app.js';
import { settingsSchemas, settingsSections, type SettingsSection } from '../orgs/settings.js';
import { notFound } from '../shared/errors.js';
import { json, parseWith, type Route } from './router.js';
import { jsonBody as jsonOf, orgOf as callerOrg, type Principal } from './auth.js';

/** What these routes need from the API's request context. */
export interface OrgRouteContext {
  engine: Engine;
  principal(): Promise<Principal>;
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
