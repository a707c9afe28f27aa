// Benchmark (npm run bench:providers): 10,000 executions, one SMS each, against a fake Twilio on loopback that fails
// 20% of requests at random with a 500. Counts what reached the provider: every message exactly once is the target.
// Writes bench/results/providers-latest.json.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createEngine } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { ingestEvents } from '../src/events/ingest.js';
import { createLogger } from '../src/observability/logger.js';
import { WorkflowDefinition } from '../src/workflows/schema.js';
import { startFakeTwilio, TWILIO_SID, TWILIO_TOKEN, twilioFailures } from '../test/support/fakes/twilio.js';

const EXECUTIONS = Number(process.env.BENCH_EXECUTIONS ?? 10_000);
const FAILURE_SHARE = Number(process.env.BENCH_FAILURE_SHARE ?? 0.2);
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_MS ?? 170_000);
const BATCH = 500;

const twilio = await startFakeTwilio();
twilio.failRandomly(FAILURE_SHARE, twilioFailures.serverError);

const prefix = `bench${randomBytes(4).toString('hex')}`;
const config = loadConfig({
  ...process.env,
  NODE_ENV: 'test',
  QUEUE_PREFIX: prefix,
  LOG_LEVEL: 'silent',
  TWILIO_BASE_URL: twilio.url,
  // 20% random failures: the chance that one message fails 12 attempts in a row is 0.2^12 ≈ 4e-9.
  JOB_ATTEMPTS: process.env.JOB_ATTEMPTS ?? '12',
  JOB_BACKOFF_MS: process.env.JOB_BACKOFF_MS ?? '20',
  WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY ?? '100',
  // Five failures in a row happen about once in 3,000 requests here: the breaker opens now and then, briefly.
  BREAKER_HALF_OPEN_MS: process.env.BREAKER_HALF_OPEN_MS ?? '250',
});
const engine = await createEngine(config, createLogger('silent'));
// Open all day: the send window (quiet hours) would otherwise hold every text sent at night.
const { org } = await engine.orgs.create({
  name: 'Bench Gym',
  timeZone: 'Europe/London',
  sendWindow: { start: '00:00', end: '00:00' },
});
await engine.settings.put(org.id, 'twilio', {
  accountSid: TWILIO_SID,
  authToken: TWILIO_TOKEN,
  smsFrom: '+447700900001',
});
// The organization's SMS rate limit is raised so it is exercised on every step but does not set the pace.
await engine.settings.put(org.id, 'limits', {
  rates: { send_sms: { limit: 1_000_000, windowMs: 1000 } },
  caps: {},
});
const definition = WorkflowDefinition.parse({
  name: 'One text',
  nodes: [
    { id: 'start', type: 'trigger', event: 'new_lead' },
    { id: 'sms', type: 'send_sms', params: { body: 'Welcome n{{ event.data.n }}' } },
  ],
  edges: [{ from: 'start', to: 'sms' }],
});
const workflow = await engine.workflows.create(org.id, definition);
await engine.workflows.publish(org.id, workflow.id);
await engine.startWorkers();

console.log(
  `bench: ${EXECUTIONS} executions, one SMS each; fake Twilio fails ${FAILURE_SHARE * 100}% of requests at random; ` +
    `attempts ${config.JOB_ATTEMPTS}, backoff from ${config.JOB_BACKOFF_MS} ms, concurrency ${config.WORKER_CONCURRENCY}`,
);
const started = Date.now();
const phone = (n: number) => `+447700${String(n).padStart(6, '0')}`;
for (let from = 0; from < EXECUTIONS; from += BATCH) {
  const events = Array.from({ length: Math.min(BATCH, EXECUTIONS - from) }, (_, i) => {
    const n = from + i;
    return {
      id: `bench-${n}`,
      type: 'new_lead' as const,
      lead: { id: `lead-${n}`, phone: phone(n) },
      data: { n },
    };
  });
  await ingestEvents(engine, org.id, events);
}
const ingestedMs = Date.now() - started;

const counter = async (status: string) =>
  Number((await engine.redis.hget(engine.keys.stats(org.id), `${workflow.id}:${status}`)) ?? 0);
let completed = 0;
let failed = 0;
while (Date.now() - started < DEADLINE_MS) {
  [completed, failed] = await Promise.all([counter('completed'), counter('failed')]);
  if (completed + failed >= EXECUTIONS) break;
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const elapsedMs = Date.now() - started;

const bodies = twilio.messages.map((m) => m.body ?? '');
const distinct = new Set(bodies);
const expected = new Set(Array.from({ length: EXECUTIONS }, (_, n) => `Welcome n${n}`));
const missing = [...expected].filter((body) => !distinct.has(body)).length;
const duplicates = bodies.length - distinct.size;
const failedRequests = twilio.requests.length - twilio.messages.length;
const deadLetters = await engine.deadLetter.list(org.id, 1000);
const firstAt = Math.min(...twilio.messages.map((m) => m.at));
const lastAt = Math.max(...twilio.messages.map((m) => m.at));

const result = {
  at: new Date().toISOString(),
  node: process.version,
  executions: EXECUTIONS,
  failureShare: FAILURE_SHARE,
  settings: {
    attempts: config.JOB_ATTEMPTS,
    backoffMs: config.JOB_BACKOFF_MS,
    concurrency: config.WORKER_CONCURRENCY,
    breakerThreshold: config.BREAKER_THRESHOLD,
    breakerHalfOpenMs: config.BREAKER_HALF_OPEN_MS,
  },
  completed,
  failed,
  deadLettered: deadLetters.length,
  messagesAtProvider: twilio.messages.length,
  distinctMessages: distinct.size,
  missing,
  duplicates,
  requestsToProvider: twilio.requests.length,
  failedRequests,
  observedFailureShare: Number((failedRequests / Math.max(1, twilio.requests.length)).toFixed(4)),
  ingestMs: ingestedMs,
  elapsedMs,
  sendingWindowMs: lastAt - firstAt,
  executionsPerSecond: Math.round((completed / elapsedMs) * 1000),
  breakers: engine.breakers.snapshot(),
  exact: twilio.messages.length === EXECUTIONS && missing === 0 && duplicates === 0,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/providers-latest.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
console.log(
  result.exact
    ? `OK: exactly ${EXECUTIONS} messages at the provider, no loss, no duplicates, in ${(elapsedMs / 1000).toFixed(1)} s`
    : `FAILED: ${twilio.messages.length} messages for ${EXECUTIONS} executions (${missing} missing, ${duplicates} duplicates)`,
);

await engine.close();
const { Redis } = await import('ioredis');
const cleaner = new Redis(config.REDIS_URL);
let cursor = '0';
do {
  const [next, found] = await cleaner.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
  cursor = next;
  if (found.length > 0) await cleaner.del(...found);
} while (cursor !== '0');
await cleaner.quit();
await twilio.close();
process.exit(result.exact ? 0 : 1);
