// One error hierarchy: each error says whether retrying can help. Only the node runner maps these to BullMQ behaviour.

export interface AtlasErrorOptions {
  cause?: unknown;
  /** Machine-readable code, such as `provider_rejected` or `validation_failed`. */
  code?: string;
  context?: Record<string, unknown>;
}

export class AtlasError extends Error {
  override name = 'AtlasError';
  readonly code: string;
  readonly context: Record<string, unknown>;
  /** Whether running the same work again may succeed. */
  readonly retryable: boolean = true;

  constructor(message: string, options: AtlasErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = options.code ?? 'internal_error';
    this.context = options.context ?? {};
  }
}

/** Transient: a network error, a 5xx, a timeout. Retried with exponential backoff. */
export class RetryableError extends AtlasError {
  override name = 'RetryableError';
}

/** Permanent: a 4xx from a provider, a refused address, a missing lead. Fails the step at once. */
export class NonRetryableError extends AtlasError {
  override name = 'NonRetryableError';
  override readonly retryable = false;
}

/** The provider asked us to come back later (429, Retry-After). Delays the step without spending an attempt. */
export class RetryAfterError extends AtlasError {
  override name = 'RetryAfterError';
  readonly delayMs: number;
  constructor(message: string, delayMs: number, options: AtlasErrorOptions = {}) {
    super(message, options);
    // At most a day. A provider's `Retry-After` is floored at a second where it is read (`retryAfterMs`), so
    // `Retry-After: 0` cannot spin a worker; the engine's own delays (a breaker's probe, a reserved rate-limit slot)
    // are exact, but never below 10 ms.
    this.delayMs = Math.max(10, Math.min(delayMs, 24 * 60 * 60 * 1000));
  }
}

export interface ApiIssue {
  path: string;
  message: string;
}

/** An error the HTTP layer answers with a 4xx and the JSON error body of DESIGN.md. */
export class HttpError extends AtlasError {
  override name = 'HttpError';
  override readonly retryable = false;
  readonly status: number;
  readonly issues: ApiIssue[];
  constructor(status: number, code: string, message: string, issues: ApiIssue[] = []) {
    super(message, { code });
    this.status = status;
    this.issues = issues;
  }
}

export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
