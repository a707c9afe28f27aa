// Organizations (tenants) and their API keys. Keys are stored only as SHA-256 hashes.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export const CreateOrgInput = z.strictObject({
  name: z.string().min(1).max(200),
  timeZone: z
    .string()
    .refine(
      (zone) => Intl.supportedValuesOf('timeZone').includes(zone) || zone === 'UTC',
      'unknown IANA time zone',
    )
    .default('UTC'),
  /** Days a finished execution and its step log are kept. */
  retentionDays: z.number().int().min(1).max(3650).optional(),
});
export type CreateOrgInput = z.output<typeof CreateOrgInput>;

export interface Organization {
  id: string;
  name: string;
  timeZone: string;
  retentionDays?: number;
  createdAt: string;
}

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function createOrgStore(redis: RedisClient, keys: Keys) {
  return {
    async create(input: CreateOrgInput): Promise<{ org: Organization; apiKey: string }> {
      const id = `org_${randomBytes(8).toString('hex')}`;
      const apiKey = `atl_${randomBytes(24).toString('base64url')}`;
      const org: Organization = {
        id,
        name: input.name,
        timeZone: input.timeZone,
        createdAt: new Date().toISOString(),
      };
      if (input.retentionDays) org.retentionDays = input.retentionDays;
      await redis.hset(keys.org(id), { ...org, retentionDays: String(input.retentionDays ?? '') });
      await redis.set(keys.apiKey(hashKey(apiKey)), id);
      await redis.sadd(keys.orgIndex, id);
      return { org, apiKey };
    },

    async get(orgId: string): Promise<Organization | undefined> {
      const hash = await redis.hgetall(keys.org(orgId));
      if (!hash.id) return undefined;
      const org: Organization = {
        id: hash.id,
        name: hash.name ?? '',
        timeZone: hash.timeZone ?? 'UTC',
        createdAt: hash.createdAt ?? '',
      };
      if (hash.retentionDays) org.retentionDays = Number(hash.retentionDays);
      return org;
    },

    /** The organization an API key belongs to, or undefined. */
    async authenticate(apiKey: string): Promise<string | undefined> {
      if (!apiKey.startsWith('atl_') || apiKey.length > 200) return undefined;
      return (await redis.get(keys.apiKey(hashKey(apiKey)))) ?? undefined;
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
