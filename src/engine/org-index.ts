// An organization's bookkeeping of its executions, all on the organization's slot: the workflow's execution list, the
// lead's execution history, the finished index the retention sweep reads, the counters, and the lead's enrolment
// lock. Each moment that touches several of them (an event arrives, an execution starts, an execution ends) is one
// script.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { fromFlatPairs } from '../shared/replies.js';

/**
 * How long a lead's execution history is kept after its last execution: longer than the default retention;
 * executions an organization keeps longer are still found from their workflow's list.
 */
export const LEAD_HISTORY_TTL_SECONDS = 400 * 24 * 3600;

/** An ended execution's member of the finished index: its workflow and its id (the retention sweep splits it). */
export const finishedMember = (workflowId: string, executionId: string) => `${workflowId} ${executionId}`;

const startedScript = `
-- Enrols the lead (when the workflow's rule asks for it), then lists and counts the execution, once however often a
-- retried trigger job asks.
-- KEYS[1] workflow's executions, KEYS[2] counters, KEYS[3] lead's history, KEYS[4] the enrolment key: the lead's
-- active lock, or the workflow's once-ever hash (KEYS[3..4] absent without a lead, KEYS[4] without a rule)
-- ARGV[1] execution id, ARGV[2] now (ms), ARGV[3] counter field, ARGV[4] history cutoff (ms), ARGV[5] history TTL (s),
-- ARGV[6] rule ('once_active', 'once_ever' or ''), ARGV[7] lead id, ARGV[8] a stale active lock's holder to replace
-- ('' for none): the lock changes hands only if it still names that holder, and the new holder is listed at once
-- returns { 1 } when listed, { 0, holder } when another execution holds the lead
if KEYS[4] then
  local holder
  if ARGV[6] == 'once_ever' then
    redis.call('HSETNX', KEYS[4], ARGV[7], ARGV[1])
    holder = redis.call('HGET', KEYS[4], ARGV[7])
  elseif not redis.call('SET', KEYS[4], ARGV[1], 'NX') then
    holder = redis.call('GET', KEYS[4])
    if ARGV[8] ~= '' and holder == ARGV[8] then
      redis.call('SET', KEYS[4], ARGV[1])
      holder = ARGV[1]
    end
  end
  if holder and holder ~= ARGV[1] then return { 0, holder } end
end
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
if KEYS[3] then
  redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
return { 1 }
`;

const finishedScript = `
-- KEYS[1] finished index, KEYS[2] counters, KEYS[3] the lead's enrolment lock (absent without a lead)
-- ARGV[1] now (ms), ARGV[2] finished member, ARGV[3] counter field, ARGV[4] execution id
-- Counted once however often an end is finalized: a revived execution leaves the index, so its next end counts again.
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[3], 1) end
if KEYS[3] and redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
return 1
`;

const eventContextScript = `
-- KEYS[1] published workflow pointers, KEYS[2] the organization's lead set, KEYS[3] the event's dedupe marker,
-- KEYS[4..3+w] waiter hashes, then the lead's email and phone lookups
-- ARGV[1] lead id ('' for none), ARGV[2] waiter hash count w, ARGV[3] lookup TTL (s)
-- returns { published pointers (flat), then each waiter hash (flat) }
local w = tonumber(ARGV[2])
redis.call('SET', KEYS[3], 'd', 'XX', 'KEEPTTL')
if ARGV[1] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[1])
  for i = 4 + w, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'EX', ARGV[3]) end
end
local result = { redis.call('HGETALL', KEYS[1]) }
for i = 4, 3 + w do table.insert(result, redis.call('HGETALL', KEYS[i])) end
return result
`;

interface ScriptClient {
  atlasEventContext(keyCount: number, ...args: (string | number)[]): Promise<string[][]>;
  atlasExecutionStarted(keyCount: number, ...args: (string | number)[]): Promise<[number, string?]>;
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
     * What the trigger side needs from the organization for one event, in one call: it marks the event taken (its
     * ingest marker, if it has one, turns from pending to done, so the id is a duplicate from now on); with a lead, it
     * adds the lead to the organization's lead set and refreshes its email and phone lookups; it returns the published
     * workflow pointers (workflow id → version) and the contents of each waiter hash asked for, in order.
     */
    async eventContext(
      orgId: string,
      input: { eventId: string; leadId: string | null; waiterKeys: string[]; lookupKeys: string[] },
    ): Promise<{ published: Record<string, string>; waiters: Record<string, string>[] }> {
      const keyList = [
        keys.published(orgId),
        keys.leads(orgId),
        keys.dedupe(orgId, input.eventId),
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

    /** When a starting execution was listed under its workflow (ms), if it was. */
    async listedAt(orgId: string, workflowId: string, executionId: string): Promise<number | undefined> {
      const score = await redis.zscore(keys.executionsOf(orgId, workflowId), executionId);
      return score === null ? undefined : Number(score);
    },

    /**
     * Lists a starting execution under its workflow and lead and counts it, once (idempotent for the same id). With an
     * enrolment rule the lead is enrolled first, in the same script: `once_active` takes the lead's active lock,
     * `once_ever` its once-ever marker. Resolves `{ holder }` instead when another execution holds the lead.
     * `replacing`: the holder of a stale active lock, which this start takes over if the lock still names it.
     */
    async started(
      orgId: string,
      workflowId: string,
      leadId: string | null,
      executionId: string,
      at: number,
      rule?: 'once_active' | 'once_ever',
      replacing?: string,
    ): Promise<{ listed: true } | { listed: false; holder: string }> {
      const keyList = [keys.executionsOf(orgId, workflowId), keys.stats(orgId)];
      if (leadId) keyList.push(keys.leadHistory(orgId, leadId));
      if (leadId && rule)
        keyList.push(
          rule === 'once_ever' ? keys.enrolled(orgId, workflowId) : keys.active(orgId, workflowId, leadId),
        );
      const [listed, holder] = await scripts.atlasExecutionStarted(
        keyList.length,
        ...keyList,
        executionId,
        at,
        `${workflowId}:started`,
        at - LEAD_HISTORY_TTL_SECONDS * 1000,
        LEAD_HISTORY_TTL_SECONDS,
        rule ?? '',
        leadId ?? '',
        replacing ?? '',
      );
      return listed === 1 ? { listed: true } : { listed: false, holder: holder ?? '' };
    },

    /** Whether an execution's end is recorded in the finished index. */
    async isFinished(orgId: string, workflowId: string, executionId: string): Promise<boolean> {
      return (await redis.zscore(keys.finished(orgId), finishedMember(workflowId, executionId))) !== null;
    },

    /**
     * Indexes an ended execution for the retention sweep, counts it under its status (once, however often it is
     * finalized), and releases its lead's enrolment lock if the execution still holds it.
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
      const args = [at, finishedMember(workflowId, executionId), `${workflowId}:${status}`, executionId];
      await (leadId
        ? scripts.atlasExecutionFinished(3, ...indexed, keys.active(orgId, workflowId, leadId), ...args)
        : scripts.atlasExecutionFinished(2, ...indexed, ...args));
    },
  };
}
export type OrgIndex = ReturnType<typeof createOrgIndex>;
