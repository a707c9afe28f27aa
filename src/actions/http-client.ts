// The HTTP client every provider uses: keep-alive, a timeout per request, the outbound address policy for URLs an
// organization chose, and one mapping of provider answers to the engine's errors (retry, delay, or give up).
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { AtlasError, NonRetryableError, RetryableError, RetryAfterError } from '../shared/errors.js';
import { createAddressPolicy, guardedLookup } from './net-guard.js';

/** Response bodies are kept up to this size. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/** The shortest delay a provider's Retry-After can ask for. */
const MIN_RETRY_AFTER_MS = 1000;

/** How long to wait after a 429 that does not say. */
export const DEFAULT_RETRY_AFTER_MS = 30_000;

export interface HttpRequest {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string;
  /** @defaultValue the client's timeout */
  timeoutMs?: number;
  /**
   * Apply the outbound address policy: refuse private, loopback, link-local and metadata addresses unless the
   * allowlist admits them. On for every URL an organization or a workflow chose; off for operator-set base URLs.
   */
  guarded?: boolean;
  /** Response bytes kept; the rest is not read. @defaultValue 256 KiB */
  maxResponseBytes?: number;
  /** Names the provider in error messages. @defaultValue the host */
  provider?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpClient {
  /** Resolves with any HTTP status; rejects with RetryableError (network, timeout) or NonRetryableError (refused address). */
  send(request: HttpRequest): Promise<HttpResponse>;
  close(): void;
}

export interface HttpClientOptions {
  /** Hosts, IPs or CIDR ranges a guarded request may reach although they are private. */
  allowlist: readonly string[];
  timeoutMs: number;
}

export function createHttpClient({ allowlist, timeoutMs }: HttpClientOptions): HttpClient {
  const policy = createAddressPolicy(allowlist);
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };

  return {
    send(request) {
      const url = typeof request.url === 'string' ? new URL(request.url) : request.url;
      const provider = request.provider ?? url.hostname;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (request.guarded && isIP(host) && !policy.hostAllowed(host)) {
        const reason = policy.refusal(host);
        if (reason)
          return Promise.reject(
            new NonRetryableError(`${provider} refused: ${reason}`, { code: 'address_refused' }),
          );
      }
      const timeout = request.timeoutMs ?? timeoutMs;
      const secure = url.protocol === 'https:';
      const options: http.RequestOptions = {
        method: request.method,
        headers: { 'user-agent': 'AtlasAutomations/1.0', ...request.headers },
        timeout,
        // A guarded request gets its own socket so the address check runs on every connect.
        agent: request.guarded ? false : secure ? agents.https : agents.http,
        ...(request.guarded ? { lookup: guardedLookup(policy, host) } : {}),
      };
      const maxBytes = request.maxResponseBytes ?? MAX_RESPONSE_BYTES;
      return new Promise<HttpResponse>((resolve, reject) => {
        // The timeout bounds the whole exchange, not only idle time: a server dripping bytes cannot hold a worker.
        const deadline = setTimeout(
          () =>
            outgoing.destroy(
              new RetryableError(`${provider} timed out after ${timeout} ms`, { code: 'timeout' }),
            ),
          timeout,
        );
        const outgoing = (secure ? https : http).request(url, options, (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let truncated = false;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= maxBytes) chunks.push(chunk);
            else {
              truncated = true;
              response.destroy(); // the rest is not read: the body is kept only up to the limit
            }
          });
          response.on('error', () => undefined); // reported by 'close' below
          response.on('close', () => {
            clearTimeout(deadline);
            if (!response.complete && !truncated) {
              return reject(
                new RetryableError(`${provider}: response failed: connection closed early`, {
                  code: 'network_error',
                }),
              );
            }
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        });
        outgoing.on('timeout', () =>
          outgoing.destroy(
            new RetryableError(`${provider} timed out after ${timeout} ms`, { code: 'timeout' }),
          ),
        );
        outgoing.on('error', (error: NodeJS.ErrnoException) => {
          clearTimeout(deadline);
          if (error instanceof AtlasError) return reject(error);
          if (error.code === 'EADDRREFUSED') {
            return reject(
              new NonRetryableError(`${provider} refused: ${error.message}`, {
                code: 'address_refused',
                cause: error,
              }),
            );
          }
          reject(
            new RetryableError(`${provider} request failed: ${error.message}`, {
              code: error.code ?? 'network_error',
              cause: error,
            }),
          );
        });
        outgoing.end(request.body);
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** What a provider said about a failure, read from its error body. */
export interface ProviderFault {
  code?: string | number | undefined;
  message?: string | undefined;
}

/**
 * A provider's non-2xx answer as an engine error. 4xx other than 408 and 429 will not get better by retrying;
 * 429 says when to come back (Retry-After, else 30 s); 408 and 5xx may pass. The error keeps the provider's code
 * and message: code `<provider>_<its code>` (else `http_<status>`), and both in the message and context.
 */
export function providerError(
  provider: string,
  response: HttpResponse,
  fault: ProviderFault = {},
): AtlasError {
  const said = [fault.message, fault.code !== undefined ? `(code ${fault.code})` : undefined]
    .filter(Boolean)
    .join(' ');
  const message = `${provider} answered ${response.status}${said ? `: ${said}` : ''}`;
  const context = {
    provider,
    status: response.status,
    ...(fault.code !== undefined ? { providerCode: fault.code } : {}),
    ...(fault.message ? { providerMessage: fault.message } : {}),
    body: response.body.slice(0, 500),
  };
  if (response.status === 429) {
    const delayMs = retryAfterMs(response.headers['retry-after']) ?? DEFAULT_RETRY_AFTER_MS;
    return new RetryAfterError(message, delayMs, { code: 'rate_limited', context });
  }
  const code =
    fault.code !== undefined
      ? `${provider}_${String(fault.code).replace(/[^A-Za-z0-9_.-]/g, '_')}`
      : `http_${response.status}`;
  if (response.status >= 400 && response.status < 500 && response.status !== 408) {
    return new NonRetryableError(message, { code, context });
  }
  return new RetryableError(message, { code, context });
}

/** Retry-After as seconds (`120`) or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  // At least a second, so `Retry-After: 0` (or a date in the past) cannot spin a worker.
  if (/^\d+$/.test(value)) return Math.max(MIN_RETRY_AFTER_MS, Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(MIN_RETRY_AFTER_MS, at - now);
}

/** The body as JSON, or undefined when it is not JSON. */
export function jsonBody(response: HttpResponse): unknown {
  try {
    return JSON.parse(response.body) as unknown;
  } catch {
    return undefined;
  }
}
