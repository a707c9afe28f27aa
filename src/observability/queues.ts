// Queue health: job counts per state and connected workers, per queue.
import type { Queues } from '../queue/queues.js';

export interface QueueHealth {
  name: string;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  prioritized: number;
  workers: number;
}

export async function queueHealth(queues: Queues): Promise<QueueHealth[]> {
  return Promise.all(
    [...queues.all].map(async ([name, queue]) => {
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
    }),
  );
}
