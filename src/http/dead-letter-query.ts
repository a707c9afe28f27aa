// Filters of the dead-letter list (`GET /v1/dead-letter?queue=&workflowId=&code=&executionId=&limit=`).
import { z } from 'zod';
import type { DeadLetterView } from '../queue/dead-letter.js';

/** Entries read before filtering: the newest this many are searched. */
export const DEAD_LETTER_SCAN = 1000;

export const DeadLetterQuery = z.object({
  limit: z.coerce.number().int().min(1).max(DEAD_LETTER_SCAN).default(100),
  queue: z.string().min(1).max(100).optional(),
  workflowId: z.string().min(1).max(100).optional(),
  /** The error code, such as `http_500` or `address_refused`. */
  code: z.string().min(1).max(100).optional(),
  executionId: z.string().min(1).max(100).optional(),
});
export type DeadLetterFilter = Omit<z.output<typeof DeadLetterQuery>, 'limit'>;

export function matchesDeadLetter(entry: DeadLetterView, filter: DeadLetterFilter): boolean {
  return (
    (filter.queue === undefined || entry.queue === filter.queue) &&
    (filter.workflowId === undefined || entry.data.workflowId === filter.workflowId) &&
    (filter.code === undefined || entry.error.code === filter.code) &&
    (filter.executionId === undefined || entry.executionId === filter.executionId)
  );
}
