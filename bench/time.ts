// `npm run bench:time`: Redis memory per waiting execution, and the time to find and enrol the leads whose date is
// reached today among many leads (it should follow the number of matches, not the number of leads).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createEngine } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { createApi } from '../src/http/api.js';
import { createLogger } from '../src/observability/logger.js';
import { sweep } from '../src/scheduler/time-triggers.js';

const ADMIN = 'bench-admin-token-0123456789';
const WAITING = Number(process.env.BENCH_WAITING ?? 2000);
const LEAD_COUNTS = (process.env.BENCH_LEADS ?? '10000,100000').split(',').map(Number);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function engineOn(prefix: string) {
  const config = loadConfig({
    NODE_ENV: 'test',
    REDIS_URL: url,
    QUEUE_PREFIX: prefix,
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'silent',
  });
  const logger = createLogger('silent');
  const engine = await createEngine(config, logger);
  const api = createApi(engine, logger);
  const call = async (method: string, path: string, body: unknown, token: string) =>
    (await api({
      method,
      path,
      query: {},
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    })) as {
      status: number;
      body: any;
    };
  return { engine, call };
}

async function drop(probe: Redis, prefix: string) {
  let cursor = '0';
  do {
    const [next, keys] = await probe.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) await probe.unlink(...keys);
  } while (cursor !== '0');
}

const usedMemory = async (probe: Redis) => Number(/used_memory:(\d+)/.exec(await probe.info('memory'))![1]);

async function memoryPerWaitingExecution(probe: Redis) {
  const prefix = `bt${randomBytes(4).toString('hex')}`;
  const { engine, call } = await engineOn(prefix);
  const org = (
    await call('POST', '/v1/orgs', { name: 'Bench', sendWindow: { start: '00:00', end: '00:00' } }, ADMIN)
  ).body;
  const wf = (
    await call(
      'POST',
      '/v1/workflows',
      {
        name: 'Wait a day',
        nodes: [
          { id: 'start', type: 'trigger', event: 'new_lead' },
          { id: 'pause', type: 'wait', params: { duration: 'P1D' } },
          { id: 'tag', type: 'add_tag', params: { tag: 'later' } },
        ],
        edges: [
          { from: 'start', to: 'pause' },
          { from: 'pause', to: 'tag' },
        ],
      },
      org.apiKey,
    )
  ).body;
  await call('POST', `/v1/workflows/${wf.id}/publish`, {}, org.apiKey);
  // Leads exist beforehand, so the figure is the execution's cost alone, not the lead's.
  for (let i = 0; i < WAITING; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, WAITING - i) }, (_, j) =>
        engine.leads.upsert(org.org.id, { id: `l${i + j}` }),
      ),
    );
  }
  const workers = await engine.startWorkers();
  await engine.queues.triggers.obliterate({ force: true }).catch(() => undefined);
  const before = await usedMemory(probe);
  for (let i = 0; i < WAITING; i += 500) {
    const events = Array.from({ length: Math.min(500, WAITING - i) }, (_, j) => ({
      type: 'new_lead',
      lead: { id: `l${i + j}` },
    }));
    await call('POST', '/v1/events', { events }, org.apiKey);
  }
  for (;;) {
    const waiting = await engine.queues.wait.getDelayedCount();
    if (waiting >= WAITING) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await workers.close();
  // Completed trigger and first-node jobs are retained by BullMQ for a while; drop them to see what a wait holds.
  await Promise.all([
    engine.queues.triggers.clean(0, 100_000, 'completed'),
    ...engine.queues.actions.map((q) => q.clean(0, 100_000, 'completed')),
  ]);
  const dedupe = await probe.memory('USAGE', engine.keys.dedupe(org.org.id, 'x'.repeat(36))).catch(() => 0);
  const after = await usedMemory(probe);
  const sample = (await probe.zrange(engine.keys.executionsOf(org.org.id, wf.id), '0', '0'))[0]!;
  const keys = Object.values(engine.keys.execution(sample));
  const perKey: Record<string, number> = {};
  for (const key of keys) perKey[key.split(':').at(-1)!] = (await probe.memory('USAGE', key)) ?? 0;
  const timer = (await probe.hkeys(engine.keys.execution(sample).timers))[0]!;
  perKey.delayedJob = (await probe.memory('USAGE', `${prefix}:{q.wait}:wait:${timer}`)) ?? 0;
  perKey.lock = (await probe.memory('USAGE', engine.keys.active(org.org.id, wf.id, 'l0'))) ?? 0;
  await engine.close();
  await drop(probe, prefix);
  return {
    waiting: WAITING,
    usedMemoryDeltaPerExecution: Math.round((after - before) / WAITING),
    eventDedupeMarkerBytes: dedupe ?? 0,
    keysOfOneExecution: perKey,
    keysTotal: Object.values(perKey).reduce((a, b) => a + b, 0),
  };
}

async function dateSweep(probe: Redis, leadCount: number) {
  const prefix = `bt${randomBytes(4).toString('hex')}`;
  const { engine, call } = await engineOn(prefix);
  const org = (await call('POST', '/v1/orgs', { name: 'Bench', timeZone: 'UTC' }, ADMIN)).body;
  const orgId = org.org.id as string;
  const today = new Date();
  const day = (offset: number) => new Date(today.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
  for (let i = 0; i < leadCount; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, leadCount - i) }, (_, j) => {
        const n = i + j;
        return engine.leads.upsert(orgId, { id: `m${n}`, renewalDate: day(n % 365) });
      }),
    );
  }
  const wf = (
    await call(
      'POST',
      '/v1/workflows',
      {
        name: 'Renewal in 7 days',
        nodes: [
          {
            id: 'start',
            type: 'trigger',
            event: 'date_reached',
            schedule: { kind: 'date', field: 'renewalDate', offsetDays: -7, at: '09:00' },
          },
          { id: 'tag', type: 'add_tag', params: { tag: 'reminded' } },
        ],
        edges: [{ from: 'start', to: 'tag' }],
      },
      org.apiKey,
    )
  ).body;
  await call('POST', `/v1/workflows/${wf.id}/publish`, {}, org.apiKey);
  const started = performance.now();
  let enqueued = 0;
  const result = await sweep(
    {
      keys: engine.keys,
      leads: engine.leads,
      workflows: engine.workflows,
      org: engine.orgSettings,
      async enqueueEvents(events, priority) {
        enqueued += events.length;
        await engine.queues.triggers.addBulk(
          events.map((e) => ({ name: e.type, data: e, opts: { priority: priority ?? 10 } })),
        );
      },
    },
    { orgId, workflowId: wf.id, triggerNodeId: 'start', firingId: 'bench', dueAt: Date.now() },
  );
  const ms = performance.now() - started;
  await engine.close();
  await drop(probe, prefix);
  return {
    leads: leadCount,
    matched: result.enrolled,
    enqueued,
    findAndEnrolMs: Math.round(ms * 10) / 10,
    perMatchMs: Math.round((ms / Math.max(1, result.enrolled)) * 1000) / 1000,
  };
}

const probe = new Redis(url);
const memory = await memoryPerWaitingExecution(probe);
console.log('memory per waiting execution', memory);
const sweeps = [];
for (const count of LEAD_COUNTS) {
  const result = await dateSweep(probe, count);
  console.log('date_reached sweep', result);
  sweeps.push(result);
}
await probe.quit();
console.log(JSON.stringify({ memory, sweeps }, null, 2));
