// webhook_call: a signed HTTP request with a timeout, refused for private, loopback, link-local and metadata addresses;
// the response (status and parsed body) becomes the node's output, `nodes.<id>.body` in later templates.
import { NonRetryableError, RetryableError, RetryAfterError } from '../shared/errors.js';
import type { Breakers } from './breakers.js';
import { DEFAULT_RETRY_AFTER_MS, retryAfterMs, type HttpClient, type HttpResponse } from './http-client.js';
import { GENERIC_SIGNATURE_HEADER, signGeneric } from '../webhooks/generic.js';
import { scopeOf } from './messaging.js';
import { render, type TemplateScope } from './templates.js';
import type { ActionHandler, IntegrationProvider } from './types.js';

export { retryAfterMs, type HttpResponse };

/** Response bodies are kept up to this size in the execution's context. */
const MAX_WEBHOOK_RESPONSE_BYTES = 64 * 1024;

export interface WebhookDeps {
  http: HttpClient;
  /** Per organization and target origin, so one failing endpoint (or tenant) does not hold back others. */
  breakers?: Breakers;
  /** Where the call is recorded instead of sent in test mode. */
  sandbox?: IntegrationProvider;
}

/** Renders every string inside a JSON value (keys stay as written). */
function renderDeep(value: unknown, scope: TemplateScope, field: string): unknown {
  if (typeof value === 'string') return render(value, scope, field);
  if (Array.isArray(value)) return value.map((item, i) => renderDeep(item, scope, `${field}.${i}`));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, renderDeep(inner, scope, `${field}.${key}`)]),
    );
  return value;
}

export function createWebhookAction({ http, breakers, sandbox }: WebhookDeps): ActionHandler<'webhook_call'> {
  return async (node, context) => {
    const scope = scopeOf(context);
    const url = new URL(render(node.params.url, scope, `${node.id}.params.url`));
    const body =
      node.params.body === undefined
        ? undefined
        : JSON.stringify(renderDeep(node.params.body, scope, `${node.id}.params.body`));
    const headers: Record<string, string> = {
      'idempotency-key': context.idempotencyKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(renderDeep(node.params.headers ?? {}, scope, `${node.id}.params.headers`) as Record<
        string,
        string
      >),
    };
    const secret = context.settings?.webhooks?.signingSecret;
    // Signed as the `generic` inbound webhooks are (X-Atlas-Signature), so one verifier serves both directions.
    if (secret)
      headers[GENERIC_SIGNATURE_HEADER] = signGeneric(secret, Math.floor(Date.now() / 1000), body ?? '');

    if (context.testMode && sandbox) {
      const recorded = await sandbox.call({
        kind: 'webhook_call',
        orgId: context.orgId,
        executionId: context.executionId,
        nodeId: node.id,
        idempotencyKey: context.idempotencyKey,
        payload: { method: node.params.method, url: url.toString(), body: body ?? null, signed: !!secret },
      });
      return {
        providerId: recorded.providerId,
        output: { status: null, body: null, sandbox: true, testMode: true },
        note: 'test mode: recorded in the sandbox outbox, not sent',
      };
    }

    // A 5xx fails inside the breaker's call, so it counts against the endpoint's health like a timeout does.
    const call = async () => {
      const answer = await http.send({
        method: node.params.method,
        url,
        headers,
        ...(body === undefined ? {} : { body }),
        timeoutMs: node.params.timeoutMs,
        guarded: true,
        maxResponseBytes: MAX_WEBHOOK_RESPONSE_BYTES,
        provider: 'webhook_call',
      });
      if (answer.status >= 500) throw classify(answer);
      return answer;
    };
    const breaker = { orgId: context.orgId, endpoint: `webhook:${url.origin}` };
    const response = await (breakers ? breakers.run(breaker, call) : call());
    const output = {
      status: response.status,
      body: parseBody(response),
      ...(secret ? { signed: true } : {}),
    };
    if (response.status >= 200 && response.status < 300) return { output };
    throw classify(response);
  };
}

function parseBody(response: HttpResponse): unknown {
  const type = String(response.headers['content-type'] ?? '');
  if (type.includes('json')) {
    try {
      return JSON.parse(response.body) as unknown;
    } catch {
      return response.body;
    }
  }
  return response.body;
}

/** 4xx other than 408 and 429 will not get better by retrying; 429 says when to come back; 408 and 5xx may pass. */
export function classify(response: HttpResponse): Error {
  const message = `webhook answered ${response.status}`;
  const context = { status: response.status, body: response.body.slice(0, 500) };
  if (response.status === 429) {
    const delayMs = retryAfterMs(response.headers['retry-after']) ?? DEFAULT_RETRY_AFTER_MS;
    return new RetryAfterError(message, delayMs, { code: 'rate_limited', context });
  }
  if (response.status >= 300 && response.status < 400) {
    return new NonRetryableError(`${message}: redirects are not followed`, {
      code: 'redirect_not_followed',
      context,
    });
  }
  if (response.status >= 400 && response.status < 500 && response.status !== 408) {
    return new NonRetryableError(message, { code: `http_${response.status}`, context });
  }
  return new RetryableError(message, { code: `http_${response.status}`, context });
}
