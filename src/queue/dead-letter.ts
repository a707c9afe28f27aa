// The dead-letter queue: jobs that exhausted their attempts, parked with their full context until retried or discarded.
import { setTimeout as sleep } from 'node:timers/promises';
import { Job, type JobsOptions, type Queue } from 'bullmq';
import { z } from 'zod';
import type { StepError } from '../engine/executions.js';
import type { PublishEngineEvent } from '../observability/engine-events.js';
import { HttpError, NonRetryableError } from '../shared/errors.js';
import type { Keys } from '../shared/keys.js';
import { attemptsBeforeMove, redelivered, retryOf, wasRedelivered } from './job-marks.js';
import { isActionQueue, queueNames, type Queues } from './queues.js';
import { takeLock, type HeldLock } from './lock.js';
import type { RedisClient } from './redis.js';

/**
 * Whether a job ran before: a re-run after a failure or a stall (BullMQ counts each move to active, the first one
 * included), or put back from the dead-letter queue (its attempts start afresh, so only the mark tells).
 */
export function ranBefore(job: { attemptsStarted: number; opts?: JobsOptions }): boolean {
  return job.attemptsStarted > 1 || wasRedelivered(job);
}

export const DeadLetterEntry = z.object({
  queue: z.string(),
  jobId: z.string(),
  name: z.string(),
  data: z.record(z.string(), z.unknown()),
  error: z.object({ name: z.string(), code: z.string(), message: z.string(), retryable: z.boolean() }),
  attempts: z.number().int(),
  failedAt: z.string(),
  orgId: z.string().optional(),
  executionId: z.string().optional(),
});
export type DeadLetterEntry = z.output<typeof DeadLetterEntry>;

/** A parked job whose failure is not recorded in its execution yet (`markUnrecorded`). */
export const Unrecorded = DeadLetterEntry.pick({
  queue: true,
  jobId: true,
  name: true,
  data: true,
  error: true,
});
export type Unrecorded = z.output<typeof Unrecorded>;

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

export interface DeadLetterView extends DeadLetterEntry {
  id: string;
}

export interface DeadLetterDeps {
  redis: RedisClient;
  keys: Keys;
  queues: Queues;
  /** Called before a dead-lettered node job is re-queued, so its failed execution runs again. */
  revive?(entry: DeadLetterEntry): Promise<void>;
  /** Announces each parked job (engine events out); optional. */
  publish?: PublishEngineEvent;
}

const entryId = (queue: string, jobId: string) => `${queue}.${jobId}`;

/**
 * The lock a retry of an entry and the recording of its noted failure (`recordNoted`) take in turn: renewed every
 * third of this while held, so it lapses only when its holder stops renewing it (died, or lost Redis that long).
 */
const RECORDING_LOCK_MS = 60_000;

/**
 * Deletes a noted failure only if it is still the one read (a new failure of a retried job notes a new one).
 * KEYS[1] the notes; ARGV[1] the entry id, ARGV[2] the note as read. Returns 1 if deleted.
 */
const dropNoteScript = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
`;

interface DropNoteClient {
  atlasDropNote(key: string, id: string, note: string): Promise<number>;
}

/**
 * How long retry and discard wait for work on an entry to finish (its active original; for a retry, the recording of
 * its noted failure), asking every so often.
 */
const FINISHING_WAIT_MS = 2000;
const FINISHING_POLL_MS = 50;

/** What `Job.getState` answers for a job that has not finished. */
const unfinishedJobStates = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Whether `id` can be an entry's id: `<queue>.<job id>` (`entryId`) of one of the engine's queues (none has a dot in
 * its name) with a job id BullMQ accepts, which holds no `:` or, a repeat job's, exactly two. Anything else could name
 * one of BullMQ's own keys under the dead-letter queue's prefix (`events`, `id`, `meta`, `wait`, `<id>:logs` ...),
 * which are not job hashes.
 */
export function isEntryId(id: string): boolean {
  const dot = id.indexOf('.');
  if (dot <= 0) return false;
  const queue = id.slice(0, dot);
  const jobId = id.slice(dot + 1);
  const engineQueue =
    queue !== 'dead-letter' && (isActionQueue(queue) || (queueNames as readonly string[]).includes(queue));
  const colons = jobId.split(':').length - 1;
  return engineQueue && jobId.length > 0 && (colons === 0 || colons === 2);
}

export function createDeadLetter(deps: DeadLetterDeps) {
  const { redis, keys, queues } = deps;
  const recordingLock = (id: string) => `${keys.unrecorded}:lock:${id}`;
  if (!('atlasDropNote' in redis))
    redis.defineCommand('atlasDropNote', { numberOfKeys: 1, lua: dropNoteScript });
  const dropNote = (id: string, note: string) =>
    (redis as RedisClient & DropNoteClient).atlasDropNote(keys.unrecorded, id, note);

  /** Takes an entry's recording lock, waiting a moment while a recording holds it; undefined if it still does. */
  const takeRecordingLock = async (id: string): Promise<HeldLock | undefined> => {
    for (let waited = 0; ; waited += FINISHING_POLL_MS) {
      const lock = await takeLock(redis, recordingLock(id), RECORDING_LOCK_MS);
      if (lock || waited >= FINISHING_WAIT_MS) return lock;
      await sleep(FINISHING_POLL_MS);
    }
  };
  const dlq = queues['dead-letter'];

  const toView = (job: Job | undefined): DeadLetterView | undefined => {
    if (!job?.id) return undefined;
    const parsed = DeadLetterEntry.safeParse(job.data);
    return parsed.success ? { id: job.id, ...parsed.data } : undefined;
  };

  /** A node job's current action partition (under this ACTION_QUEUE_PARTITIONS), where a retry puts it back. */
  const currentPartitionOf = (view: DeadLetterView): Queue | undefined =>
    isActionQueue(view.queue) && view.orgId !== undefined ? queues.actionsFor(view.orgId) : undefined;

  /**
   * Where an entry's original may be: the queue it failed in and, for a node job, its organization's current action
   * partition (a drain moves unfinished jobs there).
   */
  const placesOf = (view: DeadLetterView): Queue[] =>
    [...new Set([queues.byName(view.queue), currentPartitionOf(view)])].filter(
      (queue): queue is Queue => !!queue,
    );

  /**
   * Removes an entry's finished original, so its id is free again: failed, or completed (it ran again after its
   * process died before failing it) unless an earlier retry of this entry put it back (its `retryOf` mark). A job
   * scheduler's current job cannot be removed (BullMQ refuses): a discard leaves it, a retry is refused (409), since
   * the job put back would be ignored.
   */
  const removeOriginal = async (view: DeadLetterView, action: 'retry' | 'discard') => {
    for (const where of placesOf(view)) {
      const original = await Job.fromId(where, view.jobId);
      const state = original ? await original.getState() : 'unknown';
      const parked = state === 'failed' || (state === 'completed' && retryOf(original!) !== view.failedAt);
      if (!parked) continue;
      await original!.remove().catch((error: unknown) => {
        if (!(error instanceof Error && error.message.includes('belongs to a job scheduler'))) throw error;
        if (action === 'retry')
          throw new HttpError(
            409,
            'conflict',
            `the job of ${view.id} is its job scheduler's current job; discard it`,
          );
      });
    }
  };

  /**
   * Refuses to act on an entry whose original has not finished: its process died after parking it, and the job is
   * back in its queue to run again. The entry forgotten now, the job would fail again without one, and the sweep
   * would park it again. An active original is waited for a moment: the guard parks a job, then fails it at once.
   */
  const refuseUnfinished = async (view: DeadLetterView) => {
    for (const where of placesOf(view)) {
      const original = await Job.fromId(where, view.jobId);
      let state = original ? await original.getState() : 'unknown';
      for (let waited = 0; state === 'active' && waited < FINISHING_WAIT_MS; waited += FINISHING_POLL_MS) {
        await sleep(FINISHING_POLL_MS);
        state = await original!.getState();
      }
      if (unfinishedJobStates.has(state))
        throw new HttpError(
          409,
          'conflict',
          `the job of ${view.id} has not finished (${state}); try again later`,
        );
    }
  };

  const forget = async (view: DeadLetterView) => {
    await dlq.remove(view.id);
    if (view.orgId) await redis.zrem(keys.deadLetters(view.orgId), view.id);
  };

  return {
    /**
     * Parks a job that will not be retried. Idempotent: the entry's id is derived from the queue and job id. Its
     * attempts count those the job made before a move out of a retired partition (`opts`).
     */
    async park(
      queue: string,
      job: Pick<Job, 'id' | 'name' | 'data' | 'attemptsMade'> & { opts?: Job['opts'] },
      error: StepError,
    ): Promise<void> {
      const data = (job.data ?? {}) as Record<string, unknown>;
      const entry: DeadLetterEntry = {
        queue,
        jobId: String(job.id),
        name: job.name,
        data,
        error,
        attempts: attemptsBeforeMove(job) + job.attemptsMade + 1,
        failedAt: new Date().toISOString(),
        ...(typeof data.orgId === 'string' ? { orgId: data.orgId } : {}),
        ...(typeof data.executionId === 'string' ? { executionId: data.executionId } : {}),
      };
      const id = entryId(queue, entry.jobId);
      // Announced once however often the same job is parked (a retried park, the failed listener's net): an entry of
      // an organization is new when it joins the organization's index; another when its job was not there before.
      const seenBefore = entry.orgId ? false : (await dlq.getJob(id)) !== undefined;
      await dlq.add(job.name, entry, { jobId: id });
      const indexed = entry.orgId ? await redis.zadd(keys.deadLetters(entry.orgId), 'NX', Date.now(), id) : 0;
      if (entry.orgId ? indexed === 0 : seenBefore) return;
      deps.publish?.('Step Dead-Lettered', {
        deadLetterId: id,
        queue,
        jobId: entry.jobId,
        ...(entry.orgId ? { orgId: entry.orgId } : {}),
        ...(entry.executionId ? { executionId: entry.executionId } : {}),
        ...(typeof data.nodeId === 'string' ? { nodeId: data.nodeId } : {}),
        error,
        attempts: entry.attempts,
        failedAt: entry.failedAt,
      });
    },

    async list(orgId: string | undefined, limit = 100): Promise<DeadLetterView[]> {
      const ids = orgId
        ? await redis.zrevrange(keys.deadLetters(orgId), 0, limit - 1)
        : (await dlq.getJobs(['waiting'], 0, limit - 1)).map((job) => job.id!);
      const jobs = await Promise.all(ids.map((id) => Job.fromId(dlq, id)));
      return jobs.map(toView).filter((view): view is DeadLetterView => view !== undefined);
    },

    /** The entry of `id`; undefined when there is none, or `id` cannot be an entry's (Redis is not asked). */
    async get(id: string): Promise<DeadLetterView | undefined> {
      if (!isEntryId(id)) return undefined;
      return toView(await Job.fromId(dlq, id));
    },

    /**
     * Puts the job back with fresh attempts, then forgets the entry. A node job goes to its organization's action
     * partition under the current ACTION_QUEUE_PARTITIONS, which need not be the queue it failed in; an action job
     * without an organization goes back to the queue it failed in, a retired partition included (whose jobs a worker
     * moves to a current one).
     */
    async retry(view: DeadLetterView): Promise<void> {
      const queue = currentPartitionOf(view) ?? queues.byName(view.queue);
      if (!queue)
        throw new NonRetryableError(`dead-letter entry ${view.id} names an unknown queue ${view.queue}`);
      await refuseUnfinished(view);
      // Not while the cleanup job records this entry's noted failure (`recordNoted`).
      const recording = await takeRecordingLock(view.id);
      if (!recording)
        throw new HttpError(
          409,
          'conflict',
          `the failure of ${view.id} is being recorded; retry it in a moment`,
        );
      await recording.hold(async () => {
        // The failed original keeps its id in the queue it failed in; removed, the id can be added again. Removed
        // first: a revive refused (409) leaves the entry to retry later, nothing else changed.
        await removeOriginal(view, 'retry');
        await deps.revive?.(view);
        // Put back, the job runs on: a failure it could not record as it was parked is not to be recorded any more.
        // Dropped first (a recording after the add would fail the execution running on), and noted again if the add
        // fails, since the entry stays.
        const note = await redis.hget(keys.unrecorded, view.id);
        if (note !== null) await dropNote(view.id, note);
        try {
          await queue.add(view.name, view.data, {
            jobId: view.jobId,
            lifo: true,
            ...redelivered(view.failedAt),
          });
        } catch (error) {
          if (note !== null) await redis.hsetnx(keys.unrecorded, view.id, note).catch(() => undefined);
          throw error;
        }
        await forget(view);
      });
    },

    /** Refuses (409) an entry whose original job has not finished: it cannot be retried or discarded yet. */
    ensureFinished: refuseUnfinished,

    /**
     * Notes that a parked job's failure is not recorded in its execution yet, with what recording it needs, for
     * `recordParked`. Kept when the entry is discarded (the execution still has to fail), dropped when it is retried
     * (the execution runs on).
     */
    async markUnrecorded(
      queue: string,
      job: Pick<Job, 'id' | 'name' | 'data'>,
      error: StepError,
    ): Promise<void> {
      const record: Unrecorded = {
        queue,
        jobId: String(job.id),
        name: job.name,
        data: job.data ?? {},
        error,
      };
      await redis.hsetnx(keys.unrecorded, entryId(queue, String(job.id)), JSON.stringify(record));
    },

    /** Up to `limit` entry ids, picked at random, whose failures are noted as not recorded yet. */
    async unrecorded(limit: number): Promise<string[]> {
      return redis.hrandfield(keys.unrecorded, limit) as Promise<string[]>;
    },

    /**
     * Records the noted failure of entry `id` with `record`, then forgets the note, under the entry's recording lock,
     * which a retry takes too: a retry never interleaves with a recording, so an execution put back to run on is never
     * failed by a note read before the retry dropped it. Resolves `recorded`, `busy` (the lock is held: a retry, or
     * another cleanup job), `gone` (no note any more) or `unreadable` (a note that does not parse, dropped).
     */
    async recordNoted(
      id: string,
      record: (note: Unrecorded) => Promise<void>,
    ): Promise<'recorded' | 'busy' | 'gone' | 'unreadable'> {
      const lock = await takeLock(redis, recordingLock(id), RECORDING_LOCK_MS);
      if (!lock) return 'busy';
      return lock.hold(async () => {
        const raw = await redis.hget(keys.unrecorded, id);
        if (raw === null) return 'gone';
        const note = Unrecorded.safeParse(parseJson(raw));
        if (note.success) await record(note.data);
        await dropNote(id, raw);
        return note.success ? 'recorded' : 'unreadable';
      });
    },

    /** Whether each job of `queue` is parked (one EXISTS each, sent together). */
    async holds(queue: string, jobIds: string[]): Promise<boolean[]> {
      const found = await Promise.all(jobIds.map((jobId) => redis.exists(dlq.toKey(entryId(queue, jobId)))));
      return found.map((count) => count > 0);
    },

    /**
     * Forgets the entry, and its failed original first: a failed job without an entry is one the sweep parks
     * (`sweepUnparked`).
     */
    async discard(view: DeadLetterView): Promise<void> {
      await refuseUnfinished(view);
      await removeOriginal(view, 'discard');
      await forget(view);
    },
  };
}
export type DeadLetter = ReturnType<typeof createDeadLetter>;
