// Options the engine sets on a BullMQ job besides BullMQ's own, read back from `job.opts`: how often a moved job ran
// before its move, and whether the dead-letter queue put it back. A job moved out of a retired action partition keeps
// them on its copy (`src/queue/partitions.ts`).
import type { JobsOptions } from 'bullmq';

/**
 * On a moved job's copy, the attempts the job made before its move (in every queue it was moved out of). The copy is
 * added with only the attempts left as its `attempts` and counts its own from 0, so BullMQ and the worker tell its last
 * attempt without any counter carried after the add; this option numbers the attempts on in step logs and dead-letter
 * entries.
 */
const ATTEMPTS_BEFORE = 'atlasAttemptsBefore';
/** Marks a job the dead-letter queue put back: a job of the same id ran (and failed) before it. */
const REDELIVERED = 'atlasRedelivered';
/** On a job put back, the `failedAt` of the entry it was put back from. */
const RETRY_OF = 'atlasRetryOf';

interface Marked {
  opts?: JobsOptions;
}

const markOf = (job: Marked, mark: string): unknown =>
  (job.opts as Record<string, unknown> | undefined)?.[mark];

/** Attempts a job made before it was moved out of a retired action partition; 0 for a job never moved. */
export function attemptsBeforeMove(job: Marked): number {
  const before = markOf(job, ATTEMPTS_BEFORE);
  return typeof before === 'number' && before > 0 ? before : 0;
}

/** The option a moved job's copy gets for the attempts made before (none for 0). */
export const withAttemptsBefore = (before: number) =>
  (before > 0 ? { [ATTEMPTS_BEFORE]: before } : {}) as JobsOptions;

/** The options of a job the dead-letter queue puts back from the entry that failed at `failedAt`. */
export const redelivered = (failedAt: string) =>
  ({ [REDELIVERED]: true, [RETRY_OF]: failedAt }) as JobsOptions;

/** Whether the dead-letter queue put the job back. */
export const wasRedelivered = (job: Marked): boolean => markOf(job, REDELIVERED) === true;

/** The `failedAt` of the dead-letter entry the job was put back from, if it was. */
export function retryOf(job: Marked): string | undefined {
  const failedAt = markOf(job, RETRY_OF);
  return typeof failedAt === 'string' ? failedAt : undefined;
}

/** The dead-letter marks a job carries, for its copy when it is moved. */
export function deadLetterMarks(job: Marked): JobsOptions {
  return Object.fromEntries(
    [REDELIVERED, RETRY_OF].flatMap((mark) => {
      const value = markOf(job, mark);
      return value === undefined ? [] : [[mark, value]];
    }),
  );
}
