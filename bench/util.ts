// Small helpers shared by the benchmark parts: timing, bounded concurrency, open-loop pacing, percentiles, medians.
import { performance } from 'node:perf_hooks';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const now = () => performance.now();

/**
 * `now()` on the machine's monotonic clock (`process.hrtime`), which every process on the machine shares: a time
 * passed to another process as `toMonotonic(t)` is `fromMonotonic(...)` there, whatever each process's time origin.
 */
export const toMonotonic = (t: number) => t + Number(process.hrtime.bigint()) / 1e6 - performance.now();
export const fromMonotonic = (t: number) => t - Number(process.hrtime.bigint()) / 1e6 + performance.now();

/** Runs `task(0..count-1)` with at most `concurrency` in flight. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/** Splits `0..count-1` into consecutive index ranges of at most `size`. */
export function chunks(count: number, size: number): number[][] {
  const result: number[][] = [];
  for (let start = 0; start < count; start += size) {
    result.push(Array.from({ length: Math.min(size, count - start) }, (_, i) => start + i));
  }
  return result;
}

/**
 * Open-loop load: calls `send(i, dueAt)` for i in 0..total-1 at a steady `rate` per second, without waiting for
 * earlier sends, so a slow system does not slow the offered load (no coordinated omission). Latencies are measured
 * from `dueAt`, so a sender that falls behind counts against the system, not in its favour. The first send is due at
 * `start` (`now()`'s clock; default now).
 */
export async function offerLoad(
  rate: number,
  total: number,
  send: (i: number, dueAt: number) => Promise<void>,
  { start = now() }: { start?: number } = {},
): Promise<{ lagMaxMs: number }> {
  const inFlight: Promise<void>[] = [];
  let lagMaxMs = 0;
  for (let i = 0; i < total;) {
    const dueAt = start + (i * 1000) / rate;
    const wait = dueAt - now();
    if (wait > 0) await sleep(wait);
    for (; i < total && start + (i * 1000) / rate <= now(); i += 1) {
      const due = start + (i * 1000) / rate;
      lagMaxMs = Math.max(lagMaxMs, now() - due);
      inFlight.push(send(i, due));
    }
  }
  await Promise.all(inFlight);
  return { lagMaxMs };
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.length > 0 ? sum / sorted.length : NaN,
  };
}

/** Resolves once `count()` reaches `target`; rejects with progress after `timeoutMs`. */
export async function waitFor(
  what: string,
  count: () => number | Promise<number>,
  target: number,
  timeoutMs: number,
  intervalMs = 10,
): Promise<void> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const reached = await count();
    if (reached >= target) return;
    if (now() > deadline) throw new Error(`${what}: ${reached}/${target} after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** Node's own CPU time (user + system) in milliseconds since `since`. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/**
 * The median of `values` by `by`: the upper of the middle two for an even count, so it is always one of the values (a
 * round or a sample that was measured); undefined for none.
 */
export function medianBy<T>(values: readonly T[], by: (value: T) => number): T | undefined {
  return [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)];
}

/** The median of numbers, as `medianBy` takes it. */
export const median = (values: readonly number[]): number | undefined => medianBy(values, (value) => value);

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Counts events up to `target`; `wait` resolves when it is reached and fails with progress after a timeout. */
export function countdown(target: number) {
  let count = 0;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (release = resolve));
  if (target <= 0) release();
  return {
    tick() {
      count += 1;
      if (count === target) release();
    },
    get count() {
      return count;
    },
    async wait(what: string, timeoutMs: number): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: ${count}/${target} after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([reached, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
