// A lock one caller holds at a time, for periodic work that several processes may start (a SET NX with a TTL and a
// token of the holder's): renewed as the work goes on, released at its end, and lapsing by itself if the holder dies.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis.js';

/**
 * Renews or releases a lock if the caller still holds it.
 * KEYS[1] the lock; ARGV[1] the caller's token, ARGV[2] milliseconds to renew it for, or 0 to release it.
 * Returns 1, or 0 when the caller no longer holds the lock.
 */
const lockScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end
return 1
`;

interface LockClient {
  atlasLock(key: string, token: string, ms: number): Promise<number>;
}

export interface HeldLock {
  /** Holds the lock another `ttlMs`; resolves false when it was lost (it lapsed, another caller took it). */
  renew(): Promise<boolean>;
  /** Lets the lock go, if still held. */
  release(): Promise<void>;
  /** Runs `work` while renewing the lock every third of its TTL, then lets it go. */
  hold<T>(work: () => Promise<T>): Promise<T>;
}

/** Takes the lock at `key` for `ttlMs`, or resolves undefined while another caller holds it. */
export async function takeLock(
  redis: RedisClient,
  key: string,
  ttlMs: number,
): Promise<HeldLock | undefined> {
  if (!('atlasLock' in redis)) redis.defineCommand('atlasLock', { numberOfKeys: 1, lua: lockScript });
  const client = redis as RedisClient & LockClient;
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
  const lock: HeldLock = {
    renew: async () => (await client.atlasLock(key, token, ttlMs)) === 1,
    release: async () => {
      await client.atlasLock(key, token, 0);
    },
    async hold(work) {
      const renewal = setInterval(() => void lock.renew().catch(() => undefined), ttlMs / 3);
      try {
        return await work();
      } finally {
        clearInterval(renewal);
        await lock.release();
      }
    },
  };
  return lock;
}
