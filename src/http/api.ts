// The public HTTP API of DESIGN.md, transport-neutral: the local server and the Lambda handler both call `handle`.
import { z } from 'zod';
import type { Engine } from '../app.js';
import { ingestEvents } from '../events/ingest.js';
import { EventBatch, EventInput, LeadId } from '../events/schema.js';
import { CreateOrgInput, secretsEqual } from '../orgs/store.js';
import type { Logger } from '../observability/logger.js';
import { queueHealth } from '../observability/queues.js';
import { HttpError, notFound } from '../shared/errors.js';
import { workflowJsonSchema } from '../workflows/json-schema.js';
import { WorkflowDefinition } from '../workflows/schema.js';
import { templateIssues } from '../actions/template-check.js';
import { linkRoutePatterns, linkRoutes } from './link-routes.js';
import { createRouter, errorResponse, json, parseWith, type Params, type Route } from './router.js';
import { settingsRoutes } from './settings-routes.js';
import type { ApiRequest, ApiResponse } from './types.js';

type Principal = { kind: 'admin' } | { kind: 'org'; orgId: string };

interface Context {
  engine: Engine;
  principal: () => Promise<Principal>;
}

const Limit = z.coerce.number().int().min(1).max(1000).default(100);

function body(request: ApiRequest): unknown {
  if (request.body.trim() === '')
    throw new HttpError(400, 'invalid_json', 'request body is empty; send a JSON object');
  try {
    return JSON.parse(request.body) as unknown;
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** A definition from a request: schema-checked, then its templates (what can be known before a lead exists). */
function definitionOf(request: ApiRequest): WorkflowDefinition {
  const definition = parseWith(WorkflowDefinition, body(request), 'definition');
  const issues = templateIssues(definition).map(({ path, message }) => ({
    path: `definition.${path}`,
    message,
  }));
  if (issues.length > 0)
    throw new HttpError(
      400,
      'validation_failed',
      `invalid request: ${issues[0]!.path}: ${issues[0]!.message}`,
      issues,
    );
  return definition;
}

async function orgOf(context: Context): Promise<string> {
  const principal = await context.principal();
  if (principal.kind !== 'org')
    throw new HttpError(403, 'forbidden', 'this endpoint needs an organization API key');
  return principal.orgId;
}

async function requireAdmin(context: Context): Promise<void> {
  if ((await context.principal()).kind !== 'admin')
    throw new HttpError(403, 'forbidden', 'this endpoint needs the admin token');
}

/** The organization an admin or org caller may see: an org key sees only its own. */
async function scopeOf(context: Context): Promise<string | undefined> {
  const principal = await context.principal();
  return principal.kind === 'org' ? principal.orgId : undefined;
}

async function ownExecution(context: Context, orgId: string, executionId: string) {
  const state = await context.engine.executions.load(executionId);
  if (!state || state.orgId !== orgId) throw notFound(`execution ${executionId}`);
  return state;
}

async function ownDeadLetter(context: Context, id: string) {
  const scope = await scopeOf(context);
  const entry = await context.engine.deadLetter.get(id);
  if (!entry || (scope !== undefined && entry.orgId !== scope)) throw notFound(`dead-letter entry ${id}`);
  return entry;
}

const routes: Route<Context>[] = [
  {
    method: 'GET',
    pattern: '/healthz',
    async handle(_request, _params, { engine }) {
      const pong = await engine.redis.ping();
      return json(200, { ok: pong === 'PONG', redis: pong === 'PONG' ? 'up' : 'down' });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/schema/workflow',
    async handle() {
      return json(200, workflowJsonSchema());
    },
  },
  {
    method: 'POST',
    pattern: '/v1/orgs',
    async handle(request, _params, context) {
      await requireAdmin(context);
      const input = parseWith(CreateOrgInput, body(request));
      const created = await context.engine.orgs.create(input);
      return json(201, created);
    },
  },
  {
    method: 'GET',
    pattern: '/v1/org',
    async handle(_request, _params, context) {
      const org = await context.engine.orgs.get(await orgOf(context));
      return json(200, org);
    },
  },
  {
    method: 'POST',
    pattern: '/v1/events',
    async handle(request, _params, context) {
      const orgId = await orgOf(context);
      const payload = body(request);
      const events =
        payload !== null && typeof payload === 'object' && 'events' in payload
          ? parseWith(EventBatch, payload).events
          : [parseWith(EventInput, payload)];
      const accepted = await ingestEvents(context.engine, orgId, events);
      return json(202, { accepted });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/workflows',
    async handle(request, _params, context) {
      const orgId = await orgOf(context);
      const definition = definitionOf(request);
      return json(201, await context.engine.workflows.create(orgId, definition));
    },
  },
  {
    method: 'GET',
    pattern: '/v1/workflows',
    async handle(_request, _params, context) {
      return json(200, { workflows: await context.engine.workflows.list(await orgOf(context)) });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/workflows/:id',
    async handle(_request, { id }, context) {
      return json(200, await context.engine.workflows.get(await orgOf(context), id!));
    },
  },
  {
    method: 'PUT',
    pattern: '/v1/workflows/:id',
    async handle(request, { id }, context) {
      const orgId = await orgOf(context);
      const definition = definitionOf(request);
      return json(200, await context.engine.workflows.updateDraft(orgId, id!, definition));
    },
  },
  {
    method: 'POST',
    pattern: '/v1/workflows/:id/publish',
    async handle(_request, { id }, context) {
      const published = await context.engine.workflows.publish(await orgOf(context), id!);
      return json(200, { id, version: published.version, publishedAt: published.publishedAt });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/workflows/:id/unpublish',
    async handle(_request, { id }, context) {
      await context.engine.workflows.unpublish(await orgOf(context), id!);
      return json(200, { id, published: false });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/workflows/:id/versions/:version',
    async handle(_request, { id, version }, context) {
      const entry = await context.engine.workflows.getVersion(await orgOf(context), id!, Number(version));
      if (!entry) throw notFound(`version ${version} of workflow ${id}`);
      return json(200, entry.version);
    },
  },
  {
    method: 'GET',
    pattern: '/v1/workflows/:id/executions',
    async handle(request, { id }, context) {
      const orgId = await orgOf(context);
      const limit = parseWith(Limit, request.query.limit, 'limit');
      const { engine } = context;
      const ids = await engine.redis.zrevrange(engine.keys.executionsOf(orgId, id!), 0, limit - 1);
      const states = await Promise.all(ids.map((executionId) => engine.executions.load(executionId)));
      return json(200, { executions: states.filter((state) => state !== undefined) });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/executions/:id',
    async handle(_request, { id }, context) {
      const state = await ownExecution(context, await orgOf(context), id!);
      const steps = await context.engine.executions.steps(id!);
      return json(200, { ...state, steps });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/executions/:id/cancel',
    async handle(_request, { id }, context) {
      const orgId = await orgOf(context);
      await ownExecution(context, orgId, id!);
      const result = await context.engine.lifecycle.end(orgId, id!, 'cancelled', 'cancelled through the API');
      if (!result?.ended)
        throw new HttpError(409, 'conflict', `execution ${id} is already ${result?.status}`);
      return json(200, { id, status: result.status });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/leads/:id',
    async handle(_request, { id }, context) {
      const leadId = parseWith(LeadId, id, 'id');
      const lead = await context.engine.leads.get(await orgOf(context), leadId);
      if (!lead) throw notFound(`lead ${leadId}`);
      return json(200, lead);
    },
  },
  {
    method: 'GET',
    pattern: '/v1/outbox',
    async handle(request, _params, context) {
      const limit = parseWith(Limit, request.query.limit, 'limit');
      return json(200, { messages: await context.engine.outbox.list(await orgOf(context), limit) });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/dead-letter',
    async handle(request, _params, context) {
      const limit = parseWith(Limit, request.query.limit, 'limit');
      return json(200, { entries: await context.engine.deadLetter.list(await scopeOf(context), limit) });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/dead-letter/:id',
    async handle(_request, { id }, context) {
      return json(200, await ownDeadLetter(context, id!));
    },
  },
  {
    method: 'POST',
    pattern: '/v1/dead-letter/:id/retry',
    async handle(_request, { id }, context) {
      await context.engine.deadLetter.retry(await ownDeadLetter(context, id!));
      return json(202, { id, retried: true });
    },
  },
  {
    method: 'DELETE',
    pattern: '/v1/dead-letter/:id',
    async handle(_request, { id }, context) {
      await context.engine.deadLetter.discard(await ownDeadLetter(context, id!));
      return json(200, { id, discarded: true });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/queues',
    async handle(_request, _params, context) {
      await context.principal();
      return json(200, { queues: await queueHealth(context.engine.queues) });
    },
  },
];

const publicRoutes = new Set(['/healthz', '/v1/schema/workflow', ...linkRoutePatterns]);

export function createApi(engine: Engine, logger: Logger) {
  const find = createRouter<Context>([...routes, ...settingsRoutes, ...linkRoutes]);
  const adminToken = engine.config.ADMIN_TOKEN;

  async function authenticate(request: ApiRequest): Promise<Principal> {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <API key>');
    const token = match[1]!;
    if (adminToken && secretsEqual(token, adminToken)) return { kind: 'admin' };
    const orgId = await engine.orgs.authenticate(token);
    if (!orgId) throw new HttpError(401, 'unauthorized', 'unknown API key');
    return { kind: 'org', orgId };
  }

  return async function handle(request: ApiRequest): Promise<ApiResponse> {
    try {
      if (Buffer.byteLength(request.body) > engine.config.MAX_BODY_BYTES) {
        throw new HttpError(
          413,
          'payload_too_large',
          `request body exceeds ${engine.config.MAX_BODY_BYTES} bytes`,
        );
      }
      const { route, params } = find(request.method.toUpperCase(), request.path);
      let principal: Promise<Principal> | undefined;
      const context: Context = {
        engine,
        principal: () => (principal ??= authenticate(request)),
      };
      if (!publicRoutes.has(route.pattern)) await context.principal();
      return await route.handle(request, params as Params, context);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      logger.error({ err: error, method: request.method, path: request.path }, 'request failed');
      return json(500, {
        error: { code: 'internal_error', message: 'the engine failed to handle this request' },
      });
    }
  };
}
export type Api = ReturnType<typeof createApi>;
