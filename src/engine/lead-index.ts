// Finding a lead's executions: lookups from a normalized email or phone to the lead id, and per lead a sorted set of
// its executions. Written when an event is accepted and an execution starts; stale ids (swept executions) are
// dropped when read.
import type { LeadInput } from '../events/schema.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export const normalizeEmail = (email: string) => email.trim().toLowerCase();
export const normalizePhone = (phone: string) => phone.replace(/[^0-9+]/g, '');

export function createLeadIndex(redis: RedisClient, keys: Keys) {
  return {
    /** The lookup keys an event's lead data refreshes (its email and phone number), for `OrgIndex.eventContext`. */
    lookupKeys(orgId: string, input: LeadInput | undefined): string[] {
      const found: string[] = [];
      if (input?.email) found.push(keys.leadLookup(orgId, 'email', normalizeEmail(input.email)));
      if (input?.phone && normalizePhone(input.phone) !== '')
        found.push(keys.leadLookup(orgId, 'phone', normalizePhone(input.phone)));
      return found;
    },

    /** The lead id for an email or a phone number, if the engine saw one. */
    async lookup(orgId: string, kind: 'email' | 'phone', value: string): Promise<string | undefined> {
      const normalized = kind === 'email' ? normalizeEmail(value) : normalizePhone(value);
      if (normalized === '') return undefined;
      return (await redis.get(keys.leadLookup(orgId, kind, normalized))) ?? undefined;
    },

    /** A lead's execution ids, newest first. */
    async executions(orgId: string, leadId: string, limit: number): Promise<string[]> {
      return redis.zrevrange(keys.leadHistory(orgId, leadId), 0, limit - 1);
    },

    /** Drops ids of executions that no longer exist (removed by the retention sweep). */
    async forget(orgId: string, leadId: string, executionIds: string[]): Promise<void> {
      if (executionIds.length > 0) await redis.zrem(keys.leadHistory(orgId, leadId), ...executionIds);
    },
  };
}
export type LeadIndex = ReturnType<typeof createLeadIndex>;
