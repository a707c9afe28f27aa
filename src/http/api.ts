// The public HTTP API of DESIGN.md, transport-neutral: the local server and the Lambda handler both call `handle`.
import { z } from 'zod';
import type { Engine } from '../app.js';
import { LeadId } from '../events/schema.js';
import { CreateOrgInput, OrgSettingsInput } from '../orgs/store.js';
import type { Logger } from '../observability/logger.js';
import { queueHealth } from '../observability/queues.js';
import { DEAD_LETTER_SCAN, DeadLetterQuery, matchesDeadLetter } from './dead-letter-query.js';
import { HttpError, notFound } from '../shared/errors.js';
import { workflowJsonSchema } from '../workflows/json-schema.js';
import { WorkflowDefinition } from '../workflows/schema.js';
import { templateIssues } from '../actions/template-check.js';
import { linkRoutePatterns, linkRoutes } from './link-routes.js';
import { settingsRoutes } from './settings-routes.js';
import { createAuthenticator } from './auth.js';
import { ingestRoutes, publicIngestPatterns } from './ingest-routes.js';
import {
  actorOf,
  body,
  orgOf,
  actOnDeadLetter,
  auditDeadLetterAction,
  ownDeadLetter,
  ownExecution,
  requireAdmin,
  scopeOf,
  type Context,
} from './access.js';
import { debuggerRoutes } from './routes/debugger.js';
import { observabilityRoutes } from './routes/observability.js';
import { createHandler } from './handler.js';
import { json, parseWith, type Route } from './router.js';
import { uiRoutes } from './ui.js';
import type { ApiRequest } from './types.js';
import { webhookSecretRoutes } from './webhook-secret-routes.js';

const Limit = z.coerce.number().int().min(1).max(1000).default(100);
/** A workflow version in a path (`/versions/:version`). */
const Version = z.coerce.number().int().positive();

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

const routes: Route<Context>[] = [
  {
    method: 'GET',
    pattern: '/healthz',
    async handle(_request, _params, { engine }) {
      // A Redis that does not answer within a second is down: the probe must answer, not hang.
      const pong = await Promise.race([
        engine.redis.ping().catch(() => 'error'),
        new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 1000).unref()),
      ]);
      const up = pong === 'PONG';
      return json(up ? 200 : 503, { ok: up, redis: up ? 'up' : 'down' });
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
    method: 'PATCH',
    pattern: '/v1/org',
    async handle(request, _params, context) {
      const settings = parseWith(OrgSettingsInput, body(request));
      return json(200, await context.engine.orgs.update(await orgOf(context), settings));
    },
  },
  ...ingestRoutes,
  ...webhookSecretRoutes,
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
      const orgId = await orgOf(context);
      const published = await context.engine.workflows.publish(orgId, id!);
      await context.engine.syncSchedules(orgId, id!);
      return json(200, { id, version: published.version, publishedAt: published.publishedAt });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/workflows/:id/unpublish',
    async handle(_request, { id }, context) {
      const orgId = await orgOf(context);
      await context.engine.workflows.unpublish(orgId, id!);
      await context.engine.syncSchedules(orgId, id!);
      return json(200, { id, published: false });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/workflows/:id/versions/:version',
    async handle(_request, { id, version: text }, context) {
      const orgId = await orgOf(context);
      const version = parseWith(Version, text, 'version');
      const entry = await context.engine.workflows.getVersion(orgId, id!, version);
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
      await context.engine.audit.record(orgId, {
        actor: await actorOf(context),
        action: 'execution.cancel',
        target: id!,
      });
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
      const { limit, ...filter } = parseWith(DeadLetterQuery, request.query);
      const entries = await context.engine.deadLetter.list(await scopeOf(context), DEAD_LETTER_SCAN);
      return json(200, {
        entries: entries.filter((entry) => matchesDeadLetter(entry, filter)).slice(0, limit),
      });
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
      const entry = await actOnDeadLetter(context, id!, 'retry');
      await auditDeadLetterAction(context, entry, id!, 'retry', await actorOf(context));
      return json(202, { id, retried: true });
    },
  },
  {
    method: 'DELETE',
    pattern: '/v1/dead-letter/:id',
    async handle(_request, { id }, context) {
      const entry = await actOnDeadLetter(context, id!, 'discard');
      await auditDeadLetterAction(context, entry, id!, 'discard', await actorOf(context));
      return json(200, { id, discarded: true });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/queues',
    async handle(_request, _params, context) {
      // Queue depths are the whole engine's, not one organization's: operators only.
      await requireAdmin(context);
      return json(200, { queues: await queueHealth(context.engine.queues) });
    },
  },
];

const publicPatterns = ['/healthz', '/v1/schema/workflow', ...publicIngestPatterns, ...linkRoutePatterns].map(
  (pattern) => new RegExp(`^${pattern.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`),
);
const isPublic = (path: string) => publicPatterns.some((pattern) => pattern.test(path));

export function createApi(engine: Engine, logger: Logger) {
  return createHandler<Context>({
    routes: [
      ...routes,
      ...settingsRoutes,
      ...linkRoutes,
      ...debuggerRoutes,
      ...observabilityRoutes,
      ...uiRoutes,
    ],
    maxBodyBytes: engine.config.MAX_BODY_BYTES,
    authenticate: createAuthenticator(engine.orgs, engine.config.ADMIN_TOKEN),
    context: (principal) => ({ engine, principal }),
    isPublic: (_route, path) => isPublic(path),
    logger,
  });
}
export type Api = ReturnType<typeof createApi>;
