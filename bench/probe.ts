// A diagnostic for (c)'s gap, not a benchmark: one side alone at a steady rate with inline sends, as (c) runs it, and
// where each run's time goes. For the engine: due time to the trigger job's add (the ingest, up to the add's call),
// add to a worker taking the job (the add's own round trip and the queue), and taken to finished (the trigger job's
// run: the workflow's nodes inline, their commit and the execution's end). For both sides: each Redis command from
// send to its reply being handled here (the event loop's wait included), CPU per run, the event loop's busy share,
// garbage collection, and the deepest the wait list of the side's first job got in 50 ms samples.
// `npm run bench:probe`; PROBE_SIDE engine|raw, PROBE_RATE runs/s (1600), PROBE_SECONDS (8). Timing every command costs
// some CPU of its own. It deletes its keys when done, interrupted or failed.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { installRoundTripTimer } from './client-commands.js';
import type { ExecutionState } from '../src/engine/executions.js';
import { benchEvent, startEngine } from './engine.js';
import { intEnv, readOptions } from './options.js';
import { startRawChain } from './raw-chain.js';
import { connect, deleteKeys } from './redis-stats.js';
import { cpuMsSince, now, offerLoad, percentiles, round, sleep, waitFor, type Percentiles } from './util.js';

const side = process.env.PROBE_SIDE ?? 'engine';
if (side !== 'engine' && side !== 'raw') throw new Error('PROBE_SIDE must be "engine" or "raw"');
const rate = intEnv('PROBE_RATE', 1600);
const seconds = intEnv('PROBE_SECONDS', 8);
const runs = rate * seconds;
const options = readOptions();

/** Milliseconds from each command's send to its reply being handled, for every client of this process but blocking reads. */
const roundTrips: number[] = [];
installRoundTripTimer((ms) => roundTrips.push(ms));

const gc = { count: 0, ms: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count += 1;
    gc.ms += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

interface ProbeSide {
  /** Sends run `i`, due at `dueAt` (performance time). */
  send(i: number, dueAt: number): Promise<void>;
  /** Each run's due time to completion, once per run. */
  latencies: number[];
  /** The engine's split of each run, when it has one. */
  split?: { ingest: number[]; queued: number[]; run: number[] };
  waitKey: string;
  close(): Promise<void>;
}

async function engineSide(): Promise<ProbeSide> {
  const sut = await startEngine(options, 'probe');
  const workers = await sut.engine.startWorkers();
  const latencies: number[] = [];
  const split = { ingest: [] as number[], queued: [] as number[], run: [] as number[] };
  /** Runs in flight by event id and by execution id: the due time, and when a worker took the trigger job. */
  const byEvent = new Map<string, { dueAt: number; executionId: string }>();
  const byExecution = new Map<string, { dueAt: number; takenAt?: number }>();
  // Job timestamps are wall-clock milliseconds: the split is good to about a millisecond.
  const toPerformance = (wallMs: number) => wallMs - performance.timeOrigin;
  for (const worker of workers.workers.filter((w) => w.name === 'triggers'))
    worker.on('active', (job: Job) => {
      const sent = byEvent.get(String(job.data.id));
      if (!sent || job.processedOn === undefined) return;
      byEvent.delete(String(job.data.id)); // a job run again (retried, stalled) counts once
      split.ingest.push(toPerformance(job.timestamp) - sent.dueAt);
      split.queued.push(job.processedOn - job.timestamp);
      byExecution.get(sent.executionId)!.takenAt = toPerformance(job.processedOn);
    });
  sut.onFinished((state: ExecutionState) => {
    const run = byExecution.get(state.id);
    // An end may be announced twice: each run counts once, completed.
    if (!run || state.status !== 'completed') return;
    byExecution.delete(state.id);
    latencies.push(now() - run.dueAt);
    if (run.takenAt !== undefined) split.run.push(now() - run.takenAt);
  });
  return {
    async send(i, dueAt) {
      const event = benchEvent('probe', i);
      const executionId = sut.executionId(event.id);
      byEvent.set(event.id, { dueAt, executionId });
      byExecution.set(executionId, { dueAt });
      await sut.postEvents(event);
    },
    latencies,
    split,
    waitKey: sut.engine.queues.triggers.keys.wait!,
    close: () => sut.close(),
  };
}

async function rawSide(): Promise<ProbeSide> {
  const chain = await startRawChain(options, 'probe');
  const latencies: number[] = [];
  const dueAt = new Map<number, number>();
  chain.start((i) => {
    const due = dueAt.get(i);
    if (due === undefined) return;
    dueAt.delete(i);
    latencies.push(now() - due);
  });
  return {
    async send(i, due) {
      dueAt.set(i, due);
      await chain.add(i);
    },
    latencies,
    waitKey: chain.waitKey,
    close: () => chain.close(),
  };
}

const line = (name: string, p: Percentiles) =>
  `${name.padEnd(26)} p50 ${round(p.p50)}  p95 ${round(p.p95)}  p99 ${round(p.p99)}  max ${round(p.max)}  (n ${p.count})`;

async function measure(under: ProbeSide, probe: Redis): Promise<void> {
  // Warm-up, unmeasured, numbered after the measured runs, until every warm-up run has finished: the JIT and the
  // connections settle, and no backlog is left.
  const warmup = rate * 2;
  await offerLoad(rate, warmup, (i, dueAt) => under.send(runs + i, dueAt));
  await waitFor("the warm-up's runs", () => under.latencies.length, warmup, options.phaseTimeoutMs);
  await sleep(500);
  for (const list of [under.latencies, roundTrips, ...Object.values(under.split ?? {})]) list.length = 0;
  Object.assign(gc, { count: 0, ms: 0, maxMs: 0 });

  let deepest = 0;
  const sampler = setInterval(() => {
    probe.llen(under.waitKey).then(
      (depth) => (deepest = Math.max(deepest, depth)),
      () => undefined,
    );
  }, 50);
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  try {
    await offerLoad(rate, runs, (i, dueAt) => under.send(i, dueAt));
    await waitFor('the runs', () => under.latencies.length, runs, options.phaseTimeoutMs);
  } finally {
    clearInterval(sampler);
  }
  const cpuMs = cpuMsSince(cpu);
  const busy = performance.eventLoopUtilization(loop).utilization;

  console.log(`${side} at ${rate}/s for ${seconds} s, sends inline`);
  console.log(line('event to completion', percentiles(under.latencies)));
  if (under.split) {
    console.log(line('  due to added', percentiles(under.split.ingest)));
    console.log(line('  added to taken', percentiles(under.split.queued)));
    console.log(line('  taken to finished', percentiles(under.split.run)));
  }
  console.log(line('command to reply handled', percentiles(roundTrips)));
  console.log(
    `cpu ${round((cpuMs * 1000) / runs, 0)} µs/run, loop busy ${round(busy, 2)}, gc ${gc.count} pauses ` +
      `${round(gc.ms, 0)} ms (longest ${round(gc.maxMs)}), deepest first-job wait list ${deepest}`,
  );
}

const probe = await connect(options.redisUrl);
const cleanUp = async () => {
  await deleteKeys(probe, options.enginePrefix);
  await deleteKeys(probe, options.rawPrefix);
};
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
let under: ProbeSide | undefined;
try {
  under = side === 'engine' ? await engineSide() : await rawSide();
  await measure(under, probe);
} finally {
  try {
    await under?.close();
  } finally {
    await cleanUp();
    await probe.quit();
  }
}
