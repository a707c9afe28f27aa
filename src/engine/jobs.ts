// Job payloads on the engine's queues, parsed with zod when a worker picks them up.
import { z } from 'zod';

export const NodeJobData = z.strictObject({
  orgId: z.string().min(1),
  executionId: z.string().min(1),
  workflowId: z.string().min(1),
  version: z.number().int().positive(),
  nodeId: z.string().min(1),
  iteration: z.number().int().min(0),
  arms: z.array(z.string()),
  /** Set on a job that holds one of the execution's timer slots (a wait); its commit releases the slot. */
  delayed: z.boolean().optional(),
  /**
   * Set on a job that resumes a node instead of entering it: `event` ends a wait-for-event (with `outcome`),
   * `window` runs a communication step the send window held back (the `deferrals`-th time), `elapsed` ends a wait
   * that has no node after it (so the execution, and its lead's enrolment, last until the wait is over).
   */
  resume: z.enum(['event', 'window', 'elapsed']).optional(),
  outcome: z.enum(['received', 'timed_out']).optional(),
  /** The event that ended a wait-for-event. */
  received: z.record(z.string(), z.unknown()).optional(),
  deferrals: z.number().int().min(1).optional(),
  /** BullMQ priority (a larger number runs later); absent for the high-priority wait list. */
  priority: z.number().int().min(1).optional(),
});
export type NodeJobData = z.output<typeof NodeJobData>;

/** Names a job by its work: the node, the iteration, the parallel arm, and what it resumes. */
export function jobKeyOf(
  job: Pick<NodeJobData, 'nodeId' | 'iteration' | 'arms' | 'resume' | 'deferrals'>,
): string {
  const base = [job.nodeId, job.iteration, ...job.arms].join('.');
  if (job.resume === 'event') return `${base}~event`;
  if (job.resume === 'window') return `${base}~window${job.deferrals ?? 1}`;
  if (job.resume === 'elapsed') return `${base}~elapsed`;
  return base;
}

/** The BullMQ id: the two ways a wait-for-event resumes are two jobs sharing one job key; only one commits. */
export function nodeJobId(
  job: Pick<
    NodeJobData,
    'executionId' | 'nodeId' | 'iteration' | 'arms' | 'resume' | 'deferrals' | 'outcome'
  >,
): string {
  const id = `${job.executionId}.${jobKeyOf(job)}`;
  if (job.resume !== 'event') return id;
  return `${id}.${job.outcome === 'received' ? 'r' : 't'}`;
}

export interface NodeJobSpec {
  data: NodeJobData;
  jobId: string;
  /** Epoch milliseconds; a job with runAt goes to the `wait` queue as a delayed job. */
  runAt?: number;
}
