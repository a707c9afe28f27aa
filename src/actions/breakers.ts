// Circuit breakers per provider endpoint (cockatiel). Consecutive retryable failures open one; while open, calls
// are refused at once with a RetryAfterError, so the step is delayed (not failed) until a half-open probe succeeds.
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
  /** Called on every state change, for logs and tests. */
  onChange?: (key: string, state: 'open' | 'half_open' | 'closed') => void;
}

/** Errors that say the provider is unwell: network, timeouts, 5xx. A 4xx or a 429 says nothing about its health. */
const isFailure = (error: unknown) =>
  !(error instanceof NonRetryableError) && !(error instanceof RetryAfterError);

interface Entry {
  policy: CircuitBreakerPolicy;
  openedAt: number;
  /** How often it opened since the process started. */
  openings: number;
}

export function createBreakers({ threshold, halfOpenAfterMs, now = Date.now, onChange }: BreakerOptions) {
  const entries = new Map<string, Entry>();

  const entryFor = (key: string): Entry => {
    let entry = entries.get(key);
    if (!entry) {
      const policy = circuitBreaker(handleWhen(isFailure), {
        halfOpenAfter: halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(threshold),
      });
      const created: Entry = { policy, openedAt: 0, openings: 0 };
      policy.onBreak(() => {
        created.openedAt = now();
        created.openings += 1;
        onChange?.(key, 'open');
      });
      policy.onHalfOpen(() => onChange?.(key, 'half_open'));
      policy.onReset(() => onChange?.(key, 'closed'));
      entries.set(key, created);
      entry = created;
    }
    return entry;
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
    /** Runs `call` through the breaker of `key` (a provider and its endpoint). */
    async run<T>(key: string, call: () => Promise<T>): Promise<T> {
      const entry = entryFor(key);
      try {
        return await entry.policy.execute(call);
      } catch (error) {
        if (isBrokenCircuitError(error)) {
          throw new RetryAfterError(
            `${key}: circuit open after ${threshold} consecutive failures; waiting for a probe to succeed`,
            delayFor(entry),
            { code: 'circuit_open', context: { breaker: key } },
          );
        }
        // The failure that opened the breaker, or a failed probe: delayed like every other call while it is open.
        if (isFailure(error) && entry.policy.state === CircuitState.Open) {
          throw new RetryAfterError(`${errorMessage(error)} (circuit ${key} is open)`, delayFor(entry), {
            code: 'circuit_open',
            cause: error,
            context: {
              breaker: key,
              ...(error instanceof AtlasError ? { providerError: error.code, ...error.context } : {}),
            },
          });
        }
        throw error;
      }
    },

    /** Every breaker this process made, with its state and how often it opened. */
    snapshot(): { key: string; state: 'open' | 'half_open' | 'closed'; openings: number }[] {
      return [...entries.entries()].map(([key, entry]) => ({
        key,
        state: this.state(key),
        openings: entry.openings,
      }));
    },

    state(key: string): 'open' | 'half_open' | 'closed' {
      const state = entries.get(key)?.policy.state;
      return state === CircuitState.Open || state === CircuitState.Isolated
        ? 'open'
        : state === CircuitState.HalfOpen
          ? 'half_open'
          : 'closed';
    },
  };
}
export type Breakers = ReturnType<typeof createBreakers>;
