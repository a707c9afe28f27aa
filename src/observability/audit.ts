// The audit trail: every operator action taken through the API (retry, discard, cancel, replay), per organization.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

/** Entries kept per organization (and for admin actions on no organization). */
export const AUDIT_CAPACITY = 1000;

export interface AuditEntry {
  at: string;
  /** Who acted: an organization API key or the admin token (keys have no names yet). */
  actor: 'org-api-key' | 'admin';
  action:
    'execution.cancel' | 'execution.retry' | 'execution.replay' | 'dead-letter.retry' | 'dead-letter.discard';
  /** The execution or dead-letter entry acted on. */
  target: string;
  detail?: Record<string, unknown>;
}

export function createAudit(redis: RedisClient, keys: Keys, now: () => number = Date.now) {
  const keyOf = (orgId: string | undefined) => (orgId ? keys.audit(orgId) : keys.adminAudit);
  return {
    /** Records an action on an organization's data (or on none, for admin-only targets). */
    async record(orgId: string | undefined, entry: Omit<AuditEntry, 'at'>): Promise<AuditEntry> {
      const full: AuditEntry = { at: new Date(now()).toISOString(), ...entry };
      const key = keyOf(orgId);
      await redis.lpush(key, JSON.stringify(full));
      await redis.ltrim(key, 0, AUDIT_CAPACITY - 1);
      return full;
    },

    async list(orgId: string | undefined, limit = 100): Promise<AuditEntry[]> {
      const raw = await redis.lrange(keyOf(orgId), 0, limit - 1);
      return raw.map((json) => JSON.parse(json) as AuditEntry);
    },
  };
}
export type Audit = ReturnType<typeof createAudit>;
