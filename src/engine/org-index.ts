// An organization's bookkeeping of its executions, all on the organization's slot: the workflow's execution list, the
// lead's execution history, the finished index the retention sweep reads, the counters, and the lead's enrolment
// lock. Each of the two moments that touch several of them (an execution starts, an execution ends) is one script.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { fromFlatPairs } from '../shared/replies.js';

/**
 * How long a lead's execution history is kept after its last execution: longer than the default retention;
 * executions an organization keeps longer are still found from their workflow's list.
 */
export const LEAD_HISTORY_TTL_SECONDS = 400 * 24 * 3600;

const startedScript = `
-- KEYS[1] workflow's executions, KEYS[2] counters, KEYS[3] lead's history (absent without a lead)
-- ARGV[1] execution id, ARGV[2] now (ms), ARGV[3] counter field, ARGV[4] '1' when the execution was just created,
-- ARGV[5] history cutoff (ms), ARGV[6] history TTL (s)
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
if KEYS[3] and ARGV[4] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[6])
end
return 1
`;

const finishedScript = `
-- KEYS[1] finished index, KEYS[2] counters, KEYS[3] the lead's enrolment lock (absent without a lead)
-- ARGV[1] now (ms), ARGV[2] finished member, ARGV[3] counter field, ARGV[4] execution id
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
if KEYS[3] and redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
return 1
`;

const eventContextScript = `
-- KEYS[1] published workflow pointers, KEYS[2] the organization's lead set, KEYS[3..2+w] waiter hashes, then the
-- lead's email and phone lookups
-- ARGV[1] lead id ('' for none), ARGV[2] waiter hash count w, ARGV[3] lookup TTL (s)
-- returns { published pointers (flat), then each waiter hash (flat) }
local w = tonumber(ARGV[2])
if ARGV[1] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[1])
  for i = 3 + w, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', ARGV[3]) end
end
local result = { redis.call('HGETALL', KEYS[1]) }
for i = 3, 2 + w do table.insert(result, redis.call('HGETALL', KEYS[i])) end
return result
`;

interface ScriptClient {
  atlasEventContext(keyCount: number, ...args: (string | number)[]): Promise<string[][]>;
  atlasExecutionStarted(keyCount: number, ...args: (string | number)[]): Promise<number>;
  atlasExecutionFinished(keyCount: number, ...args: (string | number)[]): Promise<number>;
}

export function createOrgIndex(redis: RedisClient, keys: Keys) {
  // Without `numberOfKeys` the key count is the first argument: an execution without a lead passes one key fewer.
  if (!('atlasExecutionStarted' in redis))
    redis.defineCommand('atlasExecutionStarted', { lua: startedScript });
  if (!('atlasExecutionFinished' in redis))
    redis.defineCommand('atlasExecutionFinished', { lua: finishedScript });
  if (!('atlasEventContext' in redis)) redis.defineCommand('atlasEventContext', { lua: eventContextScript });
  const scripts = redis as unknown as ScriptClient;

  return {
    /**
     * What the trigger side needs from the organization for one event, in one call: with a lead, it adds the lead to
     * the organization's lead set and refreshes its email and phone lookups; it returns the published workflow
     * pointers (workflow id → version) and the contents of each waiter hash asked for, in order.
     */
    async eventContext(
      orgId: string,
      input: { leadId: string | null; waiterKeys: string[]; lookupKeys: string[] },
    ): Promise<{ published: Record<string, string>; waiters: Record<string, string>[] }> {
      const keyList = [
        keys.published(orgId),
        keys.leads(orgId),
        ...input.waiterKeys,
        ...(input.leadId ? input.lookupKeys : []),
      ];
      const [published = [], ...waiters] = await scripts.atlasEventContext(
        keyList.length,
        ...keyList,
        input.leadId ?? '',
        input.waiterKeys.length,
        LEAD_HISTORY_TTL_SECONDS,
      );
      return { published: fromFlatPairs(published), waiters: waiters.map((flat) => fromFlatPairs(flat)) };
    },

    /** Lists a started execution under its workflow and lead; counts it once, when `created`. Idempotent. */
    async started(
      orgId: string,
      workflowId: string,
      leadId: string | null,
      executionId: string,
      at: number,
      created: boolean,
    ): Promise<void> {
      const listed = [keys.executionsOf(orgId, workflowId), keys.stats(orgId)];
      const args = [
        executionId,
        at,
        `${workflowId}:started`,
        created ? '1' : '0',
        at - LEAD_HISTORY_TTL_SECONDS * 1000,
        LEAD_HISTORY_TTL_SECONDS,
      ];
      await (leadId
        ? scripts.atlasExecutionStarted(3, ...listed, keys.leadHistory(orgId, leadId), ...args)
        : scripts.atlasExecutionStarted(2, ...listed, ...args));
    },

    /**
     * Indexes an ended execution for the retention sweep, counts it under its status, and releases its lead's
     * enrolment lock if the execution still holds it.
     */
    async finished(
      orgId: string,
      workflowId: string,
      leadId: string | null,
      executionId: string,
      status: string,
      at: number,
    ): Promise<void> {
      const indexed = [keys.finished(orgId), keys.stats(orgId)];
      const args = [at, `${workflowId} ${executionId}`, `${workflowId}:${status}`, executionId];
      await (leadId
        ? scripts.atlasExecutionFinished(3, ...indexed, keys.active(orgId, workflowId, leadId), ...args)
        : scripts.atlasExecutionFinished(2, ...indexed, ...args));
    },
  };
}
export type OrgIndex = ReturnType<typeof createOrgIndex>;
