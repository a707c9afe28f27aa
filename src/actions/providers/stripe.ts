// Stripe customers API: form-encoded, the step's idempotency key in `Idempotency-Key`, so a resend creates nothing new.
import type { OrgSettings } from '../../orgs/settings.js';
import { jsonBody, providerError, type HttpClient } from '../http-client.js';
import type { IntegrationProvider } from '../types.js';

export type StripeSettings = NonNullable<OrgSettings['stripe']>;

export interface StripeProviderOptions {
  http: HttpClient;
  /** @defaultValue https://api.stripe.com */
  baseUrl: string;
  settings: StripeSettings;
}

/** Stripe's form encoding: nested objects as `metadata[key]=value`; undefined and null left out. */
export function stripeForm(fields: Record<string, unknown>): URLSearchParams {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === '') continue;
    if (typeof value === 'object') {
      for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
        if (inner !== undefined && inner !== null) form.append(`${name}[${key}]`, String(inner));
      }
    } else form.append(name, String(value));
  }
  return form;
}

export function createStripeProvider({
  http,
  baseUrl,
  settings,
}: StripeProviderOptions): IntegrationProvider {
  const url = new URL('v1/customers', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  return {
    name: 'stripe',
    async call(request) {
      const response = await http.send({
        method: 'POST',
        url,
        provider: 'stripe',
        headers: {
          authorization: `Bearer ${settings.secretKey ?? ''}`,
          'content-type': 'application/x-www-form-urlencoded',
          'idempotency-key': request.idempotencyKey,
        },
        body: stripeForm(request.payload).toString(),
      });
      const body = jsonBody(response) as
        { id?: string; error?: { type?: string; code?: string; message?: string } } | undefined;
      if (response.status >= 200 && response.status < 300 && body?.id) {
        return {
          providerId: body.id,
          sandbox: false,
          response: { replayed: response.headers['idempotent-replayed'] === 'true' },
        };
      }
      throw providerError('stripe', response, {
        code: body?.error?.code ?? body?.error?.type,
        message: body?.error?.message,
      });
    },
  };
}
