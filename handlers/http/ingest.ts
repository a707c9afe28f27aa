// Lambda entry for the ingest routes (events, signed webhooks, email tracking) behind API Gateway HTTP API (payload
// 2.0). Built from the lean ingest services, not the whole engine, so cold starts stay short.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../src/config/config.js';
import { fromApiGateway, toApiGateway } from '../../src/http/apigw.js';
import { createIngestApi } from '../../src/http/ingest-routes.js';
import { createIngestServices } from '../../src/ingest-app.js';
import { createLogger } from '../../src/observability/logger.js';

type Api = ReturnType<typeof createIngestApi>;

let api: Promise<Api> | undefined;

/** Built once per container and reused by every invocation; a failed start is retried by the next invocation. */
function apiOnce(): Promise<Api> {
  api ??= (async () => {
    const config = loadConfig();
    const logger = createLogger(config.LOG_LEVEL);
    return createIngestApi(await createIngestServices(config, logger));
  })().catch((error: unknown) => {
    api = undefined;
    throw error;
  });
  return api;
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  return toApiGateway(await (await apiOnce())(fromApiGateway(event)));
}
