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
  /** Set on a job that was delayed (a wait); its commit releases the execution's delayed count. */
  delayed: z.boolean().optional(),
});
export type NodeJobData = z.output<typeof NodeJobData>;

/** Names a job by its work: the execution, the node, the iteration and the parallel arm it runs in. */
export function jobKeyOf(job: Pick<NodeJobData, 'nodeId' | 'iteration' | 'arms'>): string {
  return [job.nodeId, job.iteration, ...job.arms].join('.');
}

export function nodeJobId(job: Pick<NodeJobData, 'executionId' | 'nodeId' | 'iteration' | 'arms'>): string {
  return `${job.executionId}.${jobKeyOf(job)}`;
}

export interface NodeJobSpec {
  data: NodeJobData;
  jobId: string;
  /** Epoch milliseconds; a job with runAt goes to the `wait` queue as a delayed job. */
  runAt?: number;
}
