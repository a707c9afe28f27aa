// How steady the machine's CPUs are while nothing else of the bench runs: one busy thread per core counts the work it
// gets done in each 20 ms window. A window far below the median is time the machine took away from a busy thread
// (seen on these VMs: both cores at a fraction of their speed for 100-150 ms, every 1.5 s or so). Such spells put every
// event in flight at the time 100 ms behind, on either side of a comparison, so they set the p99 of both.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { median } from './util.js';

export interface Steadiness {
  seconds: number;
  windowMs: number;
  threads: number;
  /** Share of windows in which some thread got less than half its median work done. */
  slowShare: number;
  /** Runs of slow windows, counting gaps of up to 60 ms as part of a run. */
  spells: number;
  longestSpellMs: number;
  /** Median time from one spell's start to the next one's, when there were at least two. */
  medianSpacingMs?: number;
}

const WINDOW_MS = 20;
/** Slow windows this close together belong to one spell. */
const MERGE_WINDOWS = 3;

/** Runs in each thread: spins for `seconds`, counting fixed chunks of arithmetic per window. */
const spinner = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const start = performance.now();
const counts = new Array(Math.ceil((workerData.seconds * 1000) / workerData.windowMs)).fill(0);
let sink = 0;
for (;;) {
  for (let i = 0; i < 500; i += 1) sink += Math.sqrt(i + sink);
  const window = Math.floor((performance.now() - start) / workerData.windowMs);
  if (window >= counts.length) break;
  counts[window] += 1;
}
parentPort.postMessage({ counts, sink });
`;

/** Spins one thread per core for `seconds` and reports the slow windows. Keeps the machine fully busy meanwhile. */
export async function steadiness(seconds = 3): Promise<Steadiness> {
  const threads = availableParallelism();
  const results = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number[]>((resolve, reject) => {
          const worker = new Worker(spinner, { eval: true, workerData: { seconds, windowMs: WINDOW_MS } });
          worker.once('message', (message: { counts: number[] }) => resolve(message.counts));
          worker.once('error', reject);
        }),
    ),
  );
  // The first window includes the thread's start-up; it does not count.
  const slowByThread = results.map((counts) => {
    const typical = median(counts.slice(1)) ?? 0;
    return counts.map((count, i) => i > 0 && count < typical / 2);
  });
  const windows = Math.min(...slowByThread.map((slow) => slow.length));
  const slow = Array.from({ length: windows }, (_, i) => slowByThread.some((thread) => thread[i]));
  // A spell: slow windows with gaps of at most MERGE_WINDOWS between them (a spell rarely slows every window of it).
  const spells: { start: number; end: number }[] = [];
  slow.forEach((isSlow, i) => {
    if (!isSlow) return;
    const last = spells.at(-1);
    if (last && i - last.end <= MERGE_WINDOWS + 1) last.end = i;
    else spells.push({ start: i, end: i });
  });
  const starts = spells.map((spell) => spell.start * WINDOW_MS);
  const longest = Math.max(0, ...spells.map((spell) => spell.end - spell.start + 1));
  const spacing = starts.slice(1).map((at, i) => at - starts[i]!);
  return {
    seconds,
    windowMs: WINDOW_MS,
    threads,
    slowShare: slow.filter(Boolean).length / Math.max(1, windows - 1),
    spells: starts.length,
    longestSpellMs: longest * WINDOW_MS,
    ...(spacing.length > 0 ? { medianSpacingMs: median(spacing)! } : {}),
  };
}
