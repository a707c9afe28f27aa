// Replay protection: an accepted signature is remembered (a key with a TTL, set once its events are queued), so the
// same request again is refused.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export function createReplayGuard(redis: RedisClient, keys: Keys) {
  const key = (orgId: string, source: string, signature: string) =>
    keys.webhookSeen(orgId, source, createHash('sha256').update(signature).digest('base64url'));
  return {
    /** Whether a request with this signature was accepted within its replay window. */
    async seen(orgId: string, source: string, signature: string): Promise<boolean> {
      return (await redis.exists(key(orgId, source, signature))) === 1;
    },
    /**
     * Remembers a signature for `ttlSeconds`, once its request's events are queued: a request that died before
     * (a crash, a timeout) leaves nothing that would refuse the provider's retry of it.
     */
    async remember(orgId: string, source: string, signature: string, ttlSeconds: number): Promise<void> {
      await redis.set(key(orgId, source, signature), '1', 'EX', ttlSeconds);
    },
  };
}
export type ReplayGuard = ReturnType<typeof createReplayGuard>;
