// Lambda entry for API Gateway HTTP API (payload format 2.0): translate the event, call the shared API, translate back.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createEngine } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createApi, type Api } from '../../src/http/api.js';
import { encode } from '../../src/http/server.js';
import { createLogger } from '../../src/observability/logger.js';

let api: Promise<Api> | undefined;

/** Built once per container and reused by every invocation. */
function apiOnce(): Promise<Api> {
  api ??= (async () => {
    const config = loadConfig();
    const logger = createLogger(config.LOG_LEVEL);
    return createApi(await createEngine(config, logger), logger);
  })().catch((error: unknown) => {
    api = undefined; // a failed start (Redis briefly away) is retried by the next invocation
    throw error;
  });
  return api;
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers[name.toLowerCase()] = value;
  const body = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {}))
    if (value !== undefined) query[name] = value;

  const response = await (
    await apiOnce()
  )({ method: event.requestContext.http.method, path: event.rawPath, query, headers, body });
  const encoded = encode(response);
  return { statusCode: encoded.status, headers: encoded.headers, body: encoded.body };
}
