// Lambda entry for API Gateway HTTP API (payload format 2.0): translate the event, call the shared API, translate back.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createEngine, type Engine } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { fromApiGateway, toApiGateway } from '../../src/http/apigw.js';
import { createApi, type Api } from '../../src/http/api.js';
import { createLogger } from '../../src/observability/logger.js';

let built: Promise<{ api: Api; engine: Engine }> | undefined;

/** Built once per container and reused by every invocation; a failed start is retried by the next invocation. */
function apiOnce(): Promise<{ api: Api; engine: Engine }> {
  built ??= (async () => {
    const config = loadConfig();
    const logger = createLogger(config.LOG_LEVEL);
    const engine = await createEngine(config, logger);
    return { api: createApi(engine, logger), engine };
  })().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const { api, engine } = await apiOnce();
  const response = await api(fromApiGateway(event));
  // Lambda freezes the container after the answer: send the engine events a request caused (a cancel) first.
  await engine.engineEvents?.flush();
  return toApiGateway(response);
}
