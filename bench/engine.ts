// The engine under test: a fresh instance on its own key prefix, an organization, and the published 3-node workflow.
import { randomBytes } from 'node:crypto';
import type { ExecutionState } from '../src/engine/executions.js';
import { createEngine, type Engine } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { executionIdFor } from '../src/engine/start.js';
import { createApi, type Api } from '../src/http/api.js';
import type { ApiResponse } from '../src/http/types.js';
import { createLogger } from '../src/observability/logger.js';
import type { BenchOptions } from './options.js';
import type { BenchEvent } from './bench-event.js';
import type { EngineTarget } from './sender.js';

export { benchEvent, type BenchEvent } from './bench-event.js';

/** trigger → branch → add_tag → update_lead. Every bench lead has source "bench", so the branch takes "true". */
export const benchWorkflow = {
  name: 'Bench: branch, tag, update',
  nodes: [
    { id: 'start', type: 'trigger', event: 'new_lead' },
    {
      id: 'check',
      type: 'branch',
      params: { condition: { field: 'lead.source', op: 'eq', value: 'bench' } },
    },
    { id: 'tag', type: 'add_tag', params: { tag: 'benchmarked' } },
    { id: 'update', type: 'update_lead', params: { fields: { stage: 'nurtured' } } },
  ],
  edges: [
    { from: 'start', to: 'check' },
    { from: 'check', to: 'tag', when: 'true' },
    { from: 'check', to: 'update', when: 'false' },
    { from: 'tag', to: 'update' },
  ],
};

/** Nodes each execution runs after its trigger; the unit of "steps" on the engine side. */
export const STEPS_PER_EXECUTION = 3;

export interface EngineUnderTest {
  engine: Engine;
  api: Api;
  orgId: string;
  workflowId: string;
  /** What a sender in another process needs to post this engine's events. */
  target: EngineTarget;
  /** POST /v1/events through the transport-neutral handler; throws unless 202. */
  postEvents(body: BenchEvent | { events: BenchEvent[] }): Promise<ApiResponse>;
  executionId(eventId: string): string;
  /** Executions of the bench workflow counted as completed (the engine's stats hash). */
  completed(): Promise<number>;
  /** Starts the engine's workers. */
  startWorkers(): Promise<void>;
  /** Called with each execution that reaches a final status. */
  onFinished(listener: (state: ExecutionState) => void): void;
  close(): Promise<void>;
}

export async function startEngine(options: BenchOptions, phase: string): Promise<EngineUnderTest> {
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  const prefix = `${options.enginePrefix}-${phase}`;
  const config = loadConfig({
    ...process.env,
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN: adminToken,
    WORKER_CONCURRENCY: String(options.concurrency),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const logger = createLogger(config.LOG_LEVEL);
  const finishedListeners: ((state: ExecutionState) => void)[] = [];
  const engine = await createEngine(config, logger, {
    onExecutionFinished: (state) => finishedListeners.forEach((listener) => listener(state)),
  });
  const api = createApi(engine, logger);

  const call = async (path: string, token: string, body?: unknown): Promise<ApiResponse> =>
    api({
      method: 'POST',
      path,
      query: {},
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? '' : JSON.stringify(body),
    });
  const expect = (response: ApiResponse, status: number, what: string): any => {
    if (response.status !== status)
      throw new Error(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };

  const org = expect(await call('/v1/orgs', adminToken, { name: 'Bench Gym' }), 201, 'create org');
  const apiKey: string = org.apiKey;
  const orgId: string = org.org.id;
  const workflow = expect(await call('/v1/workflows', apiKey, benchWorkflow), 201, 'create workflow');
  const workflowId: string = workflow.id;
  expect(await call(`/v1/workflows/${workflowId}/publish`, apiKey), 200, 'publish workflow');

  return {
    engine,
    api,
    orgId,
    workflowId,
    target: { prefix, apiKey },
    async postEvents(body) {
      const response = await call('/v1/events', apiKey, body);
      expect(response, 202, 'post events');
      return response;
    },
    executionId: (eventId) => executionIdFor(orgId, eventId, workflowId),
    async completed() {
      return Number((await engine.redis.hget(engine.keys.stats(orgId), `${workflowId}:completed`)) ?? 0);
    },
    async startWorkers() {
      await engine.startWorkers();
    },
    onFinished(listener) {
      finishedListeners.push(listener);
    },
    close: () => engine.close(),
  };
}
