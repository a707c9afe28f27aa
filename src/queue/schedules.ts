// Time triggers as BullMQ job schedulers on the `scheduled` queue, kept in step with published workflows, and the
// delayed check that derives `form_abandoned`.
import type { Queue, RepeatOptions } from 'bullmq';
import type { PublishedWorkflow } from '../triggers/match.js';
import { nextCron, nextRecurrence, type RecurrenceUnit } from '../time/clock.js';
import { stableId } from '../shared/ids.js';
import type { Organization } from '../orgs/store.js';

/** Job data of a time trigger firing. */
export interface TimeTriggerJob {
  orgId: string;
  workflowId: string;
  triggerNodeId: string;
}

export const TIME_TRIGGER_JOB = 'time-trigger';
export const FORM_CHECK_JOB = 'form-abandon-check';

/**
 * Next run of a scheduler: cron patterns in their zone (cron-parser, daylight-saving correct), and our
 * `@every <n> <unit> <anchor ms> <zone>` for recurring triggers, which keeps local wall-clock time for days and weeks.
 */
export function repeatStrategy(millis: number, opts: RepeatOptions): number | undefined {
  const pattern = opts.pattern ?? '';
  if (pattern.startsWith('@every ')) {
    const [, every, unit, anchor, zone] = pattern.split(' ');
    return nextRecurrence(millis, Number(anchor), Number(every), unit as RecurrenceUnit, zone ?? 'UTC');
  }
  return nextCron(millis, pattern, opts.tz ?? 'UTC');
}

const schedulerId = (orgId: string, workflowId: string, triggerNodeId: string) =>
  `tt.${orgId}.${workflowId}.${triggerNodeId}`;

/** The job schedulers a published workflow needs, by id. */
export function schedulesFor(
  workflow: PublishedWorkflow,
  orgId: string,
  org: Organization | undefined,
  now: number,
) {
  const orgZone = org?.timeZone ?? 'UTC';
  const wanted = new Map<string, { repeat: Omit<RepeatOptions, 'key'>; data: TimeTriggerJob }>();
  for (const trigger of workflow.compiled.triggers) {
    const schedule = trigger.schedule;
    if (!schedule) continue;
    let repeat: Omit<RepeatOptions, 'key'>;
    if (schedule.kind === 'cron') repeat = { pattern: schedule.cron, tz: schedule.timeZone ?? orgZone };
    else if (schedule.kind === 'every') {
      const anchor = schedule.anchor ? Date.parse(schedule.anchor) : now;
      repeat = { pattern: `@every ${schedule.every} ${schedule.unit} ${anchor} ${orgZone}` };
    } else {
      const [hour, minute] = schedule.at.split(':').map(Number);
      repeat = { pattern: `${minute} ${hour} * * *`, tz: orgZone };
    }
    wanted.set(schedulerId(orgId, workflow.workflowId, trigger.id), {
      repeat,
      data: { orgId, workflowId: workflow.workflowId, triggerNodeId: trigger.id },
    });
  }
  return wanted;
}

export function createSchedules(queue: Queue) {
  /** Schedulers whose id starts with `prefix`. */
  async function existing(prefix: string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let start = 0; ; start += 500) {
      const page = await queue.getJobSchedulers(start, start + 499, true);
      for (const scheduler of page) {
        if (scheduler.key.startsWith(prefix))
          found.set(scheduler.key, `${scheduler.pattern}|${scheduler.tz ?? ''}`);
      }
      if (page.length < 500) return found;
    }
  }

  return {
    /**
     * Makes the schedulers of one workflow match what it needs now: upserts (idempotent, so any number of
     * scheduler replicas may do it at once) and removes the ones of triggers that are gone or unpublished.
     */
    async sync(orgId: string, workflowId: string, wanted: ReturnType<typeof schedulesFor>): Promise<void> {
      const current = await existing(`tt.${orgId}.${workflowId}.`);
      for (const [id, { repeat, data }] of wanted) {
        if (current.get(id) === `${repeat.pattern}|${repeat.tz ?? ''}`) continue;
        await queue.upsertJobScheduler(id, repeat, { name: TIME_TRIGGER_JOB, data });
      }
      for (const id of current.keys()) if (!wanted.has(id)) await queue.removeJobScheduler(id);
    },

    /** Removes the schedulers of workflows that are no longer published (`keep` holds `orgId.workflowId`). */
    async prune(keep: Set<string>): Promise<void> {
      for (const id of (await existing('tt.')).keys()) {
        const [, orgId, workflowId] = id.split('.');
        if (!keep.has(`${orgId}.${workflowId}`)) await queue.removeJobScheduler(id);
      }
    },

    /** Schedules the abandonment check of a started form; a later start of the same form replaces it. */
    async formStarted(
      orgId: string,
      leadId: string,
      formId: string,
      startedEventId: string,
      delayMs: number,
    ) {
      const jobId = `fa-${stableId(orgId, leadId, formId, startedEventId)}`;
      await queue.add(FORM_CHECK_JOB, { orgId, leadId, formId, startedEventId }, { jobId, delay: delayMs });
      return jobId;
    },

    async removeJob(jobId: string): Promise<void> {
      await queue.remove(jobId);
    },
  };
}
export type Schedules = ReturnType<typeof createSchedules>;
