// The claim half of the effect ledger. Before an external effect, its step claims the idempotency key in the
// execution's effects hash; the runner records the provider's result after it (`<nodeId>.<iteration>`). A claim stops
// two deliveries of one job from sending at once, and tells a later attempt that an earlier one may have sent.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

const claimScript = `
-- KEYS[1] effects hash; ARGV[1] effect key, ARGV[2] claim JSON, ARGV[3] now (ms), ARGV[4] claim lifetime (ms)
-- returns { outcome ('claimed'|'recorded'|'held'|'taken_over'), previous claim JSON or recorded result or '' }
local recorded = redis.call('HGET', KEYS[1], ARGV[1])
if recorded then return {'recorded', recorded} end
local field = ARGV[1] .. '#claim'
local previous = redis.call('HGET', KEYS[1], field)
if previous then
  local claim = cjson.decode(previous)
  if tonumber(ARGV[3]) - tonumber(claim.atMs) < tonumber(ARGV[4]) then return {'held', previous} end
  redis.call('HSET', KEYS[1], field, ARGV[2])
  return {'taken_over', previous}
end
redis.call('HSET', KEYS[1], field, ARGV[2])
return {'claimed', ''}
`;

const releaseScript = `
-- Drops a claim if it is still ours. KEYS[1] effects hash; ARGV[1] effect key, ARGV[2] claim token
local field = ARGV[1] .. '#claim'
local current = redis.call('HGET', KEYS[1], field)
if current and cjson.decode(current).token == ARGV[2] then return redis.call('HDEL', KEYS[1], field) end
return 0
`;

/** How long a claim holds before a later attempt may take it over (longer than a job lock, 30 s). */
export const CLAIM_LIFETIME_MS = 60_000;

export interface Claim {
  token: string;
  attempt: number;
  atMs: number;
}

export type ClaimOutcome =
  | { outcome: 'claimed' }
  | { outcome: 'recorded'; result: unknown }
  | { outcome: 'held'; previous: Claim }
  | { outcome: 'taken_over'; previous: Claim };

/** The effect a claim is about: an execution and its ledger field. */
export interface ClaimTarget {
  executionId: string;
  effectKey: string;
}

/** `executionId:nodeId:iteration` → the ledger field `nodeId.iteration` (for a caller outside a parallel arm). */
export function effectKeyOf(idempotencyKey: string): ClaimTarget {
  const parts = idempotencyKey.split(':');
  const iteration = parts.pop();
  const nodeId = parts.pop();
  return { executionId: parts.join(':'), effectKey: `${nodeId}.${iteration}` };
}

export function createEffectClaims(redis: RedisClient, keys: Keys, lifetimeMs = CLAIM_LIFETIME_MS) {
  for (const [name, lua] of [
    ['atlasClaim', claimScript],
    ['atlasUnclaim', releaseScript],
  ] as const) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua });
  }
  const scripts = redis as unknown as {
    atlasClaim(...args: (string | number)[]): Promise<[string, string]>;
    atlasUnclaim(...args: (string | number)[]): Promise<number>;
  };

  return {
    async claim(target: ClaimTarget, claim: Claim): Promise<ClaimOutcome> {
      const { executionId, effectKey } = target;
      const [outcome, previous] = await scripts.atlasClaim(
        keys.execution(executionId).effects,
        effectKey,
        JSON.stringify(claim),
        claim.atMs,
        lifetimeMs,
      );
      if (outcome === 'claimed') return { outcome };
      if (outcome === 'recorded') return { outcome, result: JSON.parse(previous) as unknown };
      return { outcome: outcome as 'held' | 'taken_over', previous: JSON.parse(previous) as Claim };
    },

    async release(target: ClaimTarget, token: string): Promise<void> {
      const { executionId, effectKey } = target;
      await scripts.atlasUnclaim(keys.execution(executionId).effects, effectKey, token);
    },

    lifetimeMs,
  };
}
export type EffectClaims = ReturnType<typeof createEffectClaims>;
