// A fake of the CRM's REST API (the contract in src/actions/providers/crm.ts): bearer token, JSON bodies, an
// Idempotency-Key on every write; keeps the leads it was told about.
import { bearerOf, startFakeApi, type FakeApi } from './fake-api.js';

export const CRM_TOKEN = 'crm-api-token-secret';

export interface FakeCrm extends FakeApi {
  leads: Map<string, { fields: Record<string, unknown>; tags: string[]; status?: string }>;
}

export async function startFakeCrm(): Promise<FakeCrm> {
  const leads: FakeCrm['leads'] = new Map();
  const api = await startFakeApi((request) => {
    if (bearerOf(request.headers) !== CRM_TOKEN)
      return { status: 401, body: { error: { code: 'unauthorized', message: 'bad token' } } };
    if (!request.headers['idempotency-key'])
      return {
        status: 400,
        body: { error: { code: 'idempotency_key_missing', message: 'send Idempotency-Key' } },
      };
    const match = /^\/leads\/([^/]+)(\/tags|\/status)?$/.exec(request.path);
    if (!match) return { status: 404, body: { error: { code: 'not_found', message: request.path } } };
    const id = decodeURIComponent(match[1]!);
    const lead = leads.get(id) ?? { fields: {}, tags: [] };
    leads.set(id, lead);
    const body = JSON.parse(request.body || '{}') as {
      fields?: Record<string, unknown>;
      tag?: string;
      status?: string;
    };
    if (request.method === 'PATCH' && !match[2] && body.fields) Object.assign(lead.fields, body.fields);
    else if (request.method === 'POST' && match[2] === '/tags' && body.tag) {
      if (!lead.tags.includes(body.tag)) lead.tags.push(body.tag);
    } else if (request.method === 'PUT' && match[2] === '/status' && body.status) lead.status = body.status;
    else return { status: 422, body: { error: { code: 'invalid_request', message: 'unexpected body' } } };
    return { status: 200, body: { id, ...lead } };
  });
  return Object.assign(api, { leads });
}
