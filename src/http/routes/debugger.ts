// What the visual debugger needs beyond the core API: execution search, retry, replay, the audit trail, bulk
// dead-letter actions. Every action is recorded in the organization's audit trail.
import { z } from 'zod';
import type { ExecutionState } from '../../engine/executions.js';
import type { DeadLetterView } from '../../queue/dead-letter.js';
import { HttpError } from '../../shared/errors.js';
import {
  actOnDeadLetter,
  actorOf,
  auditDeadLetterAction,
  body,
  orgOf,
  ownExecution,
  scopeOf,
  type Context,
} from '../access.js';
import { json, parseWith, type Route } from '../router.js';

const SearchQuery = z
  .object({
    leadId: z.string().min(1).max(200).optional(),
    email: z.string().min(3).max(320).optional(),
    phone: z.string().min(3).max(40).optional(),
    workflowId: z.string().min(1).max(100).optional(),
    status: z.enum(['running', 'waiting', 'completed', 'failed', 'cancelled', 'exited']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .refine((q) => [q.leadId, q.email, q.phone].filter(Boolean).length <= 1, {
    message: 'search by one of leadId, email or phone',
    path: ['leadId'],
  });

const ReplayInput = z.strictObject({ fromNode: z.string().min(1).max(64) });

const BulkInput = z.strictObject({
  action: z.enum(['retry', 'discard']),
  ids: z.array(z.string().min(1).max(300)).min(1).max(500),
});

const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Admin only: an organization's trail instead of the admin one. */
  orgId: z.string().min(1).max(100).optional(),
});

/** Newest first, across the organization's workflows (or one), optionally one status. */
async function recentExecutions(
  context: Context,
  orgId: string,
  query: z.output<typeof SearchQuery>,
): Promise<ExecutionState[]> {
  const { engine } = context;
  let ids: string[];
  let leadId = query.leadId;
  if (query.email) leadId = await engine.leadIndex.lookup(orgId, 'email', query.email);
  if (query.phone) leadId = await engine.leadIndex.lookup(orgId, 'phone', query.phone);
  const byLead = Boolean(query.leadId ?? query.email ?? query.phone);
  if (byLead) {
    if (!leadId) return [];
    ids = await engine.leadIndex.executions(orgId, leadId, 1000);
  } else {
    const workflowIds = query.workflowId
      ? [query.workflowId]
      : (await engine.workflows.list(orgId)).map((workflow) => workflow.id);
    const perWorkflow = await Promise.all(
      workflowIds.map((id) =>
        engine.redis.zrevrange(engine.keys.executionsOf(orgId, id), 0, query.limit - 1, 'WITHSCORES'),
      ),
    );
    const scored: [string, number][] = [];
    for (const flat of perWorkflow)
      for (let i = 0; i < flat.length; i += 2) scored.push([flat[i]!, Number(flat[i + 1])]);
    ids = scored.sort((a, b) => b[1] - a[1]).map(([id]) => id);
  }
  const states = await Promise.all(ids.map((id) => engine.executions.load(id)));
  if (byLead && leadId) {
    const gone = ids.filter((_, i) => states[i] === undefined);
    await engine.leadIndex.forget(orgId, leadId, gone);
  }
  return states
    .filter((state): state is ExecutionState => state !== undefined && state.orgId === orgId)
    .filter((state) => !query.workflowId || state.workflowId === query.workflowId)
    .filter((state) => !query.status || state.status === query.status)
    .slice(0, query.limit);
}

export const debuggerRoutes: Route<Context>[] = [
  {
    method: 'GET',
    pattern: '/v1/executions',
    async handle(request, _params, context) {
      const orgId = await orgOf(context);
      const query = parseWith(SearchQuery, request.query);
      return json(200, { executions: await recentExecutions(context, orgId, query) });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/executions/:id/retry',
    async handle(_request, { id }, context) {
      const orgId = await orgOf(context);
      await ownExecution(context, orgId, id!);
      const { engine } = context;
      const entries = (await engine.deadLetter.list(orgId, 1000)).filter((entry) => entry.executionId === id);
      if (entries.length === 0) {
        throw new HttpError(
          409,
          'conflict',
          `execution ${id} has no failed step waiting in the dead-letter queue`,
        );
      }
      // Each entry is checked first, so a refusal (409) comes before any is retried; one that fails later (or is
      // refused while the cleanup job records its noted failure, which is rare) still leaves the ones retried before
      // it in the audit trail.
      for (const entry of entries) await engine.deadLetter.ensureFinished(entry);
      const retried: typeof entries = [];
      try {
        for (const entry of entries) {
          await engine.deadLetter.retry(entry);
          retried.push(entry);
        }
      } finally {
        if (retried.length > 0) {
          await engine.audit.record(orgId, {
            actor: await actorOf(context),
            action: 'execution.retry',
            target: id!,
            detail: {
              steps: retried.map((entry) => entry.name),
              deadLetterIds: retried.map((entry) => entry.id),
            },
          });
        }
      }
      return json(202, { id, retried: entries.map((entry) => ({ id: entry.id, nodeId: entry.name })) });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/executions/:id/replay',
    async handle(request, { id }, context) {
      const orgId = await orgOf(context);
      const { fromNode } = parseWith(ReplayInput, body(request));
      const replayed = await context.engine.replay(orgId, id!, fromNode);
      await context.engine.audit.record(orgId, {
        actor: await actorOf(context),
        action: 'execution.replay',
        target: id!,
        detail: { fromNode, newExecutionId: replayed.id },
      });
      return json(201, replayed);
    },
  },
  {
    method: 'GET',
    pattern: '/v1/audit',
    async handle(request, _params, context) {
      const { limit, orgId } = parseWith(AuditQuery, request.query);
      const scope = await scopeOf(context);
      if (scope !== undefined && orgId !== undefined && orgId !== scope)
        throw new HttpError(404, 'not_found', `organization ${orgId} not found`);
      return json(200, { entries: await context.engine.audit.list(scope ?? orgId, limit) });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/dead-letter/bulk',
    async handle(request, _params, context) {
      const { action, ids } = parseWith(BulkInput, body(request));
      const actor = await actorOf(context);
      const results: { id: string; ok: boolean; error?: { code: string; message: string } }[] = [];
      for (const id of ids) {
        let entry: DeadLetterView;
        try {
          entry = await actOnDeadLetter(context, id, action);
        } catch (error) {
          // An engine failure is logged, not shown: its message may be a Redis error's raw text.
          if (!(error instanceof HttpError))
            context.engine.logger.error({ err: error, action, id }, 'bulk dead-letter action failed');
          const reported =
            error instanceof HttpError
              ? { code: error.code, message: error.message }
              : { code: 'internal_error', message: `the engine failed to ${action} this entry` };
          results.push({ id, ok: false, error: reported });
          continue;
        }
        await auditDeadLetterAction(context, entry, id, action, actor, { bulk: true });
        results.push({ id, ok: true });
      }
      return json(200, { action, results });
    },
  },
];
