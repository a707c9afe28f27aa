// Finding a lead's executions: lookups from a normalized email or phone to the lead id, and per lead a sorted set of
// its executions. Written when an event is accepted and an execution starts; stale ids (swept executions) are
// dropped when read.
import type { LeadInput } from '../events/schema.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { LEAD_HISTORY_TTL_SECONDS } from './org-index.js';

export const normalizeEmail = (email: string) => email.trim().toLowerCase();
export const normalizePhone = (phone: string) => phone.replace(/[^0-9+]/g, '');

/** How long an email's or a phone number's lead is remembered after the lead's last event. */
const LOOKUP_TTL_SECONDS = LEAD_HISTORY_TTL_SECONDS;

export function createLeadIndex(redis: RedisClient, keys: Keys) {
  return {
    /** Remembers which lead an email and a phone number belong to. */
    async remember(orgId: string, input: LeadInput | undefined, leadId: string | undefined): Promise<void> {
      if (!input || !leadId) return;
      const writes: Promise<unknown>[] = [];
      if (input.email) {
        const key = keys.leadLookup(orgId, 'email', normalizeEmail(input.email));
        writes.push(redis.set(key, leadId, 'EX', LOOKUP_TTL_SECONDS));
      }
      if (input.phone && normalizePhone(input.phone) !== '') {
        const key = keys.leadLookup(orgId, 'phone', normalizePhone(input.phone));
        writes.push(redis.set(key, leadId, 'EX', LOOKUP_TTL_SECONDS));
      }
      await Promise.all(writes);
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
