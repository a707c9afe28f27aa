// BullMQ workers: the only place that turns the engine's errors into BullMQ behaviour (retry, delay, dead-letter).
import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, Job, UnrecoverableError, Worker, type Processor, type Queue } from 'bullmq';
import type { StepError } from '../engine/executions.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { StepFailure, toStepError } from '../nodes/runner.js';
import { RetryAfterError } from '../shared/errors.js';
import type { DeadLetter } from './dead-letter.js';
import { attemptsBeforeMove } from './job-marks.js';
import { takeLock } from './lock.js';
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

/** A job that failed for good, as the dead-letter queue and `Abandon` read it. */
export type FailedJob = Pick<Job, 'id' | 'name' | 'data' | 'attemptsMade' | 'opts'>;

/**
 * Called when a job failed for good without its execution recording it: the worker gave it up (too many deferrals,
 * stalled too often), or it failed outside its steps (reading its execution, committing, queueing the next jobs). For
 * a trigger job, which has no execution of its own, it sees to the executions its event started.
 */
export type Abandon = (queue: string, job: FailedJob, error: StepError) => Promise<void>;

/** Tries to park a job this many times, pausing as long as each entry says, before it holds the job instead. */
const PARK_PAUSES_MS = [0, 250, 1000];

/**
 * The `failed` listener's tries: BullMQ has failed the job already, so it cannot be held; these span a Redis
 * failover (about a minute and a half in all).
 */
const LATE_PARK_PAUSES_MS = [0, 250, 1000, 5000, 15_000, 30_000, 45_000];

/** A job whose parking failed every try is held (delayed) this long, then tried again. */
export const PARK_HOLD_MS = 30_000;

/** Data field of a job held because it could not be parked: the error to park it with, and whether to abandon it. */
const PENDING_PARK = 'atlasPendingPark';

interface PendingPark {
  error: StepError;
  /** The failure is not recorded in the execution yet (the worker gave the job up, or it failed outside a step). */
  abandon: boolean;
}

/** What the guard throws once it parked a job: BullMQ fails it for good, and `parkUnparked` leaves it alone. */
class Parked extends UnrecoverableError {}

/** BullMQ's reason for a job it failed because it stalled more often than `maxStalledCount` allows. */
export const STALLED_TOO_OFTEN = 'job stalled more than allowable limit';

/** Waits `ms`, or less once `signal` aborts (a closing worker set tries what is left at once). */
const pause = (ms: number, signal?: AbortSignal) =>
  sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

/** A held job's pending park, if it is one. */
function pendingPark(job: Job): PendingPark | undefined {
  const pending = (job.data as Record<string, unknown> | undefined)?.[PENDING_PARK];
  return pending && typeof pending === 'object' ? (pending as PendingPark) : undefined;
}

/**
 * What parking and abandoning read of a job: its data as it came (without the mark of a held park), and the attempts
 * it made before the one that failed it (BullMQ has counted that one too once the job is finished).
 */
function asFailed(job: Job): FailedJob {
  const { [PENDING_PARK]: _pending, ...data } = (job.data ?? {}) as Record<string, unknown>;
  const attemptsMade = job.finishedOn ? Math.max(0, job.attemptsMade - 1) : job.attemptsMade;
  return { id: job.id, name: job.name, data, attemptsMade, opts: job.opts };
}

/** Parks a job, trying again after each pause; throws the last error if every try failed. */
async function parkWithRetries(
  deadLetter: DeadLetter,
  queue: string,
  job: FailedJob,
  error: StepError,
  pauses = PARK_PAUSES_MS,
  signal?: AbortSignal,
) {
  let last: unknown;
  for (const ms of pauses) {
    if (ms > 0) await pause(ms, signal);
    try {
      return await deadLetter.park(queue, job, error);
    } catch (parkError) {
      last = parkError;
    }
  }
  throw last;
}

/** Notes a failed job whose failure is not recorded, for the cleanup job (`recordParked`); a failure is logged. */
async function noteUnrecorded(
  queue: string,
  job: FailedJob,
  error: StepError,
  deps: { deadLetter: DeadLetter; logger: Logger },
): Promise<void> {
  await deps.deadLetter
    .markUnrecorded(queue, job, error)
    .catch((markError: unknown) =>
      deps.logger.error(
        { queue, jobId: job.id, data: job.data, err: markError, error },
        'could not note a failed job whose failure is not recorded in its execution; it stays unrecorded',
      ),
    );
}

/**
 * Records a failed job's failure in its execution (`Abandon`). A failure to do so is logged, with the job's data, and
 * noted for the cleanup job, which records it later (`noteUnrecorded`).
 */
async function recordOrNote(
  queue: string,
  job: FailedJob,
  error: StepError,
  deps: { deadLetter: DeadLetter; logger: Logger; abandon: Abandon },
): Promise<void> {
  try {
    await deps.abandon(queue, job, error);
  } catch (abandonError) {
    deps.logger.error(
      { queue, jobId: job.id, data: job.data, err: abandonError, error },
      'could not record a failed job in its execution; the cleanup job tries again',
    );
    await noteUnrecorded(queue, job, error, deps);
  }
}

/**
 * Parks a job that failed for good, then records the failure in its execution where nothing has (`abandon`), and
 * fails the job in BullMQ. If the dead-letter queue cannot take it, the job is held (delayed, its attempts untouched)
 * and parked when it comes back, without running again: a job that failed for good is never left outside the
 * dead-letter queue, and its step never runs once more.
 */
async function parkOrHold(
  queue: string,
  job: Job,
  token: string | undefined,
  pending: PendingPark,
  deps: { deadLetter: DeadLetter; logger: Logger; abandon: Abandon },
): Promise<never> {
  try {
    await parkWithRetries(deps.deadLetter, queue, asFailed(job), pending.error);
  } catch (parkError) {
    deps.logger.error(
      { queue, jobId: job.id, err: parkError, error: pending.error, holdMs: PARK_HOLD_MS },
      'could not dead-letter a job; holding it to try again',
    );
    if (!token) throw parkError;
    if (!pendingPark(job)) await job.updateData({ ...(job.data as object), [PENDING_PARK]: pending });
    await job.moveToDelayed(Date.now() + PARK_HOLD_MS, token);
    throw new DelayedError();
  }
  if (pending.abandon) await recordOrNote(queue, asFailed(job), pending.error, deps);
  throw new Parked(pending.error.message);
}

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
  const deps = { deadLetter, logger, abandon };
  return async (job, token) => {
    const held = pendingPark(job);
    if (held) return parkOrHold(queue, job, token, held, deps);
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
      // A step that failed for good recorded it (unless its end's bookkeeping failed); a job given up here, or failing
      // outside its steps, has not.
      const unrecordedEnd = error instanceof StepFailure ? error.unrecordedEnd : undefined;
      if (unrecordedEnd)
        logger.error(
          { queue, jobId: job.id, err: unrecordedEnd.error },
          'could not record the end of an execution that failed for good; it is recorded as the job is parked',
        );
      const recorded = error instanceof StepFailure && error.final && !unrecordedEnd;
      if (final) return parkOrHold(queue, job, token, { error: stepError, abandon: !recorded }, deps);
      throw error;
    }
  };
}

/** What parking a job BullMQ failed for good with `error`, and the guard did not park, records. */
function unparkedFailure(job: Job, error: Error): PendingPark {
  const stalled = error.message === STALLED_TOO_OFTEN;
  return (
    pendingPark(job) ?? {
      error: stalled
        ? { name: 'StalledError', code: 'stalled', message: error.message, retryable: false }
        : { ...toStepError(error), retryable: false },
      abandon: true,
    }
  );
}

/**
 * The worker's `failed` listener: a job BullMQ failed for good that the guard did not park is parked here, and its
 * execution records the failure (abandon counts a job once, so a failure the runner recorded is not counted twice).
 * Such a job stalled too often (BullMQ fails it without running the guard), or was to be held after its parking
 * failed and the hold could not be made, or failed in a way the guard did not foresee.
 */
export function parkUnparked(
  queue: string,
  deps: { deadLetter: DeadLetter; logger: Logger; abandon: Abandon },
  /** A worker set's shutdown: `close()` waits for the work `track` is given, which stops pausing once `signal` aborts. */
  shutdown?: { signal: AbortSignal; track(work: Promise<unknown>): void },
) {
  return (job: Job | undefined, error: Error): void => {
    if (!job?.finishedOn || error instanceof Parked) return;
    const pending = unparkedFailure(job, error);
    const failed = asFailed(job);
    // The execution records the failure first, whether or not the job can be parked: never left running for good. A
    // job left unparked (the tries failed, or the process died first) is parked by the cleanup job's sweep.
    // Noted before it is parked: once parked, a retry of its entry drops the note, which must not come after.
    const work = (
      pending.abandon ? recordOrNote(queue, failed, pending.error, deps) : Promise.resolve()
    ).then(() =>
      parkWithRetries(
        deps.deadLetter,
        queue,
        failed,
        pending.error,
        LATE_PARK_PAUSES_MS,
        shutdown?.signal,
      ).catch((parkError: unknown) =>
        deps.logger.error(
          { queue, jobId: job.id, data: failed.data, err: parkError, error: pending.error },
          'could not dead-letter a job that failed for good; the cleanup job parks it later',
        ),
      ),
    );
    shutdown?.track(work);
  };
}

/** Failed jobs a queue's sweep reads per page, and pages per run at most (BullMQ keeps 10,000 failed jobs a queue). */
const SWEEP_PAGE = 200;
const SWEEP_PAGES = 60;

/**
 * Each sweep reads again this far behind where the last one stopped: a job's failure time is taken by its worker
 * before the failure reaches Redis, so a late one can land behind the cursor; and a job that could not be parked is
 * tried again at each sweep while it is this recent.
 */
const SWEEP_OVERLAP_MS = 10 * 60_000;

/** A failure the sweep recorded is marked so this long: past the overlap, no sweep reads it again. */
const READ_MARK_MS = 2 * SWEEP_OVERLAP_MS;

/** One sweep at a time (cleanup jobs can overlap: a slow one, a retried one); its lock is renewed page by page. */
const SWEEP_LOCK_MS = 2 * 60_000;

export interface SweepDeps {
  redis: RedisClient;
  /**
   * Hash: queue name to the failure time (ms) up to which the sweep has read its failed jobs, and `<queue>:floor` to
   * the time of its first sweep, below which it never reads.
   */
  cursorKey: string;
  /** The lock of the sweep running now (`takeLock`). */
  lockKey: string;
  deadLetter: DeadLetter;
  logger: Logger;
  abandon: Abandon;
}

/**
 * Parks a job found in a failed set without an entry, after recording its failure in its execution unless a sweep did
 * (read again within the overlap, it is only parked: its end is not announced again). A failure that could not be
 * recorded is not parked, and is tried again by the next sweeps; in its last five minutes in the overlap it is parked
 * all the same. Any error is logged and the job left to the next sweeps while it is within their overlap: a job that
 * cannot be read (its hash damaged) or parked does not stop the others. Resolves whether it parked the job.
 */
async function parkFound(
  queue: Queue,
  jobId: string,
  deps: SweepDeps,
  /**
   * This failure of the job: whether a sweep recorded it before, marking it recorded, and whether it is old enough
   * to leave the sweeps' overlap soon (a failure that still cannot be recorded is parked then, not lost).
   */
  read: { recorded(): Promise<boolean>; markRecorded(): Promise<unknown>; lastChances: boolean },
): Promise<boolean> {
  let failed: FailedJob | undefined;
  try {
    const job = await Job.fromId(queue, jobId);
    if (!job || !(await job.isFailed())) return false;
    const pending = unparkedFailure(job, new Error(job.failedReason));
    failed = asFailed(job);
    if (pending.abandon && !(await read.recorded())) {
      // Not parked unless recorded, so the next sweep tries both again; marked once recorded (a crash between the
      // two records it again, which counts once).
      try {
        await deps.abandon(queue.name, failed, pending.error);
        await read.markRecorded();
      } catch (error) {
        if (!read.lastChances) throw error;
        deps.logger.error(
          { queue: queue.name, jobId, data: failed.data, err: error, error: pending.error },
          'could not record a failed job in its execution for minutes; dead-lettering it, to record later',
        );
        // Noted before it is parked (see `parkUnparked`).
        await noteUnrecorded(queue.name, failed, pending.error, deps);
      }
    }
    await deps.deadLetter.park(queue.name, failed, pending.error);
    deps.logger.warn(
      { queue: queue.name, jobId, error: pending.error },
      'dead-lettered a job found failed for good without an entry',
    );
    return true;
  } catch (error) {
    deps.logger.error(
      { queue: queue.name, jobId, data: failed?.data, err: error },
      'could not dead-letter a job found failed for good; the next sweeps try again while it is recent',
    );
    return false;
  }
}

/**
 * Sweeps one queue's failed jobs, from `from` to `until` (failure times, inclusive), a page at a time by score: each
 * page starts at the last score seen, past the jobs already seen at it, so jobs leaving or joining the set meanwhile
 * shift nothing. Resolves how many it parked and how far it read (`until` when it read to the end), or undefined
 * once the lock is lost.
 */
async function sweepQueue(
  queue: Queue,
  deps: SweepDeps,
  from: number,
  until: number,
  renew: () => Promise<boolean>,
) {
  // Recorded before is told by a mark of its own, not by the cursor: a failure can reach Redis after a sweep read past
  // its time, and is still new within the overlap. The mark names the failure's time: a job retried from the
  // dead-letter queue that fails again is a new failure.
  const readOf = (job: { id: string; score: number }) => {
    const mark = `${deps.cursorKey}:read:${queue.name}:${job.id}:${job.score}`;
    return {
      recorded: async () => (await deps.redis.exists(mark)) === 1,
      markRecorded: () => deps.redis.set(mark, '1', 'PX', READ_MARK_MS),
      lastChances: job.score < until - SWEEP_OVERLAP_MS / 2,
    };
  };
  let low = from;
  let seenAtLow: string[] = [];
  let parked = 0;
  for (let page = 0; page < SWEEP_PAGES; page += 1) {
    if (!(await renew())) return undefined;
    const limit = SWEEP_PAGE + seenAtLow.length;
    const found = await deps.redis.zrangebyscore(
      queue.toKey('failed'),
      low,
      until,
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const seen = new Set(seenAtLow);
    const jobs: { id: string; score: number }[] = [];
    for (let i = 0; i < found.length; i += 2) {
      if (!seen.has(found[i]!)) jobs.push({ id: found[i]!, score: Number(found[i + 1]) });
    }
    const held = await deps.deadLetter.holds(
      queue.name,
      jobs.map((job) => job.id),
    );
    for (const [i, job] of jobs.entries()) {
      if (!held[i] && (await parkFound(queue, job.id, deps, readOf(job)))) parked += 1;
      if (job.score === low) seenAtLow.push(job.id);
      else seenAtLow = [job.id];
      low = job.score;
    }
    // Read to the end: the next sweep goes on from `until`, over what failed since (and its overlap).
    if (found.length < 2 * limit) return { parked, reached: until };
  }
  deps.logger.warn(
    { queue: queue.name, reached: low, until },
    'the failed-job sweep read its most pages and stopped short; the next sweep goes on',
  );
  return { parked, reached: low };
}

/**
 * The last net under the guard and the `failed` listener: parks each job in a queue's failed set that has no
 * dead-letter entry, recording its failure in its execution. Such a job failed for good while its worker could not
 * park it: the process died first, or the listener gave up. A job parked before has an entry; one whose entry was
 * retried or discarded has left the failed set with it. Each queue's sweep reads the jobs failed at least `graceMs`
 * ago (by Redis's clock), from a while before where the last sweep stopped; the first sweep only marks where the next
 * one starts, and nothing failed before it is read. One sweep runs at a time; another one finding it running returns
 * at once. An error in one queue's sweep is logged and the others go on. Resolves the number of jobs it parked.
 */
export async function sweepUnparked(
  queues: Queue[],
  deps: SweepDeps,
  /** Longer than the `failed` listener's tries take (about a minute and a half): FAILED_SWEEP_GRACE_MS. */
  graceMs: number,
): Promise<number> {
  const lock = await takeLock(deps.redis, deps.lockKey, SWEEP_LOCK_MS);
  if (!lock) return 0;
  try {
    const [seconds, micros] = await deps.redis.time();
    const until = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - graceMs;
    let parked = 0;
    for (const queue of queues) {
      try {
        const [cursor, floor] = await deps.redis.hmget(deps.cursorKey, queue.name, `${queue.name}:floor`);
        if (cursor === null) {
          // The first sweep: nothing before it is read, ever (jobs discarded before their originals were removed with
          // them must not come back).
          await deps.redis.hset(
            deps.cursorKey,
            queue.name,
            String(until),
            `${queue.name}:floor`,
            String(until),
          );
          continue;
        }
        const from = Math.max(Number(floor ?? 0), Number(cursor) - SWEEP_OVERLAP_MS);
        const swept = await sweepQueue(queue, deps, from, until, lock.renew);
        if (!swept) break;
        parked += swept.parked;
        if (swept.reached > Number(cursor))
          await deps.redis.hset(deps.cursorKey, queue.name, String(swept.reached));
      } catch (error) {
        deps.logger.error({ queue: queue.name, err: error }, 'could not sweep a queue for failed jobs');
      }
    }
    return parked;
  } finally {
    await lock
      .release()
      .catch((error: unknown) =>
        deps.logger.warn({ err: error }, 'could not release the failed-job sweep lock; it expires by itself'),
      );
  }
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
  // Parking done by the `failed` listener outlives the job: closing waits for it, without its pauses.
  const stopping = new AbortController();
  const lateParks = new Set<Promise<unknown>>();
  const shutdown = {
    signal: stopping.signal,
    track(work: Promise<unknown>) {
      lateParks.add(work);
      void work.finally(() => lateParks.delete(work));
    },
  };
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
    worker.on('failed', parkUnparked(queue, { deadLetter, logger, abandon }, shutdown));
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
    /**
     * Stops taking jobs and lets the active ones finish (BullMQ returns unfinished ones to the queue on stall), then
     * waits for the `failed` listener's parking, which tries what it has left at once.
     */
    async close() {
      stopping.abort();
      await Promise.allSettled(workers.map((worker) => worker.close()));
      await Promise.allSettled([...lateParks]);
    },
  };
}

/** Noted failures `recordParked` records per run at most (picked at random, so none that keeps failing stops others). */
const RECORD_PAGE = 200;

/**
 * Records the failures noted by `noteUnrecorded`, which could not be recorded in their executions when their jobs
 * failed for good: an execution left running, or a trigger job's executions not handed over, holding their leads'
 * enrolment. Run by the cleanup job until each is recorded, also after its entry was discarded (the execution still
 * has to end); a retry drops the note (its job runs on), and never interleaves with a recording (`recordNoted`). A
 * failure is logged and tried again next time; the others go on. Recording again counts once (`Abandon`). Resolves
 * how many it recorded.
 */
export async function recordParked(deps: {
  deadLetter: DeadLetter;
  logger: Logger;
  abandon: Abandon;
}): Promise<number> {
  let recorded = 0;
  for (const id of await deps.deadLetter.unrecorded(RECORD_PAGE)) {
    try {
      const outcome = await deps.deadLetter.recordNoted(id, (note) =>
        deps.abandon(
          note.queue,
          { id: note.jobId, name: note.name, data: note.data, attemptsMade: 0, opts: {} },
          note.error,
        ),
      );
      if (outcome === 'recorded') recorded += 1;
      if (outcome === 'unreadable')
        deps.logger.error({ deadLetterId: id }, 'dropped a noted failure that could not be read');
    } catch (error) {
      deps.logger.error(
        { deadLetterId: id, err: error },
        'could not record a noted failure in its execution; the next cleanup tries again',
      );
    }
  }
  return recorded;
}
