// Circuit breakers per organization and provider endpoint (cockatiel). Consecutive retryable failures open one; while
// open, calls are refused at once with a RetryAfterError, so the step is delayed (not failed) until a half-open probe
// succeeds. Each organization has its own breaker for an endpoint, so one tenant's failures never delay another's.
import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { AtlasError, NonRetryableError, RetryAfterError, errorMessage } from '../shared/errors.js';

export interface BreakerOptions {
  /** Consecutive failures that open a breaker. */
  threshold: number;
  /** How long an open breaker refuses calls before it lets one probe through. */
  halfOpenAfterMs: number;
  now?: () => number;
  /**
   * How many breakers a process keeps: past it, the oldest closed ones are dropped (their failure counts restart),
   * so endpoints from templated URLs cannot grow the map without bound. Open ones are kept. @defaultValue 10000
   */
  maxBreakers?: number;
  /** Called on every state change, for logs and tests. */
  onChange?: (breaker: BreakerKey, state: BreakerState) => void;
}

/** Which breaker: an organization's calls to one provider endpoint, such as `webhook:https://hooks.example`. */
export interface BreakerKey {
  orgId: string;
  endpoint: string;
}

export type BreakerState = 'open' | 'half_open' | 'closed';

/** Errors that say the provider is unwell: network, timeouts, 5xx. A 4xx or a 429 says nothing about its health. */
const isFailure = (error: unknown) =>
  !(error instanceof NonRetryableError) && !(error instanceof RetryAfterError);

interface Entry extends BreakerKey {
  policy: CircuitBreakerPolicy;
  openedAt: number;
  /** How often it opened since the process started. */
  openings: number;
}

export function createBreakers({
  threshold,
  halfOpenAfterMs,
  now = Date.now,
  onChange,
  maxBreakers = 10_000,
}: BreakerOptions) {
  /** By `mapKey` of their organization and endpoint. */
  const entries = new Map<string, Entry>();
  const mapKey = ({ orgId, endpoint }: BreakerKey) => JSON.stringify([orgId, endpoint]);

  /** Drops closed breakers, oldest first, until there is room for one more. */
  const dropOldestClosed = () => {
    for (const [key, entry] of entries) {
      if (entries.size < maxBreakers) return;
      if (entry.policy.state === CircuitState.Closed) entries.delete(key);
    }
  };

  const entryFor = ({ orgId, endpoint }: BreakerKey): Entry => {
    const key = mapKey({ orgId, endpoint });
    let entry = entries.get(key);
    if (!entry) {
      const policy = circuitBreaker(handleWhen(isFailure), {
        halfOpenAfter: halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(threshold),
      });
      const created: Entry = { orgId, endpoint, policy, openedAt: 0, openings: 0 };
      policy.onBreak(() => {
        created.openedAt = now();
        created.openings += 1;
        onChange?.({ orgId, endpoint }, 'open');
      });
      policy.onHalfOpen(() => onChange?.({ orgId, endpoint }, 'half_open'));
      policy.onReset(() => onChange?.({ orgId, endpoint }, 'closed'));
      if (entries.size >= maxBreakers) dropOldestClosed();
      entries.set(key, created);
      entry = created;
    }
    return entry;
  };

  const stateOf = (entry: Entry | undefined): BreakerState => {
    const state = entry?.policy.state;
    return state === CircuitState.Open || state === CircuitState.Isolated
      ? 'open'
      : state === CircuitState.HalfOpen
        ? 'half_open'
        : 'closed';
  };

  /** When a refused call should come back: at the half-open moment, spread by up to a second of jitter. */
  const delayFor = (entry: Entry) => {
    const jitter = Math.floor(Math.random() * Math.min(1000, halfOpenAfterMs));
    const untilHalfOpen = entry.openedAt + halfOpenAfterMs - now();
    return entry.policy.state === CircuitState.HalfOpen || untilHalfOpen <= 0
      ? Math.min(halfOpenAfterMs, 1000) + jitter
      : untilHalfOpen + jitter;
  };

  return {
    /** Runs `call` through the breaker of an organization's calls to an endpoint. */
    async run<T>(key: BreakerKey, call: () => Promise<T>): Promise<T> {
      const entry = entryFor(key);
      const { endpoint } = key;
      try {
        return await entry.policy.execute(call);
      } catch (error) {
        if (isBrokenCircuitError(error)) {
          throw new RetryAfterError(
            `${endpoint}: circuit open after ${threshold} consecutive failures; waiting for a probe to succeed`,
            delayFor(entry),
            { code: 'circuit_open', context: { breaker: endpoint } },
          );
        }
        // The failure that opened the breaker, or a failed probe: delayed like every other call while it is open.
        if (isFailure(error) && entry.policy.state === CircuitState.Open) {
          throw new RetryAfterError(`${errorMessage(error)} (circuit ${endpoint} is open)`, delayFor(entry), {
            code: 'circuit_open',
            cause: error,
            context: {
              breaker: endpoint,
              ...(error instanceof AtlasError ? { providerError: error.code, ...error.context } : {}),
            },
          });
        }
        throw error;
      }
    },

    /** Every breaker this process made, with its state and how often it opened. */
    snapshot(): (BreakerKey & { state: BreakerState; openings: number })[] {
      return [...entries.values()].map((entry) => ({
        orgId: entry.orgId,
        endpoint: entry.endpoint,
        state: stateOf(entry),
        openings: entry.openings,
      }));
    },

    state(key: BreakerKey): BreakerState {
      return stateOf(entries.get(mapKey(key)));
    },
  };
}
export type Breakers = ReturnType<typeof createBreakers>;
