// (a) Throughput: pre-load N starts, then start the workers and time until every execution (or chain) completed.
import type { Redis } from 'ioredis';
import { benchEvent, startEngine, STEPS_PER_EXECUTION, type EngineUnderTest } from './engine.js';
import type { BenchOptions } from './options.js';
import { JOBS_PER_CHAIN, startRawChain } from './raw-chain.js';
import { meter, type CommandUsage } from './redis-stats.js';
import { chunks, countdown, cpuMsSince, now, pool, waitFor } from './util.js';

export interface ThroughputResult {
  side: 'engine' | 'raw';
  /** Executions (engine) or chains (raw). */
  units: number;
  steps: number;
  seconds: number;
  unitsPerSecond: number;
  stepsPerSecond: number;
  /** Putting the N starts on the queue: the engine's ingest path in batches, or addBulk. */
  preload: { seconds: number; usage: CommandUsage };
  /** From starting the workers until the last completion. */
  process: { usage: CommandUsage; nodeCpuMs: number };
}

function result(
  side: ThroughputResult['side'],
  units: number,
  stepsPerUnit: number,
  seconds: number,
  preload: ThroughputResult['preload'],
  process: ThroughputResult['process'],
): ThroughputResult {
  return {
    side,
    units,
    steps: units * stepsPerUnit,
    seconds,
    unitsPerSecond: units / seconds,
    stepsPerSecond: (units * stepsPerUnit) / seconds,
    preload,
    process,
  };
}

/** Checks that every execution completed with the trigger and the three nodes recorded. */
async function verifyEngine(sut: EngineUnderTest, tag: string, count: number): Promise<void> {
  const { engine, orgId, workflowId } = sut;
  const stats = await engine.redis.hgetall(engine.keys.stats(orgId));
  const failed = Number(stats[`${workflowId}:failed`] ?? 0);
  if (failed > 0 || Number(stats[`${workflowId}:started`]) !== count)
    throw new Error(`engine run is not clean: ${JSON.stringify(stats)}`);
  const sample = await engine.executions.steps(sut.executionId(benchEvent(tag, count - 1).id));
  const path = sample.map((step) => step.nodeId).join(',');
  if (path !== 'start,check,tag,update') throw new Error(`unexpected step log: ${path}`);
}

export async function engineThroughput(
  options: BenchOptions,
  probe: Redis,
  count: number,
  phase: string,
): Promise<ThroughputResult> {
  const sut = await startEngine(options, phase);
  try {
    const batches = chunks(count, options.batchSize);
    const preloadMeter = await meter(probe);
    const preloadStart = now();
    await pool(batches.length, options.batchConcurrency, async (b) => {
      await sut.postEvents({ events: batches[b]!.map((i) => benchEvent(phase, i)) });
    });
    const preload = { seconds: (now() - preloadStart) / 1000, usage: await preloadMeter.stop() };

    const processMeter = await meter(probe);
    const cpu = process.cpuUsage();
    let polls = 0;
    const start = now();
    await sut.startWorkers();
    const completed = () => ((polls += 1), sut.completed());
    await waitFor('engine executions', completed, count, options.phaseTimeoutMs);
    const seconds = (now() - start) / 1000;
    const nodeCpuMs = cpuMsSince(cpu);
    const usage = await processMeter.stop({ hget: polls });

    await verifyEngine(sut, phase, count);
    return result('engine', count, STEPS_PER_EXECUTION, seconds, preload, { usage, nodeCpuMs });
  } finally {
    await sut.close();
  }
}

export async function rawThroughput(
  options: BenchOptions,
  probe: Redis,
  count: number,
  phase: string,
): Promise<ThroughputResult> {
  const chain = await startRawChain(options, phase);
  try {
    const batches = chunks(count, options.batchSize);
    const preloadMeter = await meter(probe);
    const preloadStart = now();
    await pool(batches.length, options.batchConcurrency, (b) => chain.addFirst(batches[b]!));
    const preload = { seconds: (now() - preloadStart) / 1000, usage: await preloadMeter.stop() };

    const processMeter = await meter(probe);
    const cpu = process.cpuUsage();
    const done = countdown(count);
    const start = now();
    chain.start(() => done.tick());
    await done.wait('raw chains', options.phaseTimeoutMs);
    const seconds = (now() - start) / 1000;
    const nodeCpuMs = cpuMsSince(cpu);
    const usage = await processMeter.stop();
    return result('raw', count, JOBS_PER_CHAIN, seconds, preload, { usage, nodeCpuMs });
  } finally {
    await chain.close();
  }
}
