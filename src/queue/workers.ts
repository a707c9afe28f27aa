// BullMQ workers: the only place that turns the engine's errors into BullMQ behaviour (retry, delay, dead-letter).
import { DelayedError, UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { StepFailure, toStepError } from '../nodes/runner.js';
import { RetryAfterError } from '../shared/errors.js';
import type { DeadLetter } from './dead-letter.js';
import { queuePrefix } from './queues.js';
import type { RedisClient } from './redis.js';

export type Handler = (job: Job) => Promise<unknown>;

export interface WorkerSet {
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * Wraps a handler: a delay asked for by a provider moves the job to delayed without spending an attempt;
 * a final failure parks the job in the dead-letter queue before BullMQ marks it failed; anything else is retried.
 */
export function guard(queue: string, handle: Handler, deadLetter: DeadLetter, logger: Logger): Processor {
  return async (job, token) => {
    try {
      return await handle(job);
    } catch (error) {
      const cause = error instanceof StepFailure ? error.cause : error;
      if (cause instanceof RetryAfterError && token) {
        await job.moveToDelayed(Date.now() + cause.delayMs, token);
        throw new DelayedError();
      }
      const stepError = error instanceof StepFailure ? error.stepError : toStepError(error);
      const attempts = job.opts.attempts ?? 1;
      const final =
        error instanceof StepFailure ? error.final : !stepError.retryable || job.attemptsMade + 1 >= attempts;
      logger.warn(
        { queue, jobId: job.id, attempt: job.attemptsMade + 1, final, error: stepError },
        'job failed',
      );
      if (final) {
        await deadLetter.park(queue, job, stepError);
        throw new UnrecoverableError(stepError.message);
      }
      throw error;
    }
  };
}

export function startWorkers(
  connection: RedisClient,
  config: Config,
  /** Handlers by queue name (partitions included). */
  handlers: Record<string, Handler>,
  deadLetter: DeadLetter,
  logger: Logger,
  /** Told of every processed attempt (a delay asked for by a provider is not one), for the metrics in Redis. */
  onJob?: (queue: string, outcome: 'completed' | 'failed', durationMs: number) => Promise<void>,
): WorkerSet {
  const workers = Object.entries(handlers).map(([name, handle]) => {
    const queue = name;
    const worker = new Worker(queue, guard(queue, handle, deadLetter, logger), {
      connection,
      prefix: queuePrefix(config, queue),
      concurrency: config.WORKER_CONCURRENCY,
      autorun: true,
    });
    worker.on('error', (error) => logger.error({ queue, err: error }, 'worker error'));
    if (onJob) {
      const report = (outcome: 'completed' | 'failed', job: Job | undefined) =>
        onJob(queue, outcome, Date.now() - (job?.processedOn ?? Date.now())).catch((error: unknown) =>
          logger.warn({ queue, err: error }, 'could not record job metrics'),
        );
      worker.on('completed', (job) => void report('completed', job));
      worker.on('failed', (job) => void report('failed', job));
    }
    return worker;
  });
  return {
    workers,
    /** Stops taking jobs and lets the active ones finish (BullMQ returns unfinished ones to the queue on stall). */
    async close() {
      await Promise.allSettled(workers.map((worker) => worker.close()));
    },
  };
}
