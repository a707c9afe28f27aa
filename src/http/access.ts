// Who is calling and what they may see: the request context every route receives, and the checks routes share.
import type { Engine } from '../app.js';
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
