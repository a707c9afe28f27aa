// Organizations (tenants) and their API keys. Keys are stored only as SHA-256 hashes.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as z from '../shared/zod.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { DEFAULT_SEND_WINDOW, isValidZone, LocalTime, type SendWindow } from '../time/basics.js';

const TimeZone = z.string().check(z.refine(isValidZone, 'unknown IANA time zone'));
const Name = z.string().check(z.minLength(1), z.maxLength(200));

/** Settings an organization may change. */
export const OrgSettingsInput = z.strictObject({
  name: z.optional(Name),
  timeZone: z.optional(TimeZone),
  /** Days a finished execution and its step log are kept. */
  retentionDays: z.optional(z.number().check(z.int(), z.gte(1), z.lte(3650))),
  /** When communication steps may run, in the lead's time zone (else the organization's). */
  sendWindow: z.optional(z.strictObject({ start: LocalTime, end: LocalTime })),
  /** Minutes after `form_started` without `form_submitted` before the engine emits `form_abandoned`. */
  formAbandonMinutes: z.optional(z.number().check(z.int(), z.gte(1), z.lte(7 * 24 * 60))),
});

export const CreateOrgInput = z.extend(OrgSettingsInput, {
  name: Name,
  timeZone: z._default(TimeZone, 'UTC'),
});
export type CreateOrgInput = z.output<typeof CreateOrgInput>;

export interface Organization {
  id: string;
  name: string;
  timeZone: string;
  retentionDays?: number;
  /** @defaultValue 08:00–21:00 */
  sendWindow: SendWindow;
  /** @defaultValue 30 */
  formAbandonMinutes: number;
  createdAt: string;
}

function toHash(settings: z.output<typeof OrgSettingsInput>): Record<string, string> {
  const hash: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value !== undefined) hash[name] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return hash;
}

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function createOrgStore(redis: RedisClient, keys: Keys) {
  const keyCache = new Map<string, { orgId: string; until: number }>();
  return {
    async create(input: CreateOrgInput): Promise<{ org: Organization; apiKey: string }> {
      const id = `org_${randomBytes(8).toString('hex')}`;
      const apiKey = `atl_${randomBytes(24).toString('base64url')}`;
      await redis.hset(keys.org(id), { id, createdAt: new Date().toISOString(), ...toHash(input) });
      await redis.set(keys.apiKey(hashKey(apiKey)), id);
      await redis.sadd(keys.orgIndex, id);
      return { org: (await this.get(id))!, apiKey };
    },

    async update(
      orgId: string,
      settings: z.output<typeof OrgSettingsInput>,
    ): Promise<Organization | undefined> {
      if (!(await redis.exists(keys.org(orgId)))) return undefined;
      const hash = toHash(settings);
      if (Object.keys(hash).length > 0) await redis.hset(keys.org(orgId), hash);
      return this.get(orgId);
    },

    async get(orgId: string): Promise<Organization | undefined> {
      const hash = await redis.hgetall(keys.org(orgId));
      if (!hash.id) return undefined;
      const org: Organization = {
        id: hash.id,
        name: hash.name ?? '',
        timeZone: hash.timeZone ?? 'UTC',
        sendWindow: hash.sendWindow ? (JSON.parse(hash.sendWindow) as SendWindow) : DEFAULT_SEND_WINDOW,
        formAbandonMinutes: hash.formAbandonMinutes ? Number(hash.formAbandonMinutes) : 30,
        createdAt: hash.createdAt ?? '',
      };
      if (hash.retentionDays) org.retentionDays = Number(hash.retentionDays);
      return org;
    },

    /** The organization an API key belongs to, or undefined. Known keys are cached for a minute per process. */
    async authenticate(apiKey: string): Promise<string | undefined> {
      if (!apiKey.startsWith('atl_') || apiKey.length > 200) return undefined;
      const hash = hashKey(apiKey);
      const hit = keyCache.get(hash);
      if (hit && hit.until > Date.now()) return hit.orgId;
      const orgId = (await redis.get(keys.apiKey(hash))) ?? undefined;
      if (orgId) {
        if (keyCache.size > 10_000) keyCache.clear();
        keyCache.set(hash, { orgId, until: Date.now() + 60_000 });
      }
      return orgId;
    },

    async ids(): Promise<string[]> {
      return redis.smembers(keys.orgIndex);
    },
  };
}
export type OrgStore = ReturnType<typeof createOrgStore>;

/** Compares two secrets in constant time (their hashes, so lengths never leak). */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(
    createHash('sha256').update(given).digest(),
    createHash('sha256').update(expected).digest(),
  );
}

/** Organization settings cached per process for `ttlMs`, for hot paths (every node job, every event). */
export function createOrgCache(orgs: Pick<OrgStore, 'get'>, ttlMs = 30_000, now: () => number = Date.now) {
  const cache = new Map<string, { org: Organization | undefined; until: number }>();
  return async (orgId: string): Promise<Organization | undefined> => {
    const hit = cache.get(orgId);
    if (hit && hit.until > now()) return hit.org;
    const org = await orgs.get(orgId);
    if (cache.size > 10_000) cache.clear();
    cache.set(orgId, { org, until: now() + ttlMs });
    return org;
  };
}
