// Replay protection: an accepted signature is remembered (SET NX with a TTL), so the same request twice is refused.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export function createReplayGuard(redis: RedisClient, keys: Keys) {
  const key = (orgId: string, source: string, signature: string) =>
    keys.webhookSeen(orgId, source, createHash('sha256').update(signature).digest('base64url'));
  return {
    /** True the first time a signature is seen within `ttlSeconds`; false for a replay. */
    async claim(orgId: string, source: string, signature: string, ttlSeconds: number): Promise<boolean> {
      return (await redis.set(key(orgId, source, signature), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
    },
    /** Forgets a claim whose request then failed, so the provider's retry is not mistaken for a replay. */
    async release(orgId: string, source: string, signature: string): Promise<void> {
      await redis.del(key(orgId, source, signature));
    },
  };
}
export type ReplayGuard = ReturnType<typeof createReplayGuard>;
