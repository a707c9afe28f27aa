// webhook_call: a real HTTP request with a timeout, refused for private, loopback, link-local and metadata addresses.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { NonRetryableError, RetryableError, RetryAfterError } from '../shared/errors.js';
import { createAddressPolicy, guardedLookup } from './net-guard.js';
import { render } from './templates.js';
import type { ActionHandler } from './types.js';

/** Response bodies are kept up to this size in the execution's context. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function createWebhookAction({
  allowlist,
}: {
  allowlist: readonly string[];
}): ActionHandler<'webhook_call'> {
  const policy = createAddressPolicy(allowlist);

  return async (node, context) => {
    const scope = { lead: context.lead ?? {}, event: context.event, nodes: context.nodes };
    const url = new URL(render(node.params.url, scope, `${node.id}.params.url`));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !policy.hostAllowed(host)) {
      const reason = policy.refusal(host);
      if (reason) throw new NonRetryableError(`webhook_call refused: ${reason}`, { code: 'address_refused' });
    }
    const body = node.params.body === undefined ? undefined : JSON.stringify(node.params.body);
    const headers: Record<string, string> = {
      'user-agent': 'AtlasAutomations/1.0',
      'idempotency-key': context.idempotencyKey,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...node.params.headers,
    };
    const response = await send(
      url,
      node.params.method,
      headers,
      body,
      node.params.timeoutMs,
      guardedLookup(policy, host),
    );
    const output = { status: response.status, body: parseBody(response) };
    if (response.status >= 200 && response.status < 300) return { output };
    throw classify(response);
  };
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
  lookup: ReturnType<typeof guardedLookup>,
): Promise<HttpResponse> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // The timeout bounds the whole exchange, not only idle time: a server dripping bytes cannot hold a worker.
    const deadline = setTimeout(
      () =>
        request.destroy(new RetryableError(`webhook timed out after ${timeoutMs} ms`, { code: 'timeout' })),
      timeoutMs,
    );
    const request = client.request(url, { method, headers, lookup, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        else response.destroy(); // the rest is not read: the body is kept only up to the limit
      });
      response.on('close', () => {
        clearTimeout(deadline);
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    request.on('timeout', () =>
      request.destroy(new RetryableError(`webhook timed out after ${timeoutMs} ms`, { code: 'timeout' })),
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      if (error instanceof RetryableError) return reject(error);
      if (error.code === 'EADDRREFUSED') {
        return reject(
          new NonRetryableError(`webhook_call refused: ${error.message}`, {
            code: 'address_refused',
            cause: error,
          }),
        );
      }
      reject(
        new RetryableError(`webhook request failed: ${error.message}`, {
          code: error.code ?? 'network_error',
          cause: error,
        }),
      );
    });
    request.end(body);
  });
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
    const delayMs = retryAfterMs(response.headers['retry-after']) ?? 30_000;
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

/** Retry-After as seconds (`120`) or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
