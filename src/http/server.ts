// The local HTTP server: node:http in front of the same API the Lambda handler serves.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { HttpError } from '../shared/errors.js';
import type { Api } from './api.js';
import { errorResponse } from './router.js';
import type { ApiRequest, ApiResponse } from './types.js';

function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * The URL of a request target. An origin-form target (`/path?query`) is read as a path on this server, so one that
 * starts with `//` stays a path rather than naming a host; an absolute-form one (`http://host/path`, sent to proxies)
 * keeps its path. A target that is neither is a 400.
 */
function targetUrl(target: string): URL {
  try {
    return target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target);
  } catch {
    throw new HttpError(400, 'invalid_url', 'the request target is not a valid URL path');
  }
}

export function toApiRequest(request: IncomingMessage, body: string): ApiRequest {
  const url = targetUrl(request.url ?? '/');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: request.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    rawQuery: url.search.replace(/^\?/, ''),
    headers,
    body,
  };
}

export function encode(response: ApiResponse): {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body is base64 of binary content (API Gateway's `isBase64Encoded`). */
  isBase64Encoded?: true;
} {
  if (Buffer.isBuffer(response.body)) {
    return {
      status: response.status,
      headers: { 'content-type': 'application/octet-stream', ...response.headers },
      body: response.body.toString('base64'),
      isBase64Encoded: true,
    };
  }
  const isText = typeof response.body === 'string';
  return {
    status: response.status,
    headers: {
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
      ...response.headers,
    },
    body:
      response.body === undefined ? '' : isText ? (response.body as string) : JSON.stringify(response.body),
  };
}

async function answer(api: Api, request: IncomingMessage, body: string): Promise<ApiResponse> {
  let apiRequest: ApiRequest;
  try {
    apiRequest = toApiRequest(request, body);
  } catch (error) {
    if (error instanceof HttpError) return errorResponse(error);
    throw error;
  }
  return api(apiRequest);
}

export function createHttpServer(api: Api, maxBodyBytes: number): Server {
  return createServer((request, response) => {
    readBody(request, maxBodyBytes)
      .then(async (body) => {
        const result =
          body === undefined
            ? {
                status: 413,
                body: {
                  error: { code: 'payload_too_large', message: `request body exceeds ${maxBodyBytes} bytes` },
                },
              }
            : await answer(api, request, body);
        const encoded = encode(result);
        response
          .writeHead(encoded.status, encoded.headers)
          .end(encoded.isBase64Encoded ? Buffer.from(encoded.body, 'base64') : encoded.body);
      })
      .catch(() => response.writeHead(400).end());
  });
}
