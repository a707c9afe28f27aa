// Adding the engine's own jobs: node jobs (continuations first), trigger events from sweeps (in bounded batches).
import type { EngineEvent } from '../events/schema.js';
import { priorityOption, triggerJobId } from '../events/ingest.js';
import type { NodeJobSpec } from '../engine/jobs.js';
import type { Queues } from './queues.js';

/** Jobs per `addBulk` call, so one sweep never builds a giant Redis transaction. */
export const BULK_BATCH = 500;

export function createEnqueuers(queues: Queues) {
  return {
    /**
     * Node jobs. A continuation of a running execution goes to the head of its queue (LIFO) so it never waits
     * behind a backlog of new executions; prioritized jobs (normal and low) are taken after every unprioritized one.
     */
    async nodeJobs(specs: NodeJobSpec[], continuation: boolean): Promise<void> {
      const now = Date.now();
      const immediate = specs.filter((spec) => spec.runAt === undefined);
      const delayed = specs.filter((spec) => spec.runAt !== undefined);
      const options = (spec: NodeJobSpec) =>
        spec.data.priority
          ? { jobId: spec.jobId, priority: spec.data.priority }
          : { jobId: spec.jobId, lifo: continuation };
      await Promise.all([
        // One job goes through `add`: `addBulk` builds a pipeline that costs over twice the CPU for a single job.
        immediate.length === 1
          ? queues
              .actionsFor(immediate[0]!.data.orgId)
              .add(immediate[0]!.data.nodeId, immediate[0]!.data, options(immediate[0]!))
          : immediate.length > 1
            ? queues
                .actionsFor(immediate[0]!.data.orgId)
                .addBulk(
                  immediate.map((spec) => ({ name: spec.data.nodeId, data: spec.data, opts: options(spec) })),
                )
            : undefined,
        delayed.length > 0
          ? queues.wait.addBulk(
              delayed.map((spec) => ({
                name: spec.data.nodeId,
                data: spec.data,
                opts: { ...options(spec), lifo: false, delay: Math.max(0, spec.runAt! - now) },
              })),
            )
          : undefined,
      ]);
    },

    /** Trigger events made by the engine itself (sweeps), added in bounded batches at the given priority. */
    async triggerEvents(events: EngineEvent[], priority: number | undefined): Promise<void> {
      for (let i = 0; i < events.length; i += BULK_BATCH) {
        await queues.triggers.addBulk(
          events.slice(i, i + BULK_BATCH).map((event) => ({
            name: event.type,
            data: event,
            opts: { jobId: triggerJobId(event.orgId, event.id), ...priorityOption(priority) },
          })),
        );
      }
    },

    async removeTimers(jobIds: string[]): Promise<void> {
      await Promise.all(jobIds.map((id) => queues.wait.remove(id)));
    },
  };
}
