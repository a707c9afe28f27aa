// A diagnostic for (c)'s gap, not a benchmark: one side at a steady rate with inline sends, as (c) runs it, and where
// each run's time goes. For the engine: the ingest (due time to the job's add), the queue (add to a worker taking it)
// and the worker (taken to finished); for both: every Redis command's round trip from this process, CPU per run, the
// event loop's busy share, garbage collection, and the deepest the side's wait list got. `npm run bench:probe`;
// PROBE_SIDE engine|raw, PROBE_RATE runs/s (1600), PROBE_SECONDS (8). Timing every command costs some CPU of its own.
// It deletes its keys when done.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { benchEvent, startEngine } from './engine.js';
import { readOptions } from './options.js';
import { startRawChain } from './raw-chain.js';
import { connect, deleteKeys } from './redis-stats.js';
import { cpuMsSince, now, offerLoad, percentiles, round, sleep, waitFor, type Percentiles } from './util.js';

const side = process.env.PROBE_SIDE ?? 'engine';
if (side !== 'engine' && side !== 'raw') throw new Error('PROBE_SIDE must be "engine" or "raw"');
const rate = Number(process.env.PROBE_RATE ?? 1600);
const seconds = Number(process.env.PROBE_SECONDS ?? 8);
const options = readOptions();

/** Milliseconds from each command's send to its reply, for every client of this process but blocking reads. */
const roundTrips: number[] = [];
const prototype = Redis.prototype as unknown as {
  sendCommand(command: { name: string; promise: Promise<unknown> }, ...rest: unknown[]): unknown;
};
const send = prototype.sendCommand;
prototype.sendCommand = function (this: Redis, command, ...rest) {
  const sentAt = now();
  const result = send.call(this, command, ...rest);
  if (command.name !== 'bzpopmin')
    command.promise.then(
      () => roundTrips.push(now() - sentAt),
      () => undefined,
    );
  return result;
};

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
  latencies: number[];
  /** The engine's split of each run, when it has one. */
  split?: { ingest: number[]; queued: number[]; worker: number[] };
  waitKey: string;
  close(): Promise<void>;
}

async function engineSide(): Promise<ProbeSide> {
  const sut = await startEngine(options, 'probe');
  const workers = await sut.engine.startWorkers();
  const latencies: number[] = [];
  const split = { ingest: [] as number[], queued: [] as number[], worker: [] as number[] };
  const dueOf = new Map<string, number>();
  const takenAt = new Map<string, number>();
  // Job timestamps are milliseconds on the wall clock: the split is good to about a millisecond.
  const toPerformance = (wallMs: number) => wallMs - performance.timeOrigin;
  for (const worker of workers.workers.filter((w) => w.name === 'triggers'))
    worker.on('active', (job: Job) => {
      const dueAt = dueOf.get(String(job.data.id));
      if (dueAt === undefined || job.processedOn === undefined) return;
      split.ingest.push(toPerformance(job.timestamp) - dueAt);
      split.queued.push(job.processedOn - job.timestamp);
      takenAt.set(sut.executionId(String(job.data.id)), toPerformance(job.processedOn));
    });
  const dueOfExecution = new Map<string, number>();
  sut.onFinished((state) => {
    const dueAt = dueOfExecution.get(state.id);
    if (dueAt === undefined) return;
    latencies.push(now() - dueAt);
    const taken = takenAt.get(state.id);
    if (taken !== undefined) split.worker.push(now() - taken);
  });
  return {
    async send(i, dueAt) {
      const event = benchEvent('probe', i);
      dueOf.set(event.id, dueAt);
      dueOfExecution.set(sut.executionId(event.id), dueAt);
      await sut.postEvents(event);
    },
    latencies,
    split,
    waitKey: `${sut.target.prefix}:{q.triggers}:triggers:wait`,
    close: () => sut.close(),
  };
}

async function rawSide(): Promise<ProbeSide> {
  const chain = await startRawChain(options, 'probe');
  const latencies: number[] = [];
  const dueAt: number[] = [];
  chain.start((i) => latencies.push(now() - dueAt[i]!));
  return {
    async send(i, due) {
      dueAt[i] = due;
      await chain.add(i);
    },
    latencies,
    waitKey: `${options.rawPrefix}-probe:{q.chain}:chain:wait`,
    close: () => chain.close(),
  };
}

const line = (name: string, p: Percentiles) =>
  `${name.padEnd(22)} p50 ${round(p.p50)}  p95 ${round(p.p95)}  p99 ${round(p.p99)}  max ${round(p.max)}  (n ${p.count})`;

const probe = await connect(options.redisUrl);
const under = side === 'engine' ? await engineSide() : await rawSide();
try {
  // Warm-up, unmeasured, until every warm-up run has finished: the JIT and the connections settle, no backlog is left.
  const warmup = rate * 2;
  await offerLoad(rate, warmup, (i, dueAt) => under.send(1_000_000 + i, dueAt));
  await waitFor("the warm-up's runs", () => under.latencies.length, warmup, 60_000);
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
  await offerLoad(rate, rate * seconds, (i, dueAt) => under.send(i, dueAt));
  const cpuMs = cpuMsSince(cpu);
  const busy = performance.eventLoopUtilization(loop).utilization;
  await sleep(1000);
  clearInterval(sampler);

  console.log(`${side} at ${rate}/s for ${seconds} s, sends inline`);
  console.log(line('event to completion', percentiles(under.latencies)));
  if (under.split) {
    console.log(line('  due to added', percentiles(under.split.ingest)));
    console.log(line('  added to taken', percentiles(under.split.queued)));
    console.log(line('  taken to finished', percentiles(under.split.worker)));
  }
  console.log(line('redis round trip', percentiles(roundTrips)));
  console.log(
    `cpu ${round((cpuMs * 1000) / (rate * seconds), 0)} µs/run, loop busy ${round(busy, 2)}, ` +
      `gc ${gc.count} pauses ${round(gc.ms, 0)} ms (longest ${round(gc.maxMs)}), deepest wait list ${deepest}`,
  );
} finally {
  await under.close();
  await deleteKeys(probe, options.enginePrefix);
  await deleteKeys(probe, options.rawPrefix);
  await probe.quit();
}
