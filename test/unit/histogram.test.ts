import { describe, expect, it } from 'vitest';
import {
  LATENCY_BOUNDS_MS,
  bucketStart,
  bucketsBetween,
  latencyBucket,
  quantile,
} from '../../src/observability/histogram.js';

const empty = () => new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);

describe('latency histogram', () => {
  it('puts a duration in the first bucket whose bound it does not exceed, else the overflow bucket', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(1)).toBe(0);
    expect(latencyBucket(1.5)).toBe(1);
    expect(latencyBucket(100)).toBe(LATENCY_BOUNDS_MS.indexOf(100));
    expect(latencyBucket(60_001)).toBe(LATENCY_BOUNDS_MS.length);
  });

  it('interpolates quantiles inside the bucket that holds the rank', () => {
    const counts = empty();
    counts[LATENCY_BOUNDS_MS.indexOf(10)] = 50; // 5..10 ms
    counts[LATENCY_BOUNDS_MS.indexOf(100)] = 50; // 50..100 ms

    expect(quantile(counts, 0.5)).toBe(10);
    expect(quantile(counts, 0.25)).toBe(7.5);
    expect(quantile(counts, 0.99)).toBe(99);
  });

  it('reports the last bound for the overflow bucket and null for no data', () => {
    const counts = empty();
    counts[LATENCY_BOUNDS_MS.length] = 3;
    expect(quantile(counts, 0.5)).toBe(60_000);
    expect(quantile(empty(), 0.5)).toBeNull();
  });
});

describe('time buckets', () => {
  it('aligns instants to bucket starts and lists every bucket of a window', () => {
    expect(bucketStart(12_345, 10_000)).toBe(10_000);
    expect(bucketsBetween(5_000, 31_000, 10_000)).toEqual([0, 10_000, 20_000, 30_000]);
  });
});
