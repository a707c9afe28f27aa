// Execution state in Redis: one hash, an append-only step log and bookkeeping keys, all under the execution's hash tag.
// Each state change is one Lua script on that slot, so concurrent arms and retried jobs never corrupt it.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export const executionStatuses = [
  'running',
  'waiting',
  'completed',
  'failed',
  'cancelled',
  'exited',
] as const;
export type ExecutionStatus = (typeof executionStatuses)[number];
export const terminalStatuses: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled', 'exited']);

export interface StepError {
  name: string;
  code: string;
  message: string;
  retryable: boolean;
}

export interface StepRecord {
  nodeId: string;
  type: string;
  status: 'completed' | 'failed' | 'waiting' | 'skipped';
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** Label of the edge taken out of a branch or split. */
  edge?: string;
  output?: unknown;
  error?: StepError;
  /** The parallel arms this step ran in. */
  arms?: string[];
  /** `replayed`: a retry found this effect in the ledger and did not repeat it. */
  effect?: 'recorded' | 'replayed';
  /** The ledger key of an effect (`executionId:nodeId:iteration`), passed to providers that deduplicate. */
  idempotencyKey?: string;
  /** The provider's id for the effect (message id, customer id, event id). */
  providerId?: string;
  /** The effect went to the sandbox outbox because of test mode. */
  testMode?: boolean;
  /** For a wait: when the next node is due. */
  until?: string;
  note?: string;
}

/** A job the engine will enqueue next, as stored with the step that planned it (so a retry re-enqueues the same). */
export interface PlannedJob {
  nodeId: string;
  arms: string[];
  /** Epoch milliseconds when the job is due; absent for immediate jobs. */
  runAt?: number;
  /** The job resumes this node rather than entering the next (see NodeJobData). */
  resume?: 'event' | 'window' | 'elapsed';
  outcome?: 'received' | 'timed_out';
  deferrals?: number;
}

export interface ExecutionState {
  id: string;
  orgId: string;
  workflowId: string;
  version: number;
  leadId: string | null;
  status: ExecutionStatus;
  triggerNodeId: string;
  event: Record<string, unknown>;
  pending: number;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  waitingUntil?: string;
  error?: StepError;
  /** Why a cancelled or exited execution ended. */
  endReason?: string;
  priority?: number;
  /** Set on an execution started by replaying another from one of its nodes. */
  replayOf?: ReplayLink;
  /** Created with its enrolment and not kept yet: its start may still be refused, and it expires unless kept. */
  provisional?: true;
}

export interface ReplayLink {
  executionId: string;
  nodeId: string;
}

const createScript = `
-- KEYS[1] state, KEYS[2] steps, KEYS[3] done, KEYS[4] event
-- ARGV[1] state fields as JSON object, ARGV[2] trigger step JSON, ARGV[3] done field, ARGV[4] plan JSON,
-- ARGV[5] the triggering event (kept apart so the state hash stays small enough for Redis's compact encoding),
-- ARGV[6] seconds until a provisional execution expires unless kept ('' when not provisional): it is marked
-- provisional (field 'provisional') and its keys get that expiry
-- returns 1 when created, 0 when the execution already existed
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = cjson.decode(ARGV[1])
local pairsList = {}
for name, value in pairs(fields) do
  table.insert(pairsList, name)
  table.insert(pairsList, value)
end
redis.call('HSET', KEYS[1], unpack(pairsList))
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('SET', KEYS[4], ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'provisional', '1')
  for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[6]) end
end
return 1
`;

const keepScript = `
-- Keeps a provisional execution whose start was enrolled: it stops being provisional (a refused delivery of the same
-- start can no longer take it back) and its created keys lose their provisional expiry, unless it has ended: an ended
-- execution keeps the expiry its end set.
-- KEYS[1] state, KEYS[2..4] the other keys the create wrote; returns 'kept', 'ended' or 'missing'
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
redis.call('HDEL', KEYS[1], 'provisional')
if status ~= 'running' and status ~= 'waiting' then return 'ended' end
for _, key in ipairs(KEYS) do redis.call('PERSIST', key) end
return 'kept'
`;

const discardScript = `
-- Deletes a provisional execution whose start was refused, unless it was kept meanwhile (another delivery of the same
-- start, enrolled, keeps it). KEYS[1] state, KEYS[2..4] the other keys the create wrote; returns 1 when deleted
if redis.call('HGET', KEYS[1], 'provisional') ~= '1' then return 0 end
redis.call('DEL', unpack(KEYS))
return 1
`;

const commitScript = `
-- Records the steps one job ran and what it planned next, once per job key. The commit that completes the execution
-- also sets the retention expiry on every key of it.
-- KEYS[1] state, KEYS[2] steps, KEYS[3] done, KEYS[4] outputs, KEYS[5] timers, KEYS[6..8] the execution's other keys
-- ARGV[1] job key, ARGV[2] plan JSON, ARGV[3] pending delta, ARGV[4] delayed delta, ARGV[5] now (ISO),
-- ARGV[6] waiting-until (ISO or ''), ARGV[7] timer job id to forget ('' for none), ARGV[8] expiry seconds ('' for
-- none), ARGV[9] step count n, ARGV[10..9+n] steps JSON, then output pairs (node id, JSON)
-- returns { outcome ('committed'|'duplicate'|'missing'), status, pending, plan, '1' when the keys were expired }
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', '', '0', '[]'} end
local previous = redis.call('HGET', KEYS[3], ARGV[1])
if previous then return {'duplicate', status, redis.call('HGET', KEYS[1], 'pending') or '0', previous} end
local n = tonumber(ARGV[9])
for i = 1, n do redis.call('RPUSH', KEYS[2], ARGV[9 + i]) end
for i = 10 + n, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
if ARGV[7] ~= '' then redis.call('HDEL', KEYS[5], ARGV[7]) end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
local pending = redis.call('HINCRBY', KEYS[1], 'pending', ARGV[3])
local delayed = redis.call('HINCRBY', KEYS[1], 'delayed', ARGV[4])
if status == 'running' or status == 'waiting' then
  if pending <= 0 then
    status = 'completed'
    redis.call('HSET', KEYS[1], 'finishedAt', ARGV[5])
    redis.call('HDEL', KEYS[1], 'waitingUntil')
  elseif delayed >= pending then
    status = 'waiting'
    if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'waitingUntil', ARGV[6]) end
  else
    status = 'running'
    redis.call('HDEL', KEYS[1], 'waitingUntil')
  end
  redis.call('HSET', KEYS[1], 'status', status)
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[5])
if status == 'completed' and ARGV[8] ~= '' then
  for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[8]) end
  return {'committed', status, tostring(pending), ARGV[2], '1'}
end
return {'committed', status, tostring(pending), ARGV[2], '0'}
`;

const failScript = `
-- Records a failed attempt. On the final attempt the execution becomes 'failed' (its job is parked, still pending)
-- and 'failedJobs' counts the parked jobs, so it runs again only once every one of them was retried. A parked job is
-- counted once however often its final failure is recorded (the runner, then the worker's abandon after an error
-- that followed it): its id is noted in the state as 'parked:<job id>'.
-- KEYS[1] state, KEYS[2] steps, KEYS[3] effects
-- ARGV[1] now, ARGV[2] final ('1'|'0'), ARGV[3] error JSON, ARGV[4] the job's id ('' for none), ARGV[5] step count n,
-- ARGV[6..5+n] steps, then effect pairs
-- Returns { status after, '1' | '0' }: '0' when the job's final failure was recorded before, which leaves the status,
-- error and counts as they were (its step records are still appended).
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'', '0'} end
local n = tonumber(ARGV[5])
for i = 1, n do redis.call('RPUSH', KEYS[2], ARGV[5 + i]) end
for i = 6 + n, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
local recorded = '1'
if ARGV[2] == '1' then
  if ARGV[4] == '' or redis.call('HSETNX', KEYS[1], 'parked:' .. ARGV[4], ARGV[1]) == 1 then
    redis.call('HINCRBY', KEYS[1], 'failedJobs', 1)
    if status == 'running' or status == 'waiting' or status == 'failed' then
      status = 'failed'
      redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[3], 'finishedAt', ARGV[1])
    end
  else
    recorded = '0'
  end
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1])
return {status, recorded}
`;

const reviveScript = `
-- A dead-lettered job is retried: once no parked job is left, the failed execution runs again and its keys lose
-- the retention expiry they got when it failed.
-- KEYS: every key of the execution, state first; ARGV[1] now, ARGV[2] the retried job's id ('' if unknown), whose
-- final failure counts again if it comes; returns the status after
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'failed' then return status or '' end
if ARGV[2] ~= '' and redis.call('HDEL', KEYS[1], 'parked:' .. ARGV[2]) == 0 then
  -- Not counted under this id: a second retry of the same job, or one whose failure was never recorded. Only an
  -- execution with no marks at all (failed before jobs were marked) counts down by the job, as it did.
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, 7) == 'parked:' then return 'failed' end
  end
end
local parked = redis.call('HINCRBY', KEYS[1], 'failedJobs', -1)
if parked > 0 then return 'failed' end
redis.call('HSET', KEYS[1], 'status', 'running', 'updatedAt', ARGV[1])
redis.call('HDEL', KEYS[1], 'error', 'finishedAt')
for _, key in ipairs(KEYS) do redis.call('PERSIST', key) end
return 'running'
`;

const endScript = `
-- Ends a live execution with a final status (cancelled, exited) and returns its pending timer job ids.
-- KEYS[1] state, KEYS[2] timers; ARGV[1] status, ARGV[2] now, ARGV[3] reason
-- returns { 'ended'|'unchanged'|'missing', status, timer job ids... }
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if status ~= 'running' and status ~= 'waiting' and status ~= 'failed' then return {'unchanged', status} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[2], 'updatedAt', ARGV[2], 'endReason', ARGV[3])
redis.call('HDEL', KEYS[1], 'waitingUntil')
local result = {'ended', ARGV[1]}
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do table.insert(result, id) end
return result
`;

const joinScript = `
-- One arm arrives at a join. Only the arm whose arrival completes the set proceeds, even when retried.
-- KEYS[1] joins hash; ARGV[1] join key, ARGV[2] arm, ARGV[3] expected arm count
-- returns 1 for the arm that proceeds, 0 otherwise
local arms = cjson.decode(redis.call('HGET', KEYS[1], ARGV[1]) or '[]')
local present = false
for _, arm in ipairs(arms) do if arm == ARGV[2] then present = true end end
if not present then
  table.insert(arms, ARGV[2])
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(arms))
end
local completer = redis.call('HGET', KEYS[1], ARGV[1] .. '#by')
if not completer and #arms >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1] .. '#by', ARGV[2])
  completer = ARGV[2]
end
if completer == ARGV[2] then return 1 end
return 0
`;

const expireScript = `
-- Sets the retention expiry on every key of an execution in one call. KEYS: the keys; ARGV[1] seconds
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[1]) end
return #KEYS
`;

const releaseScript = `
-- Deletes a lock only if it still holds the given value. KEYS[1] lock; ARGV[1] value
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface ScriptClient {
  atlasCreateExecution(...args: (string | number)[]): Promise<number>;
  atlasKeepExecution(...args: (string | number)[]): Promise<'kept' | 'ended' | 'missing'>;
  atlasDiscardExecution(...args: (string | number)[]): Promise<number>;
  atlasCommit(...args: (string | number)[]): Promise<[string, string, string, string, string?]>;
  atlasFail(...args: (string | number)[]): Promise<[string, '0' | '1']>;
  atlasRevive(...args: (string | number)[]): Promise<string>;
  atlasEnd(...args: (string | number)[]): Promise<string[]>;
  atlasJoin(...args: (string | number)[]): Promise<number>;
  atlasRelease(...args: (string | number)[]): Promise<number>;
  atlasExpire(...args: (string | number)[]): Promise<number>;
}

function defineScripts(redis: RedisClient): ScriptClient {
  const scripts: [string, number, string][] = [
    ['atlasCreateExecution', 4, createScript],
    ['atlasKeepExecution', 4, keepScript],
    ['atlasDiscardExecution', 4, discardScript],
    ['atlasCommit', 8, commitScript],
    ['atlasFail', 3, failScript],
    ['atlasRevive', 8, reviveScript],
    ['atlasEnd', 2, endScript],
    ['atlasJoin', 1, joinScript],
    ['atlasRelease', 1, releaseScript],
    ['atlasExpire', 8, expireScript],
  ];
  for (const [name, numberOfKeys, lua] of scripts) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  }
  return redis as unknown as ScriptClient;
}

export interface NewExecution {
  id: string;
  orgId: string;
  workflowId: string;
  version: number;
  leadId: string | null;
  triggerNodeId: string;
  /** BullMQ priority of the execution's jobs; absent for high priority. */
  priority?: number;
  event: Record<string, unknown>;
  triggerStep: StepRecord;
  plan: PlannedJob[];
  replayOf?: ReplayLink;
  /**
   * Created before its start is known to be enrolled: its keys expire after this many seconds unless `keep` is called,
   * so a crash between the create and the enrolment's answer leaves nothing behind for good.
   */
  provisionalSeconds?: number;
}

export interface CommitInput {
  jobKey: string;
  steps: StepRecord[];
  outputs: Record<string, unknown>;
  plan: PlannedJob[];
  /** This job's own pending slot is released: planned jobs minus one. */
  pendingDelta: number;
  delayedDelta: number;
  waitingUntil?: string;
  /** The job id of the delayed job now running, removed from the timers set. */
  timerDone?: string;
  /** The retention expiry set on the execution's keys by the commit that completes it. */
  expireSeconds?: number;
}

export interface CommitResult {
  outcome: 'committed' | 'duplicate' | 'missing';
  status: ExecutionStatus;
  pending: number;
  plan: PlannedJob[];
  /** This commit completed the execution and set the retention expiry on its keys. */
  expired: boolean;
}

export function createExecutionStore(redis: RedisClient, keys: Keys) {
  const scripts = defineScripts(redis);
  /** The keys `create` writes, state first: the ones a keep or a discard of a provisional execution touches. */
  const createdKeys = (executionId: string) => {
    const k = keys.execution(executionId);
    return [k.state, k.steps, k.done, k.event] as const;
  };

  return {
    /** Creates the execution with its trigger step; returns false when it already existed (a retried trigger job). */
    async create(input: NewExecution): Promise<boolean> {
      const now = input.triggerStep.startedAt;
      const state = {
        id: input.id,
        orgId: input.orgId,
        workflowId: input.workflowId,
        version: String(input.version),
        leadId: input.leadId ?? '',
        status: input.plan.length === 0 ? 'completed' : 'running',
        triggerNodeId: input.triggerNodeId,
        ...(input.priority ? { priority: String(input.priority) } : {}),
        pending: String(input.plan.length),
        delayed: '0',
        startedAt: now,
        updatedAt: now,
        ...(input.plan.length === 0 ? { finishedAt: now } : {}),
        ...(input.replayOf ? { replayOf: JSON.stringify(input.replayOf) } : {}),
      };
      const created = await scripts.atlasCreateExecution(
        ...createdKeys(input.id),
        JSON.stringify(state),
        JSON.stringify(input.triggerStep),
        `${input.triggerNodeId}.0`,
        JSON.stringify(input.plan),
        JSON.stringify(input.event),
        input.provisionalSeconds ?? '',
      );
      return created === 1;
    },

    /**
     * Keeps a provisional execution (see `NewExecution.provisionalSeconds`); `ended` when it has ended (its expiry
     * stays), `missing` when it is gone (a refused delivery of the same start took it back before this keep).
     */
    async keep(executionId: string): Promise<'kept' | 'ended' | 'missing'> {
      return scripts.atlasKeepExecution(...createdKeys(executionId));
    },

    /** Deletes what `create` wrote of a provisional execution whose start was refused, unless it was kept meanwhile. */
    async discard(executionId: string): Promise<void> {
      await scripts.atlasDiscardExecution(...createdKeys(executionId));
    },

    async load(executionId: string): Promise<ExecutionState | undefined> {
      const k = keys.execution(executionId);
      const [hash, event] = await Promise.all([redis.hgetall(k.state), redis.get(k.event)]);
      return parseState(hash, event);
    },

    async outputs(executionId: string): Promise<Record<string, unknown>> {
      const raw = await redis.hgetall(keys.execution(executionId).outputs);
      return Object.fromEntries(Object.entries(raw).map(([id, json]) => [id, JSON.parse(json) as unknown]));
    },

    async steps(executionId: string, offset = 0, limit = 1000): Promise<StepRecord[]> {
      const raw = await redis.lrange(keys.execution(executionId).steps, offset, offset + limit - 1);
      return raw.map((json) => JSON.parse(json) as StepRecord);
    },

    /** The jobs a job key planned when its steps were committed, or undefined when it has not committed. */
    async planned(executionId: string, jobKey: string): Promise<PlannedJob[] | undefined> {
      const raw = await redis.hget(keys.execution(executionId).done, jobKey);
      return raw === null ? undefined : (JSON.parse(raw) as PlannedJob[]);
    },

    async commit(executionId: string, input: CommitInput, now: string): Promise<CommitResult> {
      const k = keys.execution(executionId);
      const args: (string | number)[] = [
        k.state,
        k.steps,
        k.done,
        k.outputs,
        k.timers,
        k.event,
        k.effects,
        k.joins,
        input.jobKey,
        JSON.stringify(input.plan),
        input.pendingDelta,
        input.delayedDelta,
        now,
        input.waitingUntil ?? '',
        input.timerDone ?? '',
        input.expireSeconds ?? '',
        input.steps.length,
        ...input.steps.map((step) => JSON.stringify(step)),
      ];
      for (const [nodeId, output] of Object.entries(input.outputs))
        args.push(nodeId, JSON.stringify(output ?? null));
      const [outcome, status, pending, plan, expired] = await scripts.atlasCommit(...args);
      return {
        outcome: outcome as CommitResult['outcome'],
        status: status as ExecutionStatus,
        pending: Number(pending),
        plan: JSON.parse(plan) as PlannedJob[],
        expired: expired === '1',
      };
    },

    /**
     * Records a failed attempt and the effects that succeeded before it; `final` parks the execution as failed.
     * Resolves the execution's status after, and whether it recorded the failure: a final failure of a job recorded
     * before (the runner, then the worker's abandon; the failed listener, then the sweep) leaves the execution as it
     * was, bar step records.
     */
    async fail(
      executionId: string,
      input: {
        steps: StepRecord[];
        effects: Record<string, unknown>;
        final: boolean;
        error: StepError;
        /** The failing job's id: its final failure is counted once however often it is recorded. */
        jobId?: string;
      },
      now: string,
    ): Promise<{ status: string; recorded: boolean }> {
      const k = keys.execution(executionId);
      const args: (string | number)[] = [
        k.state,
        k.steps,
        k.effects,
        now,
        input.final ? '1' : '0',
        JSON.stringify(input.error),
        input.jobId ?? '',
        input.steps.length,
        ...input.steps.map((step) => JSON.stringify(step)),
      ];
      for (const [key, effect] of Object.entries(input.effects)) args.push(key, JSON.stringify(effect));
      const [status, recorded] = await scripts.atlasFail(...args);
      return { status, recorded: recorded === '1' };
    },

    /** A parked job is retried (`jobId`, when known): once none is left, the failed execution runs again. */
    async revive(executionId: string, now: string, jobId?: string): Promise<string> {
      const k = keys.execution(executionId);
      return scripts.atlasRevive(
        k.state,
        k.event,
        k.steps,
        k.done,
        k.outputs,
        k.effects,
        k.joins,
        k.timers,
        now,
        jobId ?? '',
      );
    },

    /** Ends a live execution (cancel, goal reached). Returns the final status and the delayed jobs to remove. */
    async end(executionId: string, status: 'cancelled' | 'exited', reason: string, now: string) {
      const k = keys.execution(executionId);
      const [outcome, final, ...timers] = await scripts.atlasEnd(k.state, k.timers, status, now, reason);
      return { ended: outcome === 'ended', status: final ?? '', timers };
    },

    async recordEffect(executionId: string, effectKey: string, effect: unknown): Promise<void> {
      const effects = keys.execution(executionId).effects;
      await redis
        .multi()
        .hset(effects, effectKey, JSON.stringify(effect))
        // The action guard's claim on the effect (src/actions/ledger.ts) is done with once the result is recorded.
        .hdel(effects, `${effectKey}#claim`)
        .exec();
    },

    async status(executionId: string): Promise<string | null> {
      return redis.hget(keys.execution(executionId).state, 'status');
    },

    async effect(executionId: string, effectKey: string): Promise<unknown> {
      const raw = await redis.hget(keys.execution(executionId).effects, effectKey);
      return raw === null ? undefined : (JSON.parse(raw) as unknown);
    },

    async addTimers(executionId: string, jobIds: string[]): Promise<void> {
      if (jobIds.length > 0) {
        await redis.hset(
          keys.execution(executionId).timers,
          Object.fromEntries(jobIds.map((id) => [id, '1'])),
        );
      }
    },

    async arriveAtJoin(
      executionId: string,
      joinKey: string,
      arm: string,
      expected: number,
    ): Promise<boolean> {
      return (await scripts.atlasJoin(keys.execution(executionId).joins, joinKey, arm, expected)) === 1;
    },

    async releaseLock(lockKey: string, executionId: string): Promise<void> {
      await scripts.atlasRelease(lockKey, executionId);
    },

    /** Expires every key of the execution after `seconds` (the retention backstop to the cleanup sweep). */
    async expire(executionId: string, seconds: number): Promise<void> {
      await scripts.atlasExpire(...Object.values(keys.execution(executionId)), seconds);
    },

    async remove(executionId: string): Promise<void> {
      await redis.del(...Object.values(keys.execution(executionId)));
    },
  };
}
export type ExecutionStore = ReturnType<typeof createExecutionStore>;

function parseState(hash: Record<string, string>, event: string | null): ExecutionState | undefined {
  if (!hash.id) return undefined;
  const state: ExecutionState = {
    id: hash.id,
    orgId: hash.orgId ?? '',
    workflowId: hash.workflowId ?? '',
    version: Number(hash.version),
    leadId: hash.leadId ? hash.leadId : null,
    status: (hash.status ?? 'running') as ExecutionStatus,
    triggerNodeId: hash.triggerNodeId ?? '',
    event: JSON.parse(event ?? '{}') as Record<string, unknown>,
    pending: Number(hash.pending ?? 0),
    startedAt: hash.startedAt ?? '',
    updatedAt: hash.updatedAt ?? '',
  };
  if (hash.finishedAt) state.finishedAt = hash.finishedAt;
  if (hash.waitingUntil) state.waitingUntil = hash.waitingUntil;
  if (hash.error) state.error = JSON.parse(hash.error) as StepError;
  if (hash.endReason) state.endReason = hash.endReason;
  if (hash.priority) state.priority = Number(hash.priority);
  if (hash.replayOf) state.replayOf = JSON.parse(hash.replayOf) as ReplayLink;
  if (hash.provisional === '1') state.provisional = true;
  return state;
}
