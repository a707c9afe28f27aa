// Managing an organization's webhook secrets: list (never the values), add (rotation keeps the previous one), revoke.
import type { Config } from '../config/config.js';
import { notFound } from '../shared/errors.js';
import * as z from '../shared/zod.js';
import {
  AddSecretInput,
  WebhookSource,
  webhookSources,
  type WebhookSecretStore,
} from '../webhooks/secrets.js';
import { jsonBody, orgOf, type AuthContext } from './auth.js';
import { json, parseWith, type Route } from './router.js';
import type { ApiRequest } from './types.js';

interface Context extends AuthContext {
  engine: { webhookSecrets: WebhookSecretStore; config: Pick<Config, 'PUBLIC_BASE_URL'> };
}

const webhookUrl = (config: Pick<Config, 'PUBLIC_BASE_URL'>, orgId: string, source: string) =>
  `${(config.PUBLIC_BASE_URL ?? '').replace(/\/+$/, '')}/v1/webhooks/${orgId}/${source}`;

/** An empty body means "generate a secret". */
const optionalBody = (request: ApiRequest) => (request.body.trim() === '' ? {} : jsonBody(request));

export const webhookSecretRoutes: Route<Context>[] = [
  {
    method: 'GET',
    pattern: '/v1/org/webhooks',
    async handle(_request, _params, context) {
      const orgId = await orgOf(context);
      const configured = await context.engine.webhookSecrets.list(orgId);
      return json(200, {
        webhooks: webhookSources.map((source) => ({
          secrets: [],
          ...configured.find((entry) => entry.source === source),
          source,
          url: webhookUrl(context.engine.config, orgId, source),
        })),
      });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/org/webhooks/:source/secrets',
    async handle(request, params, context) {
      const orgId = await orgOf(context);
      const source = parseWith(WebhookSource, params.source, 'source');
      const input = parseWith(AddSecretInput, optionalBody(request));
      if (source !== 'generic' && input.secret === undefined) {
        parseWith(z.required(AddSecretInput, { secret: true }), input);
      }
      const added = await context.engine.webhookSecrets.add(orgId, source, input);
      const { verifyTokenValue, ...rest } = added;
      return json(201, {
        ...rest,
        url: webhookUrl(context.engine.config, orgId, source),
        ...(verifyTokenValue ? { verifyToken: verifyTokenValue } : {}),
      });
    },
  },
  {
    method: 'DELETE',
    pattern: '/v1/org/webhooks/:source/secrets/:id',
    async handle(_request, params, context) {
      const orgId = await orgOf(context);
      const source = parseWith(WebhookSource, params.source, 'source');
      const removed = await context.engine.webhookSecrets.remove(orgId, source, params.id!);
      if (!removed) throw notFound(`secret ${params.id} of the ${source} webhook`);
      return json(200, { id: params.id, revoked: true });
    },
  },
];
