// Derived `form_abandoned`: a `form_started` not followed by `form_submitted` within the organization's window.
import type { EngineEvent, EventInput } from '../events/schema.js';
import type { Organization } from '../orgs/store.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

const MARK_SECONDS = 24 * 3600;

export interface FormDeps {
  redis: RedisClient;
  keys: Keys;
  org(orgId: string): Promise<Organization | undefined>;
  /** Schedules the check; returns nothing, the job id is derived from the started event. */
  scheduleCheck(
    orgId: string,
    leadId: string,
    formId: string,
    startedEventId: string,
    delayMs: number,
  ): Promise<string>;
  removeJob(jobId: string): Promise<void>;
  ingest(orgId: string, events: EventInput[]): Promise<unknown>;
}

export interface FormCheck {
  orgId: string;
  leadId: string;
  formId: string;
  startedEventId: string;
}

export function createFormTracking(deps: FormDeps) {
  const pointer = (orgId: string, leadId: string, formId: string) =>
    `${deps.keys.formAbandoned(orgId, leadId, formId)}:check`;

  return {
    async started(event: EngineEvent, leadId: string, formId: string) {
      const org = await deps.org(event.orgId);
      const windowMs = (org?.formAbandonMinutes ?? 30) * 60_000;
      const jobId = await deps.scheduleCheck(event.orgId, leadId, formId, event.id, windowMs);
      await deps.redis.set(pointer(event.orgId, leadId, formId), jobId, 'PX', windowMs + MARK_SECONDS * 1000);
      await deps.redis.del(deps.keys.formAbandoned(event.orgId, leadId, formId));
    },

    async submitted(event: EngineEvent, leadId: string, formId: string) {
      const key = pointer(event.orgId, leadId, formId);
      const jobId = await deps.redis.get(key);
      if (jobId) await deps.removeJob(jobId);
      await deps.redis.del(key);
    },

    /** The check fires: emits `form_abandoned` unless the form was submitted, restarted, or already reported. */
    async check(check: FormCheck, jobId: string): Promise<'emitted' | 'submitted' | 'reported'> {
      const key = pointer(check.orgId, check.leadId, check.formId);
      if ((await deps.redis.get(key)) !== jobId) return 'submitted';
      const eventId = `form_abandoned.${check.startedEventId}`;
      const mark = deps.keys.formAbandoned(check.orgId, check.leadId, check.formId);
      const first = await deps.redis.set(mark, eventId, 'EX', MARK_SECONDS, 'NX');
      if (first !== 'OK' && (await deps.redis.get(mark)) !== eventId) return 'reported';
      await deps.ingest(check.orgId, [
        {
          id: eventId,
          type: 'form_abandoned',
          lead: { id: check.leadId },
          data: { formId: check.formId, derived: true, startedEventId: check.startedEventId },
        },
      ]);
      await deps.redis.del(key);
      return 'emitted';
    },
  };
}
