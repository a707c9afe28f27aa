// Benchmark knobs, read once from the environment. Defaults keep a full run well under three minutes.
import { randomBytes } from 'node:crypto';
import type { DefaultJobOptions } from 'bullmq';
import { loadConfig } from '../src/config/config.js';
import { defaultJobOptions } from '../src/queue/queues.js';

export interface BenchOptions {
  redisUrl: string;
  /** Worker concurrency of the engine's workers and of the raw BullMQ worker (config WORKER_CONCURRENCY). */
  concurrency: number;
  /** Executions (engine) and chains (raw BullMQ) pre-loaded for the throughput run (a). */
  executions: number;
  /** Alternating engine/raw throughput rounds; the median round of each side is reported. */
  rounds: number;
  /** Executions and chains run once, unmeasured, before (a) so both sides start with a warm JIT. */
  warmup: number;
  /** Events sent by each ingest variant (b). */
  ingestEvents: number;
  /** Requests (or queue.add calls) in flight at once for single-event ingest. */
  ingestConcurrency: number;
  /** Events per batch request (and per addBulk). */
  batchSize: number;
  /** Batch requests (or addBulk calls) in flight at once. */
  batchConcurrency: number;
  /** Offered load of the latency run (c), as a fraction of the engine's measured executions/s. */
  loadFraction: number;
  /** Offered load of the latency run in runs per second, overriding `loadFraction` when set. */
  latencyRate: number | undefined;
  /** Seconds of steady load per side in the latency run. */
  latencySeconds: number;
  /** Seconds of unmeasured load per side before the latency run's turns (0 to skip). */
  latencyWarmupSeconds: number;
  /** Turns the latency run takes, alternating the sides (engine, raw, raw, engine, ...). */
  latencySegments: number;
  /**
   * Where the latency run's sends run: `inline`, the workers' own process, as the local stack has them; `process`, a
   * process of their own, as production has them (the ingest function apart from the worker containers).
   */
  latencySender: 'process' | 'inline';
  /** Time budget of a run: throughput rounds after the first are skipped once half of it is spent. */
  budgetMs: number;
  /** Longest wait for one phase to drain before the run fails. */
  phaseTimeoutMs: number;
  /** Key prefix of every engine instance this run creates (`<enginePrefix>-<phase>`). */
  enginePrefix: string;
  /** Key prefix of the raw BullMQ baseline queues. */
  rawPrefix: string;
  resultsPath: string;
  /** The engine's default job options (attempts, backoff, retention), used by the baseline queues too. */
  jobOptions: DefaultJobOptions;
}

export function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}`);
  return value;
}

function fractionEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0 && value <= 1)) throw new Error(`${name} must be a number in (0, 1]`);
  return value;
}

function senderEnv(name: string): BenchOptions['latencySender'] {
  const raw = process.env[name];
  if (raw === undefined || raw === '' || raw === 'inline') return 'inline';
  if (raw === 'process') return 'process';
  throw new Error(`${name} must be "process" or "inline"`);
}

export function readOptions(): BenchOptions {
  const config = loadConfig({ ...process.env, QUEUE_PREFIX: 'bench' });
  const run = randomBytes(4).toString('hex');
  return {
    redisUrl: config.REDIS_URL,
    concurrency: config.WORKER_CONCURRENCY,
    executions: intEnv('BENCH_EXECUTIONS', 5000),
    rounds: intEnv('BENCH_ROUNDS', 5),
    warmup: intEnv('BENCH_WARMUP', 500, 0),
    ingestEvents: intEnv('BENCH_INGEST_EVENTS', 5000),
    ingestConcurrency: intEnv('BENCH_INGEST_CONCURRENCY', 50),
    batchSize: intEnv('BENCH_BATCH_SIZE', 100),
    batchConcurrency: intEnv('BENCH_BATCH_CONCURRENCY', 4),
    loadFraction: fractionEnv('BENCH_LOAD_FRACTION', 0.5),
    latencyRate: process.env.BENCH_LATENCY_RATE ? intEnv('BENCH_LATENCY_RATE', 1) : undefined,
    latencySeconds: intEnv('BENCH_LATENCY_SECONDS', 20),
    latencyWarmupSeconds: intEnv('BENCH_LATENCY_WARMUP_SECONDS', 5, 0),
    latencySegments: intEnv('BENCH_LATENCY_SEGMENTS', 12),
    latencySender: senderEnv('BENCH_LATENCY_SENDER'),
    budgetMs: intEnv('BENCH_BUDGET_SECONDS', 150) * 1000,
    phaseTimeoutMs: intEnv('BENCH_PHASE_TIMEOUT_SECONDS', 90) * 1000,
    enginePrefix: `bench${run}`,
    rawPrefix: `benchraw${randomBytes(4).toString('hex')}`,
    resultsPath: process.env.BENCH_RESULTS ?? 'bench/results/latest.json',
    jobOptions: defaultJobOptions(config),
  };
}
