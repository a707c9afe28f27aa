// (b) Ingest: events accepted per second through the HTTP handler, against raw queue.add / addBulk of the same payload.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { triggerJobId } from '../src/events/ingest.js';
import { benchEvent, startEngine, type EngineUnderTest } from './engine.js';
import type { BenchOptions } from './options.js';
import { connect, meter, type CommandUsage } from './redis-stats.js';
import { chunks, cpuMsSince, now, pool } from './util.js';

export interface IngestResult {
  variant: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  usage: CommandUsage;
  nodeCpuMs: number;
}

interface Variant {
  name: string;
  /** Sends events `tag-0..tag-(n-1)`. */
  send(tag: string, n: number): Promise<void>;
}

async function measure(probe: Redis, variant: Variant, events: number): Promise<IngestResult> {
  const usageMeter = await meter(probe);
  const cpu = process.cpuUsage();
  const start = now();
  await variant.send(variant.name.replace(/\W+/g, '-'), events);
  const seconds = (now() - start) / 1000;
  const nodeCpuMs = cpuMsSince(cpu);
  const usage = await usageMeter.stop();
  return { variant: variant.name, events, seconds, eventsPerSecond: events / seconds, usage, nodeCpuMs };
}

/** What the engine's ingest puts on its `triggers` queue for an event, so the raw side adds the same bytes. */
function enginePayload(sut: EngineUnderTest, tag: string, i: number) {
  const at = new Date().toISOString();
  const event = benchEvent(tag, i);
  return {
    name: event.type,
    data: { ...event, orgId: sut.orgId, occurredAt: at, receivedAt: at },
    opts: { jobId: triggerJobId(sut.orgId, event.id) },
  };
}

function variants(options: BenchOptions, sut: EngineUnderTest, queue: Queue): Variant[] {
  const { ingestConcurrency, batchConcurrency, batchSize } = options;
  const batched = (n: number, each: (indices: number[]) => Promise<unknown>) => {
    const batches = chunks(n, batchSize);
    return pool(batches.length, batchConcurrency, async (b) => void (await each(batches[b]!)));
  };
  return [
    {
      name: 'engine: single event',
      send: (tag, n) =>
        pool(n, ingestConcurrency, async (i) => void (await sut.postEvents(benchEvent(tag, i)))),
    },
    {
      name: `engine: batch of ${batchSize}`,
      send: (tag, n) =>
        batched(n, (batch) => sut.postEvents({ events: batch.map((i) => benchEvent(tag, i)) })),
    },
    {
      name: 'raw: queue.add',
      send: (tag, n) =>
        pool(n, ingestConcurrency, async (i) => {
          const { name, data, opts } = enginePayload(sut, tag, i);
          await queue.add(name, data, opts);
        }),
    },
    {
      name: `raw: addBulk of ${batchSize}`,
      send: (tag, n) => batched(n, (batch) => queue.addBulk(batch.map((i) => enginePayload(sut, tag, i)))),
    },
  ];
}

/** Runs every variant on an engine without workers, so accepted events stay queued and nothing else competes. */
export async function ingestThroughput(options: BenchOptions, probe: Redis): Promise<IngestResult[]> {
  const sut = await startEngine(options, 'ingest');
  const connection = await connect(options.redisUrl);
  const queue = new Queue('triggers', {
    connection,
    prefix: `${options.rawPrefix}-ingest:{q.triggers}`,
    defaultJobOptions: options.jobOptions,
  });
  try {
    const results: IngestResult[] = [];
    for (const variant of variants(options, sut, queue))
      results.push(await measure(probe, variant, options.ingestEvents));
    return results;
  } finally {
    await queue.close();
    await connection.quit();
    await sut.close();
  }
}
