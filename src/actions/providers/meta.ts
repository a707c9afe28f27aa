// Meta Conversions API: one server event per step, `event_id` = the step's idempotency key so Meta deduplicates.
import type { OrgSettings } from '../../orgs/settings.js';
import { RetryAfterError } from '../../shared/errors.js';
import { jsonBody, providerError, type HttpClient } from '../http-client.js';
import type { IntegrationProvider } from '../types.js';

export type MetaSettings = NonNullable<OrgSettings['meta']>;

export interface MetaProviderOptions {
  http: HttpClient;
  /** @defaultValue https://graph.facebook.com */
  baseUrl: string;
  apiVersion: string;
  settings: MetaSettings;
}

/** Graph API throttling codes: answered with 400 or 403, but they mean "come back later". */
const throttlingCodes = new Set([4, 17, 32, 613, 80004]);
const THROTTLED_RETRY_MS = 60_000;

interface GraphError {
  error?: { message?: string; type?: string; code?: number; error_subcode?: number; fbtrace_id?: string };
}

export function createMetaProvider({
  http,
  baseUrl,
  apiVersion,
  settings,
}: MetaProviderOptions): IntegrationProvider {
  const url = new URL(
    `${apiVersion}/${settings.pixelId}/events`,
    baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
  );
  return {
    name: 'meta',
    async call(request) {
      const { eventName, eventTime, userData, customData } = request.payload as {
        eventName: string;
        eventTime: number;
        userData: Record<string, unknown>;
        customData?: Record<string, unknown>;
      };
      const event = {
        event_name: eventName,
        event_time: eventTime,
        event_id: request.idempotencyKey,
        action_source: settings.actionSource,
        user_data: userData,
        ...(customData && Object.keys(customData).length > 0 ? { custom_data: customData } : {}),
      };
      // The token travels in the body, not the URL, so it never lands in access logs.
      const response = await http.send({
        method: 'POST',
        url,
        provider: 'meta',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          data: [event],
          access_token: settings.accessToken,
          ...(settings.testEventCode ? { test_event_code: settings.testEventCode } : {}),
        }),
      });
      const body = jsonBody(response) as
        (GraphError & { events_received?: number; fbtrace_id?: string }) | undefined;
      if (response.status >= 200 && response.status < 300) {
        return {
          providerId: request.idempotencyKey,
          sandbox: false,
          response: { eventsReceived: body?.events_received ?? null, fbtraceId: body?.fbtrace_id ?? null },
        };
      }
      const code = body?.error?.code;
      if (code !== undefined && throttlingCodes.has(code)) {
        throw new RetryAfterError(
          `meta answered ${response.status}: ${body?.error?.message} (code ${code})`,
          THROTTLED_RETRY_MS,
          {
            code: 'rate_limited',
            context: { provider: 'meta', status: response.status, providerCode: code },
          },
        );
      }
      throw providerError('meta', response, {
        code:
          code !== undefined
            ? `${code}${body?.error?.error_subcode ? `_${body.error.error_subcode}` : ''}`
            : undefined,
        message: body?.error?.message,
      });
    },
  };
}
