// Queue health: job counts per state and connected workers, per queue.
import type { Queues } from '../queue/queues.js';

/** A BullMQ queue, named through `Queues` (only src/queue imports bullmq). */
type Queue = Queues['wait'];

export interface QueueHealth {
  name: string;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  prioritized: number;
  workers: number;
  /**
   * An action queue of another ACTION_QUEUE_PARTITIONS that still holds unfinished jobs: listed until a worker has
   * moved them to the current partitions (its `workers` are processes still running the old count).
   */
  retired?: true;
}

async function healthOf(name: string, queue: Queue): Promise<QueueHealth> {
  const [counts, workers] = await Promise.all([
    queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'),
    queue.getWorkersCount().catch(() => 0),
  ]);
  return {
    name,
    waiting: counts.waiting ?? 0,
    active: counts.active ?? 0,
    completed: counts.completed ?? 0,
    failed: counts.failed ?? 0,
    delayed: counts.delayed ?? 0,
    prioritized: counts.prioritized ?? 0,
    workers,
  };
}

/** The engine's queues, then the retired action queues that still hold unfinished jobs. */
export async function queueHealth(queues: Queues): Promise<QueueHealth[]> {
  const [current, retired] = await Promise.all([
    Promise.all([...queues.all].map(([name, queue]) => healthOf(name, queue))),
    queues.retiredHolding().then((holding) =>
      Promise.all(
        holding.map(async (queue) => ({
          ...(await healthOf(queue.name, queue)),
          retired: true as const,
        })),
      ),
    ),
  ]);
  return [...current, ...retired];
}
