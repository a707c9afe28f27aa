// Options the engine sets on a BullMQ job besides BullMQ's own, read back from `job.opts`. A job moved out of a retired
// action partition keeps them on its copy (`src/queue/partitions.ts`).
import type { JobsOptions } from 'bullmq';

/** Marks a job the dead-letter queue put back: a job of the same id ran (and failed) before it. */
export const REDELIVERED = 'atlasRedelivered';
/** On a job put back, the `failedAt` of the entry it was put back from. */
export const RETRY_OF = 'atlasRetryOf';

/** The dead-letter marks a job carries, for its copy when it is moved. */
export function deadLetterMarks(job: { opts?: JobsOptions }): JobsOptions {
  const opts = (job.opts ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    [REDELIVERED, RETRY_OF].flatMap((mark) => (mark in opts ? [[mark, opts[mark]]] : [])),
  );
}
