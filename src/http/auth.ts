// Who is calling: the admin token or an organization's API key. Shared by the management API and the ingest API.
import type { OrgStore } from '../orgs/store.js';
import { secretsEqual } from '../orgs/store.js';
import { HttpError } from '../shared/errors.js';
import type { ApiRequest } from './types.js';

export type Principal = { kind: 'admin' } | { kind: 'org'; orgId: string };

export interface AuthContext {
  principal(): Promise<Principal>;
}

export function createAuthenticator(orgs: Pick<OrgStore, 'authenticate'>, adminToken: string | undefined) {
  return async function authenticate(request: ApiRequest): Promise<Principal> {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <API key>');
    const token = match[1]!;
    // Organization keys start with atl_ (an admin token may not): they skip the admin comparison.
    if (adminToken && !token.startsWith('atl_') && secretsEqual(token, adminToken)) return { kind: 'admin' };
    const orgId = await orgs.authenticate(token);
    if (!orgId) throw new HttpError(401, 'unauthorized', 'unknown API key');
    return { kind: 'org', orgId };
  };
}

export async function orgOf(context: AuthContext): Promise<string> {
  const principal = await context.principal();
  if (principal.kind !== 'org')
    throw new HttpError(403, 'forbidden', 'this endpoint needs an organization API key');
  return principal.orgId;
}

/** The request body as JSON; an empty or malformed body is a 400. */
export function jsonBody(request: ApiRequest): unknown {
  if (request.body.trim() === '')
    throw new HttpError(400, 'invalid_json', 'request body is empty; send a JSON object');
  try {
    return JSON.parse(request.body) as unknown;
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
}
