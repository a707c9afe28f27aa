// Who is calling and what they may see: the request context every route receives, and the checks routes share.
import type { Engine } from '../app.js';
import type { DeadLetterView } from '../queue/dead-letter.js';
import { HttpError, notFound } from '../shared/errors.js';
import type { Principal } from './auth.js';

export { jsonBody as body, orgOf, type Principal } from './auth.js';

export interface Context {
  engine: Engine;
  principal: () => Promise<Principal>;
}

export async function requireAdmin(context: Context): Promise<void> {
  if ((await context.principal()).kind !== 'admin')
    throw new HttpError(403, 'forbidden', 'this endpoint needs the admin token');
}

/** The organization an admin or org caller may see: an org key sees only its own. */
export async function scopeOf(context: Context): Promise<string | undefined> {
  const principal = await context.principal();
  return principal.kind === 'org' ? principal.orgId : undefined;
}

export async function ownExecution(context: Context, orgId: string, executionId: string) {
  const state = await context.engine.executions.load(executionId);
  if (!state || state.orgId !== orgId) throw notFound(`execution ${executionId}`);
  return state;
}

export async function ownDeadLetter(context: Context, id: string) {
  const scope = await scopeOf(context);
  const entry = await context.engine.deadLetter.get(id);
  if (!entry || (scope !== undefined && entry.orgId !== scope)) throw notFound(`dead-letter entry ${id}`);
  return entry;
}

/** The audit trail's name for the caller. */
export async function actorOf(context: Context): Promise<'admin' | 'org-api-key'> {
  return (await context.principal()).kind === 'admin' ? 'admin' : 'org-api-key';
}

/**
 * Retries or discards one dead-letter entry the caller may see; returns the entry, for `auditDeadLetterAction`.
 * Unknown and other organizations' ids are answered 404.
 */
export async function actOnDeadLetter(context: Context, id: string, action: 'retry' | 'discard') {
  const entry = await ownDeadLetter(context, id);
  if (action === 'retry') await context.engine.deadLetter.retry(entry);
  else await context.engine.deadLetter.discard(entry);
  return entry;
}

/** Records a dead-letter retry or discard in the organization's audit trail, with the execution it belongs to. */
export async function auditDeadLetterAction(
  context: Context,
  entry: Pick<DeadLetterView, 'orgId' | 'executionId'>,
  id: string,
  action: 'retry' | 'discard',
  actor: Awaited<ReturnType<typeof actorOf>>,
  detail: Record<string, unknown> = {},
): Promise<void> {
  const full = { ...detail, ...(entry.executionId ? { executionId: entry.executionId } : {}) };
  await context.engine.audit.record(entry.orgId, {
    actor,
    action: `dead-letter.${action}`,
    target: id,
    ...(Object.keys(full).length > 0 ? { detail: full } : {}),
  });
}
