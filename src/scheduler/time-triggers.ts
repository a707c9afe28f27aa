// What the scheduler does when a time trigger fires: find the audience in batches and enrol it at low priority.
import type { EngineEvent } from '../events/schema.js';
import { jobPriority } from '../engine/priority.js';
import type { LeadStore } from '../leads/store.js';
import type { Organization } from '../orgs/store.js';
import { stableId } from '../shared/ids.js';
import type { Keys } from '../shared/keys.js';
import { dateKeysFor, localDate } from '../time/clock.js';
import type { WorkflowStore } from '../workflows/store.js';

/** Leads enrolled per batch: bounded memory however large the audience. */
export const SWEEP_BATCH = 500;

export interface SweepDeps {
  keys: Keys;
  leads: Pick<LeadStore, 'scan'>;
  workflows: Pick<WorkflowStore, 'published'>;
  org(orgId: string): Promise<Organization | undefined>;
  /** Adds trigger jobs in bulk at the given priority (ids derived from event ids). */
  enqueueEvents(events: EngineEvent[], priority: number | undefined): Promise<void>;
}

export interface Firing {
  orgId: string;
  workflowId: string;
  triggerNodeId: string;
  /** Identifies this firing (the scheduler job's id), so a firing enrols each lead once. */
  firingId: string;
  /** When the firing was due (ms); its audience is that day's, however late the firing runs. */
  dueAt: number;
}

/**
 * When a scheduler's job was due: its id ends in that time (`repeat:<scheduler id>:<ms>`, kept by a retry from the
 * dead-letter queue), else its `prevMillis` option; a job added by hand was due when it was added.
 */
export function firingDueAt(job: { id?: string; opts: { prevMillis?: number }; timestamp: number }): number {
  const fromId = /^repeat:.+:(\d+)$/.exec(job.id ?? '');
  return fromId ? Number(fromId[1]) : (job.opts.prevMillis ?? job.timestamp);
}

/**
 * Enrols the audience of one firing. `scheduled` and `recurring` triggers scan the organization's leads;
 * `date_reached` reads only the index sets of the dates that are due today, so its cost follows the matches.
 * Each lead becomes one trigger event; the trigger worker applies the filter and the enrolment rule.
 */
export async function sweep(
  deps: SweepDeps,
  firing: Firing,
): Promise<{ enrolled: number; skipped?: string }> {
  const workflow = (await deps.workflows.published(firing.orgId)).find(
    (wf) => wf.workflowId === firing.workflowId,
  );
  const trigger = workflow?.compiled.triggers.find((t) => t.id === firing.triggerNodeId);
  if (!workflow || !trigger?.schedule)
    return { enrolled: 0, skipped: 'workflow or trigger no longer published' };

  const org = await deps.org(firing.orgId);
  // A firing that runs late (the scheduler was down, a retry, a dead-letter retry days later) sweeps its own day, by
  // its due time rather than this process's clock.
  const { dueAt } = firing;
  const schedule = trigger.schedule;
  const sources =
    schedule.kind === 'date'
      ? dateKeysFor(localDate(dueAt, org?.timeZone ?? 'UTC'), schedule.offsetDays, schedule.yearly).map(
          (day) => deps.keys.dateIndex(firing.orgId, schedule.field, day),
        )
      : [deps.keys.leads(firing.orgId)];
  const priority = jobPriority(trigger.event, workflow.compiled.definition.settings.priority);
  const occurredAt = new Date(dueAt).toISOString();

  let enrolled = 0;
  for (const source of sources) {
    for await (const ids of deps.leads.scan(source, SWEEP_BATCH)) {
      const events: EngineEvent[] = ids.map((leadId) => ({
        id: `t-${stableId(firing.firingId, leadId)}`,
        orgId: firing.orgId,
        type: trigger.event,
        occurredAt,
        receivedAt: occurredAt,
        lead: { id: leadId },
        data: {
          workflowId: firing.workflowId,
          triggerNodeId: firing.triggerNodeId,
          firingId: firing.firingId,
        },
      }));
      await deps.enqueueEvents(events, priority);
      enrolled += events.length;
    }
  }
  return { enrolled };
}
