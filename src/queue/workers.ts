// BullMQ workers: the only place that turns the engine's errors into BullMQ behaviour (retry, delay, dead-letter).
import { DelayedError, UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { StepError } from '../engine/executions.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { StepFailure, toStepError } from '../nodes/runner.js';
import { RetryAfterError } from '../shared/errors.js';
import type { DeadLetter } from './dead-letter.js';
import { attemptsBeforeMove } from './partitions.js';
import { queuePrefix } from './queues.js';
import { repeatStrategy } from './schedules.js';
import type { RedisClient } from './redis.js';

export type Handler = (job: Job) => Promise<unknown>;

export interface WorkerSet {
  workers: Worker[];
  close(): Promise<void>;
}

/** A job delayed this many times by Retry-After without finishing is dead-lettered rather than delayed again. */
export const MAX_DEFERRALS = 100;

/** Called when the worker, not the handler, gives a job up (too many deferrals, stalled too often). */
export type Abandon = (queue: string, job: Job, error: StepError) => Promise<void>;

/**
 * Wraps a handler: a delay asked for by a provider moves the job to delayed without spending an attempt;
 * a final failure parks the job in the dead-letter queue before BullMQ marks it failed; anything else is retried.
 */
export function guard(
  queue: string,
  handle: Handler,
  deadLetter: DeadLetter,
  logger: Logger,
  abandon: Abandon,
): Processor {
  return async (job, token) => {
    try {
      return await handle(job);
    } catch (error) {
      const cause = error instanceof StepFailure ? error.cause : error;
      const deferrals = (job.attemptsStarted ?? 0) - job.attemptsMade;
      if (cause instanceof RetryAfterError && token && deferrals <= MAX_DEFERRALS) {
        await job.moveToDelayed(Date.now() + cause.delayMs, token);
        throw new DelayedError();
      }
      let stepError = error instanceof StepFailure ? error.stepError : toStepError(error);
      const attempts = job.opts.attempts ?? 1;
      let final =
        error instanceof StepFailure ? error.final : !stepError.retryable || job.attemptsMade + 1 >= attempts;
      if (cause instanceof RetryAfterError) {
        stepError = {
          ...stepError,
          retryable: false,
          message: `${stepError.message} (delayed ${deferrals} times; giving up)`,
        };
        final = true;
        await abandon(queue, job, stepError);
      }
      logger.warn(
        {
          queue,
          jobId: job.id,
          attempt: attemptsBeforeMove(job) + job.attemptsMade + 1,
          final,
          error: stepError,
        },
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
  abandon: Abandon,
  /** Told of every processed attempt (a delay asked for by a provider is not one), for the metrics in Redis. */
  onJob?: (queue: string, outcome: 'completed' | 'failed', durationMs: number) => Promise<void>,
): WorkerSet {
  const workers = Object.entries(handlers).map(([queue, handle]) => {
    const worker = new Worker(queue, guard(queue, handle, deadLetter, logger, abandon), {
      connection,
      prefix: queuePrefix(config, queue),
      concurrency: config.WORKER_CONCURRENCY,
      maxStalledCount: 2,
      // The scheduler's queue computes the next run of a schedule itself (time zones, wall-clock recurrences).
      ...(queue === 'scheduled' ? { settings: { repeatStrategy } } : {}),
      autorun: true,
    });
    worker.on('error', (error) => logger.error({ queue, err: error }, 'worker error'));
    // A job that stalled too often is failed by BullMQ without running the guard: dead-letter it here.
    worker.on('failed', (job, error) => {
      if (!job || !/stalled/i.test(error.message)) return;
      const stepError = { name: 'StalledError', code: 'stalled', message: error.message, retryable: false };
      Promise.all([deadLetter.park(queue, job, stepError), abandon(queue, job, stepError)]).catch(
        (parkError: unknown) =>
          logger.error({ queue, jobId: job.id, err: parkError }, 'could not dead-letter a stalled job'),
      );
    });
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
