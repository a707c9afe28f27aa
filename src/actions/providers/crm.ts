// The CRM's own REST API, for organizations that configure one: lead field updates, tags and status changes.
// Contract: PATCH /leads/{id} {"fields"}, POST /leads/{id}/tags {"tag"}, PUT /leads/{id}/status {"status"};
// bearer token; each request carries the step's Idempotency-Key.
import type { OrgSettings } from '../../orgs/settings.js';
import { jsonBody, providerError, type HttpClient } from '../http-client.js';

export type CrmSettings = NonNullable<OrgSettings['crm']>;

export interface CrmApi {
  readonly name: string;
  updateLead(leadId: string, fields: Record<string, unknown>, idempotencyKey: string): Promise<void>;
  addTag(leadId: string, tag: string, idempotencyKey: string): Promise<void>;
  changeStatus(leadId: string, status: string, idempotencyKey: string): Promise<void>;
}

export function createCrmApi({ http, settings }: { http: HttpClient; settings: CrmSettings }): CrmApi {
  const root = settings.baseUrl.endsWith('/') ? settings.baseUrl : `${settings.baseUrl}/`;
  const call = async (method: string, path: string, body: unknown, idempotencyKey: string) => {
    const response = await http.send({
      method,
      url: new URL(path, root),
      provider: 'crm',
      // The base URL is the organization's choice: private and metadata addresses are refused.
      guarded: true,
      headers: {
        authorization: `Bearer ${settings.apiToken ?? ''}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
      },
      body: JSON.stringify(body),
    });
    if (response.status >= 200 && response.status < 300) return;
    const error = jsonBody(response) as
      { error?: { code?: string; message?: string } | string; message?: string } | undefined;
    const detail = typeof error?.error === 'object' ? error.error : undefined;
    throw providerError('crm', response, {
      code: detail?.code,
      message: detail?.message ?? (typeof error?.error === 'string' ? error.error : error?.message),
    });
  };
  const lead = (id: string) => `leads/${encodeURIComponent(id)}`;
  return {
    name: 'crm',
    updateLead: (leadId, fields, key) => call('PATCH', lead(leadId), { fields }, key),
    addTag: (leadId, tag, key) => call('POST', `${lead(leadId)}/tags`, { tag }, key),
    changeStatus: (leadId, status, key) => call('PUT', `${lead(leadId)}/status`, { status }, key),
  };
}
