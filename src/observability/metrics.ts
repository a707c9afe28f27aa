// Metrics the workers keep in Redis: processed jobs per queue in 10 s buckets (kept two hours), all-time totals per
// queue, and per-workflow step latency histograms per hour. Read by the dashboard API and GET /metrics.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { LATENCY_BOUNDS_MS, bucketStart, bucketsBetween, latencyBucket, quantile } from './histogram.js';

/** Width of a throughput bucket. */
export const BUCKET_MS = 10_000;
const HOUR_MS = 3_600_000;
/** Hour blocks expire one hour after the two-hour window they serve has passed. */
const SERIES_TTL_SECONDS = 3 * 3600;
/** The longest window the API serves. */
export const MAX_WINDOW_SECONDS = 2 * 3600;

export type JobOutcome = 'completed' | 'failed';

export interface QueueSeries {
  /** Bucket starts, epoch seconds (the x axis of uPlot). */
  t: number[];
  completed: number[];
  failed: number[];
  /** Mean processing time of the jobs finished in the bucket, ms (null when none finished). */
  avgMs: (number | null)[];
}

export interface QueueTotals {
  completed: number;
  failed: number;
  /** Sum of processing times, ms. */
  ms: number;
}

export interface LatencySummary {
  count: number;
  meanMs: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Counts per bucket of LATENCY_BOUNDS_MS, the overflow bucket last. */
  buckets: number[];
}

export interface WorkflowCounters {
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  exited: number;
  /** Events that matched but were refused by the enrolment rule. */
  skipped: number;
}

export interface MetricsDeps {
  redis: RedisClient;
  keys: Keys;
  now?: () => number;
  /**
   * Counts are added up in memory and written every `flushMs`, so a busy worker sends a few HINCRBYs a second
   * instead of nine per job. Readers in this process flush first; other processes lag by at most this much.
   * @defaultValue 1000
   */
  flushMs?: number;
}

export function createMetrics({ redis, keys, now = Date.now, flushMs = 1000 }: MetricsDeps) {
  const hoursOf = (from: number, to: number) => bucketsBetween(from, to, HOUR_MS);
  /** key → field → increment, and the keys that expire. */
  let pending = new Map<string, Map<string, number>>();
  let expiring = new Set<string>();
  const add = (key: string, field: string, by: number) => {
    let fields = pending.get(key);
    if (!fields) pending.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + by);
  };
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (pending.size === 0) return flushing;
    const [batch, expire] = [pending, expiring];
    pending = new Map();
    expiring = new Set();
    flushing = Promise.all([
      ...[...batch].flatMap(([key, fields]) =>
        [...fields].map(([field, by]) => redis.hincrby(key, field, by)),
      ),
      ...[...expire].map((key) => redis.expire(key, SERIES_TTL_SECONDS)),
    ]).then(() => undefined);
    return flushing;
  };
  const timer = setInterval(() => void flush().catch(() => undefined), flushMs);
  timer.unref();

  return {
    /** Writes what is buffered now; readers call it so their own process's counts are in. */
    flush,

    /** Stops the periodic write after a last flush. */
    async close(): Promise<void> {
      clearInterval(timer);
      await flush().catch(() => undefined);
    },

    /** Counts one processed job (each failed attempt counts as failed). Single-key commands: cluster-safe. */
    async recordJob(queue: string, outcome: JobOutcome, durationMs: number): Promise<void> {
      const at = now();
      const key = keys.queueMetrics(queue, bucketStart(at, HOUR_MS));
      const bucket = bucketStart(at, BUCKET_MS);
      const ms = Math.max(0, Math.round(durationMs));
      add(key, `${bucket}:${outcome}`, 1);
      add(key, `${bucket}:ms`, ms);
      expiring.add(key);
      add(keys.queueTotals, `${queue}:${outcome}`, 1);
      add(keys.queueTotals, `${queue}:ms`, ms);
    },

    /** Throughput and mean processing time per bucket over the last `windowSeconds`, per queue. */
    async queueSeries(
      queues: readonly string[],
      windowSeconds: number,
    ): Promise<Record<string, QueueSeries>> {
      await flush();
      const to = now();
      const from = to - Math.min(windowSeconds, MAX_WINDOW_SECONDS) * 1000;
      const buckets = bucketsBetween(from, to, BUCKET_MS);
      const hours = hoursOf(from, to);
      const result: Record<string, QueueSeries> = {};
      await Promise.all(
        queues.map(async (queue) => {
          const hashes = await Promise.all(
            hours.map((hour) => redis.hgetall(keys.queueMetrics(queue, hour))),
          );
          const fields: Record<string, string> = Object.assign({}, ...hashes);
          const count = (bucket: number, name: string) => Number(fields[`${bucket}:${name}`] ?? 0);
          const series: QueueSeries = { t: [], completed: [], failed: [], avgMs: [] };
          for (const bucket of buckets) {
            const completed = count(bucket, 'completed');
            const failed = count(bucket, 'failed');
            series.t.push(bucket / 1000);
            series.completed.push(completed);
            series.failed.push(failed);
            series.avgMs.push(completed + failed > 0 ? count(bucket, 'ms') / (completed + failed) : null);
          }
          result[queue] = series;
        }),
      );
      return result;
    },

    /** All-time processed jobs per queue. */
    async queueTotals(): Promise<Record<string, QueueTotals>> {
      await flush();
      const raw = await redis.hgetall(keys.queueTotals);
      const totals: Record<string, QueueTotals> = {};
      for (const [field, value] of Object.entries(raw)) {
        const cut = field.lastIndexOf(':');
        const queue = field.slice(0, cut);
        const name = field.slice(cut + 1) as keyof QueueTotals;
        totals[queue] ??= { completed: 0, failed: 0, ms: 0 };
        if (name in totals[queue]) totals[queue][name] = Number(value);
      }
      return totals;
    },

    /** Per-workflow execution counters (`started`, `completed`, `failed`, `cancelled`, `exited`, `skipped`). */
    async workflowCounters(orgId: string): Promise<Record<string, WorkflowCounters>> {
      const raw = await redis.hgetall(keys.stats(orgId));
      const out: Record<string, WorkflowCounters> = {};
      for (const [field, value] of Object.entries(raw)) {
        const cut = field.lastIndexOf(':');
        const workflowId = field.slice(0, cut);
        const name = field.slice(cut + 1) as keyof WorkflowCounters;
        out[workflowId] ??= { started: 0, completed: 0, failed: 0, cancelled: 0, exited: 0, skipped: 0 };
        if (name in out[workflowId]) out[workflowId][name] = Number(value);
      }
      return out;
    },

    /** Adds the durations of the steps one job recorded to its workflow's histogram for this hour. */
    async recordSteps(orgId: string, workflowId: string, durations: readonly number[]): Promise<void> {
      if (durations.length === 0) return;
      const key = keys.stepLatency(orgId, bucketStart(now(), HOUR_MS));
      const counts = new Map<number, number>();
      let sum = 0;
      for (const ms of durations) {
        const bucket = latencyBucket(ms);
        counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
        sum += Math.max(0, ms);
      }
      for (const [bucket, n] of counts) add(key, `${workflowId}:${bucket}`, n);
      add(key, `${workflowId}:count`, durations.length);
      add(key, `${workflowId}:sum`, Math.round(sum));
      expiring.add(key);
    },

    /** Step latency percentiles per workflow over the current and previous hour. */
    async stepLatency(orgId: string, windowSeconds = 3600): Promise<Record<string, LatencySummary>> {
      await flush();
      const to = now();
      const from = to - Math.min(windowSeconds, MAX_WINDOW_SECONDS) * 1000;
      const hashes = await Promise.all(
        hoursOf(from, to).map((hour) => redis.hgetall(keys.stepLatency(orgId, hour))),
      );
      const histograms = new Map<string, { buckets: number[]; sum: number; count: number }>();
      for (const hash of hashes) {
        for (const [field, value] of Object.entries(hash)) {
          const cut = field.lastIndexOf(':');
          const workflowId = field.slice(0, cut);
          const name = field.slice(cut + 1);
          let entry = histograms.get(workflowId);
          if (!entry) {
            entry = { buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0), sum: 0, count: 0 };
            histograms.set(workflowId, entry);
          }
          if (name === 'sum') entry.sum += Number(value);
          else if (name === 'count') entry.count += Number(value);
          else entry.buckets[Number(name)] = (entry.buckets[Number(name)] ?? 0) + Number(value);
        }
      }
      const out: Record<string, LatencySummary> = {};
      for (const [workflowId, { buckets, sum, count }] of histograms) {
        out[workflowId] = {
          count,
          meanMs: count > 0 ? sum / count : null,
          p50: quantile(buckets, 0.5),
          p95: quantile(buckets, 0.95),
          p99: quantile(buckets, 0.99),
          buckets,
        };
      }
      return out;
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
