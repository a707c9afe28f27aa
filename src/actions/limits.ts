// Rate limits per organization and action type, and frequency caps per lead and channel across all workflows,
// decided atomically in Redis. A step over a limit gets the time it may run (a reserved slot, in arrival order) and is
// delayed to it, never dropped.
import type { ConsentChannel, LimitWindow, LimitedActionType, OrgSettings } from '../orgs/settings.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

const DAY = 86_400_000;

/** Defaults; RATE_LIMITS and FREQUENCY_CAPS override them, an organization's `limits` settings override both. */
export const defaultRates: Record<LimitedActionType, LimitWindow> = {
  send_email: { limit: 20, windowMs: 1000 },
  send_sms: { limit: 10, windowMs: 1000 },
  send_whatsapp: { limit: 10, windowMs: 1000 },
  sync_to_meta: { limit: 50, windowMs: 1000 },
  create_stripe_customer: { limit: 20, windowMs: 1000 },
  webhook_call: { limit: 20, windowMs: 1000 },
  update_lead: { limit: 20, windowMs: 1000 },
  add_tag: { limit: 20, windowMs: 1000 },
  change_status: { limit: 20, windowMs: 1000 },
};
export const defaultCaps: Record<ConsentChannel, LimitWindow> = {
  email: { limit: 5, windowMs: DAY },
  sms: { limit: 2, windowMs: DAY },
  whatsapp: { limit: 2, windowMs: DAY },
};

const limitScript = `
-- Reserves a send slot under a rate limit (sliding window over reserved times) and a frequency cap.
-- KEYS[1] rate log: sorted set, member = idempotency key, score = reserved time (ms)
-- KEYS[2] cap log: the same for one lead and channel
-- ARGV[1] now, ARGV[2] member, ARGV[3] rate limit, ARGV[4] rate window, ARGV[5] cap limit (0: none), ARGV[6] cap window
-- returns { at (ms; at <= now means go), reason ('' | 'rate_limited' | 'frequency_cap') }
local now = tonumber(ARGV[1])
local member = ARGV[2]
local rateLimit, rateWindow = tonumber(ARGV[3]), tonumber(ARGV[4])
local capLimit, capWindow = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - rateWindow)
-- A step that already holds a slot (it was delayed to it, or is retried) keeps it.
local held = redis.call('ZSCORE', KEYS[1], member)
if held then
  if tonumber(held) <= now then return {tostring(held), ''} end
  return {tostring(held), 'rate_limited'}
end
if capLimit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - capWindow)
  if not redis.call('ZSCORE', KEYS[2], member) then
    local count = redis.call('ZCARD', KEYS[2])
    if count >= capLimit then
      local oldest = redis.call('ZRANGE', KEYS[2], count - capLimit, count - capLimit, 'WITHSCORES')
      return {tostring(tonumber(oldest[2]) + capWindow), 'frequency_cap'}
    end
  end
end
-- The earliest time after every earlier reservation at which the window holds fewer than rateLimit slots.
local at = now
local n = redis.call('ZCARD', KEYS[1])
if n > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if tonumber(last[2]) > at then at = tonumber(last[2]) end
  if n >= rateLimit then
    local kth = redis.call('ZRANGE', KEYS[1], n - rateLimit, n - rateLimit, 'WITHSCORES')
    local free = tonumber(kth[2]) + rateWindow
    if free > at then at = free end
  end
end
redis.call('ZADD', KEYS[1], at, member)
redis.call('PEXPIRE', KEYS[1], at - now + rateWindow + 1000)
if capLimit > 0 then
  redis.call('ZADD', KEYS[2], 'NX', at, member)
  redis.call('PEXPIRE', KEYS[2], at - now + capWindow + 1000)
end
if at > now then return {tostring(at), 'rate_limited'} end
return {tostring(at), ''}
`;

export interface LimitRequest {
  orgId: string;
  actionType: LimitedActionType;
  /** The step's idempotency key: a step holds one slot however often it is retried or delayed. */
  key: string;
  /** With a lead and a channel the frequency cap applies too. */
  leadId?: string;
  channel?: ConsentChannel;
  settings?: OrgSettings;
}

export interface LimitDecision {
  /** 0 when the step may run now; else how long to wait. */
  delayMs: number;
  reason?: 'rate_limited' | 'frequency_cap';
  /** When the step may run (ms). */
  at: number;
  rate: LimitWindow;
  cap?: LimitWindow;
}

export interface LimiterOptions {
  rates?: Partial<Record<string, LimitWindow>>;
  caps?: Partial<Record<string, LimitWindow>>;
  now?: () => number;
}

export function createLimiter(redis: RedisClient, keys: Keys, options: LimiterOptions = {}) {
  if (!('atlasLimit' in redis)) redis.defineCommand('atlasLimit', { numberOfKeys: 2, lua: limitScript });
  const run = (redis as unknown as { atlasLimit(...args: (string | number)[]): Promise<[string, string]> })
    .atlasLimit;
  const now = options.now ?? Date.now;

  return {
    /** The limits that apply to a step: the organization's, else the operator's, else the defaults. */
    limitsFor(request: Pick<LimitRequest, 'actionType' | 'channel' | 'settings'>) {
      const orgLimits = request.settings?.limits;
      const rate =
        orgLimits?.rates[request.actionType] ??
        options.rates?.[request.actionType] ??
        defaultRates[request.actionType];
      const cap = request.channel
        ? (orgLimits?.caps[request.channel] ??
          options.caps?.[request.channel] ??
          defaultCaps[request.channel])
        : undefined;
      return { rate, cap };
    },

    async acquire(request: LimitRequest): Promise<LimitDecision> {
      const { rate, cap } = this.limitsFor(request);
      const capped = cap && request.leadId && request.channel;
      const at0 = now();
      const [at, reason] = await run.call(
        redis,
        keys.rateLog(request.orgId, request.actionType),
        keys.capLog(request.orgId, capped ? request.channel! : '-', capped ? request.leadId! : '-'),
        at0,
        request.key,
        rate.limit,
        rate.windowMs,
        capped ? cap.limit : 0,
        capped ? cap.windowMs : 0,
      );
      const when = Number(at);
      return {
        delayMs: Math.max(0, when - at0),
        ...(reason ? { reason: reason as LimitDecision['reason'] } : {}),
        at: when,
        rate,
        ...(capped ? { cap } : {}),
      };
    },
  };
}
export type Limiter = ReturnType<typeof createLimiter>;
