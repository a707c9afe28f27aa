// Configuration: parsed once from the environment by a zod schema whose errors name the variable.
import * as z from '../shared/zod.js';

const intFrom = (fallback: number, min = 0) =>
  z._default(z.coerce.number().check(z.int(), z.gte(min)), fallback);
const splitList = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const list = z.pipe(z._default(z.string(), ''), z.transform(splitList));
/** A string of `min` to `max` characters. */
const sized = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
const RateLimit = z.strictObject({
  limit: z.number().check(z.int(), z.positive()),
  windowMs: z.number().check(z.int(), z.positive()),
});

/** A variable holding JSON, parsed and then checked by `schema`; absent means `{}`. */
const jsonOf = <T extends z.core.$ZodType>(schema: T) =>
  z.pipe(
    z.pipe(
      z._default(z.string(), '{}'),
      z.transform((text: string, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'must be JSON', input: text });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );

/** The most partitions the `actions` queue may have (`actions-0..63`). */
export const MAX_ACTION_QUEUE_PARTITIONS = 64;

export const ConfigSchema = z.object({
  NODE_ENV: z._default(z.enum(['development', 'test', 'production']), 'development'),
  /** Redis for a single node; ignored when REDIS_CLUSTER_NODES is set. */
  REDIS_URL: z._default(z.url({ protocol: /^rediss?$/ }), 'redis://127.0.0.1:6379'),
  /** Comma-separated host:port seeds of a Redis Cluster (ElastiCache cluster mode). */
  REDIS_CLUSTER_NODES: z.pipe(
    list,
    z.array(z.string().check(z.regex(/^[^:\s]+:\d+$/, 'each node must be host:port'))),
  ),
  REDIS_TLS: z._default(z.stringbool(), false),
  REDIS_PASSWORD: z.optional(z.string()),
  /** Prefix of every key and queue; one Redis can hold several isolated engines. */
  QUEUE_PREFIX: z._default(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and - only')),
    'atlas',
  ),
  PORT: z.pipe(intFrom(3000, 0), z.number().check(z.lte(65535))),
  HOST: z._default(z.string(), '127.0.0.1'),
  /** Token for the admin API (creating organizations). Required outside development. */
  ADMIN_TOKEN: z.optional(
    z.string().check(
      z.minLength(16, 'must be at least 16 characters'),
      z.refine(
        (token) => !token.startsWith('atl_'),
        'must not start with atl_ (the prefix of organization keys)',
      ),
    ),
  ),
  LOG_LEVEL: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  WORKER_CONCURRENCY: intFrom(50, 1),
  /**
   * Partitions of the `actions` queue (by organization), to spread node jobs over a cluster's shards. A worker moves
   * the jobs of partitions another count used into the current ones (`src/queue/partitions.ts`).
   */
  ACTION_QUEUE_PARTITIONS: z.pipe(intFrom(1, 1), z.number().check(z.lte(MAX_ACTION_QUEUE_PARTITIONS))),
  /**
   * How often a worker looks for jobs in retired action partitions (besides at start) and moves them; only workers
   * whose ACTION_QUEUE_PARTITIONS is that of the worker process started last do.
   * @defaultValue 60000
   */
  PARTITION_DRAIN_INTERVAL_MS: intFrom(60_000, 100),
  /** Attempts per job before it is dead-lettered. */
  JOB_ATTEMPTS: intFrom(3, 1),
  /** First backoff delay; doubles on each attempt. */
  JOB_BACKOFF_MS: intFrom(2000, 0),
  /** How long an event id is remembered for deduplication. */
  EVENT_DEDUPE_TTL_SECONDS: intFrom(30 * 24 * 3600, 60),
  /** Default retention of executions and their step logs; organizations may override it. */
  RETENTION_DAYS: intFrom(30, 1),
  /** How often the cleanup job sweeps finished executions and dead-letters failed jobs nothing parked. */
  CLEANUP_INTERVAL_MS: intFrom(60_000, 100),
  /**
   * How long a job failed for good is left to its worker to park before the cleanup job parks it: longer than the
   * worker's `failed` listener tries (about a minute and a half).
   */
  FAILED_SWEEP_GRACE_MS: intFrom(5 * 60_000, 2 * 60_000),
  /** How often a scheduler re-checks its job schedulers against the published workflows. */
  SCHEDULER_SYNC_MS: intFrom(60_000, 100),
  /** Hosts, IPs or CIDR ranges that outbound webhooks may reach even though they are private. */
  WEBHOOK_ALLOWLIST: list,
  MAX_BODY_BYTES: intFrom(1024 * 1024, 1024),
  /**
   * Serve `GET /metrics` (Prometheus) without the admin token, for a scraper inside a private network.
   * @defaultValue false
   */
  METRICS_PUBLIC: z._default(z.stringbool(), false),
  /**
   * Folder of the built web app served at `/ui` (`npm run build:ui` writes it), relative to the working directory.
   * @defaultValue 'ui/dist'
   */
  UI_DIR: z._default(z.string().check(z.minLength(1)), 'ui/dist'),
  TWILIO_BASE_URL: z._default(z.url(), 'https://api.twilio.com'),
  STRIPE_BASE_URL: z._default(z.url(), 'https://api.stripe.com'),
  META_GRAPH_BASE_URL: z._default(z.url(), 'https://graph.facebook.com'),
  /**
   * Graph API version of Conversions API calls.
   * @defaultValue 'v21.0'
   */
  META_API_VERSION: z._default(z.string().check(z.regex(/^v\d+\.\d+$/, 'must look like v21.0')), 'v21.0'),
  /** SMTP server used for email when an organization configures none, such as `smtp://user:pass@host:587`. */
  SMTP_URL: z.optional(z.string()),
  /**
   * Email provider used when an organization configures none: `smtp` (needs SMTP_URL), `ses`, or `sandbox`
   * (the outbox). Defaults to `smtp` when SMTP_URL is set, else `sandbox`.
   */
  EMAIL_PROVIDER: z.optional(z.enum(['sandbox', 'smtp', 'ses'])),
  /** Sender address used when neither the node nor the organization names one. */
  EMAIL_FROM: z.optional(z.string().check(z.maxLength(320))),
  /** Region of Amazon SES v2 (credentials come from the default AWS chain unless an organization sets keys). */
  SES_REGION: z._default(z.string(), 'eu-west-1'),
  /** SES v2 endpoint override (a VPC endpoint, or a local fake in tests). */
  SES_ENDPOINT: z.optional(z.url()),
  AI_BASE_URL: z._default(z.url(), 'https://api.openai.com/v1'),
  /** API key of the AI endpoint used when an organization configures none. */
  AI_API_KEY: z.optional(z.string()),
  /**
   * Chat-completions model asked by `branch` nodes with `aiDecision`.
   * @defaultValue 'gpt-4o-mini'
   */
  AI_MODEL: z._default(z.string(), 'gpt-4o-mini'),
  /**
   * AES-256-GCM key (32 bytes, base64) that encrypts organizations' provider secrets at rest. Required in
   * production; development and tests fall back to a fixed, publicly known key.
   */
  SETTINGS_ENCRYPTION_KEY: z.optional(
    z
      .string()
      .check(
        z.refine((text) => Buffer.from(text, 'base64').length === 32, 'must be 32 bytes, base64-encoded'),
      ),
  ),
  /** Timeout of one provider request (webhook_call nodes set their own). */
  PROVIDER_TIMEOUT_MS: intFrom(10_000, 100),
  /**
   * How long a step's claim on its effect holds before another attempt may take it over (after a crash between
   * the provider's answer and the ledger record). Longer than a job lock.
   */
  EFFECT_CLAIM_MS: intFrom(60_000, 100),
  /** Consecutive retryable failures of a provider that open its circuit breaker. */
  BREAKER_THRESHOLD: intFrom(5, 1),
  /** How long an open breaker waits before letting one probe request through. */
  BREAKER_HALF_OPEN_MS: intFrom(30_000, 10),
  /**
   * Rate limits per organization and action type, overriding the defaults, as JSON:
   * `{"send_sms":{"limit":10,"windowMs":1000}}`. Organizations may override them again.
   */
  RATE_LIMITS: jsonOf(z.record(z.string(), RateLimit)),
  /**
   * Frequency caps per lead and channel across all workflows, overriding the defaults, as JSON:
   * `{"sms":{"limit":2,"windowMs":86400000}}`.
   */
  FREQUENCY_CAPS: jsonOf(z.record(z.string(), RateLimit)),

  /**
   * Public base URL of the HTTP API (`https://api.example.com`): Twilio signs the URL it called, webhook URLs are
   * shown with it, and unsubscribe and tracking links and Twilio status callbacks point here. When unset, inbound
   * checks use the request's Host header and links use `http://127.0.0.1:3000` (local use only; see `publicBaseUrl`).
   */
  PUBLIC_BASE_URL: z.optional(z.url({ protocol: /^https?$/ })),
  /** HMAC key of the email tracking tokens (open pixel, click redirect); tracking answers 404 while it is unset. */
  TRACKING_SECRET: z.optional(z.string().check(z.minLength(32, 'must be at least 32 characters'))),
  /** Largest clock difference accepted on a timestamped webhook signature (`generic`, `stripe`). @defaultValue 300 */
  WEBHOOK_TOLERANCE_SECONDS: intFrom(300, 1),
  /** How long the signature of an untimestamped webhook (`twilio`, `meta`) is remembered to refuse a replay. @defaultValue 86400 */
  WEBHOOK_REPLAY_TTL_SECONDS: intFrom(24 * 3600, 60),
  /** EventBridge `source` values whose events the EventBridge handler accepts. @defaultValue atlas.crm */
  EVENTBRIDGE_SOURCES: z.pipe(z._default(z.string(), 'atlas.crm'), z.transform(splitList)),
  /** EventBridge bus that receives the engine's events (execution started, ended, step dead-lettered); off when unset. */
  ENGINE_EVENTS_BUS: z.optional(sized(1, 1600)),
  /** `source` of the engine's events on that bus. @defaultValue atlas.automations */
  ENGINE_EVENTS_SOURCE: z._default(sized(1, 256), 'atlas.automations'),
  /** EventBridge endpoint override (tests point it at a loopback fake). */
  EVENTBRIDGE_ENDPOINT: z.optional(z.url()),
  /** AWS region of the EventBridge client; the SDK's own resolution applies when unset. */
  AWS_REGION: z.optional(z.string().check(z.minLength(1))),
  /** How often a worker writes queue depths as CloudWatch embedded metrics to stdout; 0 turns it off. @defaultValue 0 */
  QUEUE_METRICS_INTERVAL_MS: intFrom(0, 0),
  /** CloudWatch namespace of those metrics. @defaultValue AtlasAutomations */
  METRICS_NAMESPACE: z._default(sized(1, 255), 'AtlasAutomations'),
  /** Deployment stage, a dimension of the metrics. @defaultValue local */
  STAGE: z._default(sized(1, 64), 'local'),
});

export type Config = Readonly<z.output<typeof ConfigSchema>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // A variable set to the empty string counts as unset, so `PORT=` means the default, not port 0.
  const given = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = ConfigSchema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  if (config.NODE_ENV === 'production' && !config.ADMIN_TOKEN) {
    throw new ConfigError('invalid configuration:\n  ADMIN_TOKEN: required in production');
  }
  if (config.NODE_ENV === 'production' && !config.SETTINGS_ENCRYPTION_KEY) {
    throw new ConfigError(
      'invalid configuration:\n  SETTINGS_ENCRYPTION_KEY: required in production (32 random bytes, base64: `openssl rand -base64 32`)',
    );
  }
  if (config.EMAIL_PROVIDER === 'smtp' && !config.SMTP_URL) {
    throw new ConfigError('invalid configuration:\n  SMTP_URL: required when EMAIL_PROVIDER is smtp');
  }
  return Object.freeze(config);
}

/** Origin that outbound links (unsubscribe, tracking, Twilio status callbacks) point to, without a trailing slash. */
export function publicBaseUrl(config: Pick<Config, 'PUBLIC_BASE_URL'>): string {
  return (config.PUBLIC_BASE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
}
