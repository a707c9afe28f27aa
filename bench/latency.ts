// (c) Event-to-completion latency at a steady offered load, for the engine and for the raw chain at the same load.
import { performance } from 'node:perf_hooks';
import { benchEvent, startEngine, type EngineUnderTest } from './engine.js';
import type { BenchOptions } from './options.js';
import { startRawChain } from './raw-chain.js';
import { countdown, cpuMsSince, now, offerLoad, percentiles, pool, type Percentiles } from './util.js';

export interface LatencyResult {
  side: 'engine' | 'raw';
  offeredPerSecond: number;
  sent: number;
  /** Completions per second from the first send to the last completion. */
  achievedPerSecond: number;
  /** Latest any send left after its due time (the sender's own lag, counted in the latencies). */
  senderLagMaxMs: number;
  /** Completions fell behind the offered load (achieved < 95% of offered): the latencies include a growing backlog. */
  saturated: boolean;
  /** This process's CPU per run, sender and (for the engine) the HTTP ingest included. */
  nodeCpuMsPerRun: number;
  /** Due time of the send → completion seen by the worker in this process. */
  latencyMs: Percentiles;
  /** Engine only: where the time went, from the execution's own timestamps (millisecond resolution). */
  breakdownMs?: { sendToStarted: Percentiles; startedToFinished: Percentiles };
}

interface Run {
  sent: number;
  seconds: number;
  nodeCpuMs: number;
  senderLagMaxMs: number;
  latencies: number[];
}

/** Offers `rate` starts per second for the configured duration and waits for every one to complete. */
async function run(
  options: BenchOptions,
  rate: number,
  what: string,
  send: (i: number, dueAt: number) => Promise<void>,
  subscribe: (completed: (dueAt: number) => void) => void,
): Promise<Run> {
  const sent = Math.max(1, Math.round(rate * options.latencySeconds));
  const latencies: number[] = [];
  const done = countdown(sent);
  subscribe((dueAt) => {
    latencies.push(now() - dueAt);
    done.tick();
  });
  const cpu = process.cpuUsage();
  const start = now();
  const { lagMaxMs } = await offerLoad(rate, sent, send);
  await done.wait(what, options.phaseTimeoutMs);
  const seconds = (now() - start) / 1000;
  return { sent, seconds, nodeCpuMs: cpuMsSince(cpu), senderLagMaxMs: lagMaxMs, latencies };
}

function summary(side: LatencyResult['side'], rate: number, result: Run): LatencyResult {
  const achievedPerSecond = result.sent / result.seconds;
  return {
    side,
    offeredPerSecond: rate,
    sent: result.sent,
    achievedPerSecond,
    senderLagMaxMs: result.senderLagMaxMs,
    saturated: achievedPerSecond < 0.95 * rate,
    nodeCpuMsPerRun: result.nodeCpuMs / result.sent,
    latencyMs: percentiles(result.latencies),
  };
}

/** Splits each execution's latency at its `startedAt` (the trigger job ran) using the stored state. */
async function breakdown(sut: EngineUnderTest, sentAt: Map<string, number>) {
  const toStarted: number[] = [];
  const toFinished: number[] = [];
  const entries = [...sentAt.entries()];
  await pool(entries.length, 50, async (i) => {
    const [executionId, dueAt] = entries[i]!;
    const state = await sut.engine.executions.load(executionId);
    if (!state?.finishedAt) return;
    const started = Date.parse(state.startedAt);
    toStarted.push(started - (performance.timeOrigin + dueAt));
    toFinished.push(Date.parse(state.finishedAt) - started);
  });
  return { sendToStarted: percentiles(toStarted), startedToFinished: percentiles(toFinished) };
}

export async function engineLatency(options: BenchOptions, rate: number): Promise<LatencyResult> {
  const sut = await startEngine(options, 'latency');
  try {
    const actions = await sut.startWorkers();
    const pending = new Map<string, number>();
    const sentAt = new Map<string, number>();
    const result = await run(
      options,
      rate,
      'engine executions at steady load',
      async (i, dueAt) => {
        const event = benchEvent('latency', i);
        const executionId = sut.executionId(event.id);
        pending.set(executionId, dueAt);
        sentAt.set(executionId, dueAt);
        await sut.postEvents(event);
      },
      (completed) =>
        actions.on('completed', (job, returned) => {
          const dueAt = pending.get(job.data.executionId);
          if (dueAt === undefined || (returned as { status?: string })?.status !== 'completed') return;
          pending.delete(job.data.executionId);
          completed(dueAt);
        }),
    );
    return { ...summary('engine', rate, result), breakdownMs: await breakdown(sut, sentAt) };
  } finally {
    await sut.close();
  }
}

export async function rawLatency(options: BenchOptions, rate: number): Promise<LatencyResult> {
  const chain = await startRawChain(options, 'latency');
  try {
    const dueAt: number[] = [];
    const result = await run(
      options,
      rate,
      'raw chains at steady load',
      async (i, due) => {
        dueAt[i] = due;
        await chain.add(i);
      },
      (completed) => chain.start((i) => completed(dueAt[i]!)),
    );
    return summary('raw', rate, result);
  } finally {
    await chain.close();
  }
}
