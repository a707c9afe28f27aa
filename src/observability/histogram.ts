// Fixed-bucket latency histograms and time buckets: pure helpers shared by the metrics store and its tests.

/** Upper bounds (milliseconds) of the step latency buckets; one more bucket holds everything above the last. */
export const LATENCY_BOUNDS_MS = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
] as const;

/** Index of the bucket a duration falls in: the first bound it does not exceed, else the overflow bucket. */
export function latencyBucket(durationMs: number): number {
  const at = LATENCY_BOUNDS_MS.findIndex((bound) => durationMs <= bound);
  return at === -1 ? LATENCY_BOUNDS_MS.length : at;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram given as counts per bucket, interpolated linearly inside the bucket
 * (as Prometheus' histogram_quantile does). Values in the overflow bucket report the last bound.
 * Returns null for an empty histogram.
 */
export function quantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const n = counts[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      if (i >= LATENCY_BOUNDS_MS.length) return LATENCY_BOUNDS_MS.at(-1)!;
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = LATENCY_BOUNDS_MS[i]!;
      return lower + ((upper - lower) * (rank - below)) / n;
    }
    below += n;
  }
  return LATENCY_BOUNDS_MS.at(-1)!;
}

/** Start (epoch ms) of the time bucket of `size` ms that holds `at`. */
export const bucketStart = (at: number, size: number) => Math.floor(at / size) * size;

/** Start (epoch ms) of every bucket of `size` ms from the one holding `from` to the one holding `to`. */
export function bucketsBetween(from: number, to: number, size: number): number[] {
  const out: number[] = [];
  for (let t = bucketStart(from, size); t <= to; t += size) out.push(t);
  return out;
}
