// One harness for integration tests: an engine on a random prefix of a real Redis, its API, and an organization.
import { randomBytes } from 'node:crypto';
import { createEngine, type Engine, type EngineOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createApi, type Api } from '../../src/http/api.js';
import type { ApiResponse } from '../../src/http/types.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface Harness {
  engine: Engine;
  api: Api;
  prefix: string;
  call(method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse & { body: any }>;
  createOrg(name?: string, settings?: Record<string, unknown>): Promise<{ orgId: string; apiKey: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions extends EngineOptions {
  /** Environment over the test defaults; `QUEUE_PREFIX` starts an engine on another harness's data. */
  env?: Record<string, string>;
  workers?: boolean;
  /** The engine's and the API's logger; by default one at LOG_LEVEL (silent unless `env` says otherwise). */
  logger?: Logger;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const prefix = options.env?.QUEUE_PREFIX ?? `t${randomBytes(5).toString('hex')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    JOB_BACKOFF_MS: '50',
    WORKER_CONCURRENCY: '10',
    ...options.env,
  });
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const engine = await createEngine(config, logger, options);
  if (options.workers !== false) await engine.startWorkers();
  const api = createApi(engine, logger);

  const call: Harness['call'] = async (method, path, body, token) => {
    const [pathname, search = ''] = path.split('?');
    const response = await api({
      method,
      path: pathname!,
      query: Object.fromEntries(new URLSearchParams(search)),
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return response as ApiResponse & { body: any };
  };

  return {
    engine,
    api,
    prefix,
    call,
    async createOrg(name = 'Test Gym', settings: Record<string, unknown> = {}) {
      // Open all day unless a test says otherwise, so messages are not held by quiet hours whenever tests run.
      const body = { name, sendWindow: { start: '00:00', end: '00:00' }, ...settings };
      const response = await call('POST', '/v1/orgs', body, ADMIN_TOKEN);
      if (response.status !== 201) throw new Error(`could not create org: ${JSON.stringify(response.body)}`);
      return { orgId: response.body.org.id, apiKey: response.body.apiKey };
    },
    async close() {
      const redis = engine.redis;
      await engine.close();
      const { Redis } = await import('ioredis');
      const cleaner = new Redis(config.REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await cleaner.del(...keys);
      } while (cursor !== '0');
      await cleaner.quit();
      void redis;
    },
  };
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** The nurture workflow of DESIGN.md, with a wait short enough for a test. */
export function nurtureDefinition(wait = 'PT0.2S') {
  return {
    name: 'New lead nurture',
    nodes: [
      {
        id: 'start',
        type: 'trigger',
        event: 'new_lead',
        filter: { field: 'lead.source', op: 'in', value: ['instagram', 'facebook'] },
      },
      {
        id: 'welcome',
        type: 'send_email',
        params: { subject: 'Welcome, {{ lead.firstName }}', body: 'Your first class is free.' },
      },
      { id: 'pause', type: 'wait', params: { duration: wait } },
      {
        id: 'opened',
        type: 'branch',
        params: { condition: { field: 'lead.tags', op: 'contains', value: 'opened-welcome' } },
      },
      {
        id: 'nudge',
        type: 'send_sms',
        params: { body: 'Hi {{ lead.firstName }}, your free class is waiting' },
      },
      { id: 'tag', type: 'add_tag', params: { tag: 'nurtured' } },
    ],
    edges: [
      { from: 'start', to: 'welcome' },
      { from: 'welcome', to: 'pause' },
      { from: 'pause', to: 'opened' },
      { from: 'opened', to: 'tag', when: 'true' },
      { from: 'opened', to: 'nudge', when: 'false' },
      { from: 'nudge', to: 'tag' },
    ],
  };
}
