// The raw BullMQ baseline: chains of three no-op jobs, each job adding the next, on the same Redis.
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BenchOptions } from './options.js';
import { connect } from './redis-stats.js';

export const JOBS_PER_CHAIN = 3;

export interface ChainJob {
  chain: number;
  step: number;
}

export interface RawChain {
  /** The key of the queue's wait list (every step of every chain waits there). */
  waitKey: string;
  /** Adds the first job of each chain (addBulk in one call). */
  addFirst(chains: number[]): Promise<void>;
  /** Adds the first job of one chain (queue.add). */
  add(chain: number): Promise<void>;
  /** Starts the worker; `onChainDone` runs when the last job of a chain has completed. */
  start(onChainDone: (chain: number) => void): Worker<ChainJob>;
  close(): Promise<void>;
}

/**
 * Mirrors what the engine does per queue hop, minus its logic: the engine's default job options, job ids derived
 * from the work (so BullMQ checks for duplicates, as it does for the engine), and LIFO continuations.
 */
export async function startRawChain(options: BenchOptions, phase: string): Promise<RawChain> {
  const connection: Redis = await connect(options.redisUrl);
  const prefix = `${options.rawPrefix}-${phase}:{q.chain}`;
  const queue = new Queue<ChainJob>('chain', {
    connection,
    prefix,
    defaultJobOptions: options.jobOptions,
  });
  const first = (chain: number) => ({
    name: 'step1',
    data: { chain, step: 1 },
    opts: { jobId: `c${chain}.1` },
  });
  let worker: Worker<ChainJob> | undefined;

  const processor = async (job: Job<ChainJob>) => {
    const { chain, step } = job.data;
    if (step < JOBS_PER_CHAIN) {
      const next = step + 1;
      await queue.add(`step${next}`, { chain, step: next }, { jobId: `c${chain}.${next}`, lifo: true });
    }
  };

  return {
    waitKey: queue.keys.wait!,
    async addFirst(chains) {
      await queue.addBulk(chains.map(first));
    },
    async add(chain) {
      const { name, data, opts } = first(chain);
      await queue.add(name, data, opts);
    },
    start(onChainDone) {
      worker = new Worker<ChainJob>('chain', processor, {
        connection,
        prefix,
        concurrency: options.concurrency,
      });
      worker.on('completed', (job) => {
        if (job.data.step === JOBS_PER_CHAIN) onChainDone(job.data.chain);
      });
      worker.on('error', (error) => console.error('raw chain worker error', error));
      return worker;
    },
    async close() {
      await worker?.close();
      await queue.close();
      await connection.quit();
    },
  };
}
