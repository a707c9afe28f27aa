// Executions waiting for an event: registered when a wait-for-event is reached, claimed once by whichever comes
// first, the event or the timeout.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export interface Waiter {
  executionId: string;
  workflowId: string;
  version: number;
  nodeId: string;
  iteration: number;
  arms: string[];
  /** `execution`: only an event whose `data.executionId` names this execution resumes it. */
  match: 'lead' | 'execution';
  priority?: number;
}

/** A lead's waiters live under the lead id; an execution without a lead waits under `~<executionId>`. */
export const subjectOf = (leadId: string | null, executionId: string) => leadId ?? `~${executionId}`;

/** A waiter hash's contents (read by the trigger side's organization script) as (field, waiter) pairs. */
export const parseWaiters = (hash: Record<string, string>): [string, Waiter][] =>
  Object.entries(hash).map(([field, json]) => [field, JSON.parse(json) as Waiter]);

export function createWaiters(redis: RedisClient, keys: Keys) {
  return {
    async register(
      orgId: string,
      eventType: string,
      subject: string,
      field: string,
      waiter: Waiter,
      ttlMs: number,
    ) {
      const key = keys.waiters(orgId, eventType, subject);
      await redis
        .multi()
        .hset(key, field, JSON.stringify(waiter))
        .pexpire(key, ttlMs + 86_400_000, 'GT')
        .pexpire(key, ttlMs + 86_400_000, 'NX')
        .exec();
    },

    /** Takes the waiter; true for exactly one caller. */
    async claim(orgId: string, eventType: string, subject: string, field: string): Promise<boolean> {
      return (await redis.hdel(keys.waiters(orgId, eventType, subject), field)) === 1;
    },
  };
}
export type Waiters = ReturnType<typeof createWaiters>;
