// Structured logs with pino; secrets are redacted wherever they appear in a logged object.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Field names that hold secrets wherever they appear: credentials, provider tokens and settings secrets. */
const secretFields = [
  'authorization',
  'apiKey',
  'token',
  'secret',
  'password',
  'authToken',
  'accessToken',
  'secretKey',
  'apiToken',
  'secretAccessKey',
  'signingSecret',
  'sealed',
];

export const redactedPaths = [
  ...secretFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]),
  'headers.authorization',
  '*.headers.authorization',
  'ADMIN_TOKEN',
  'REDIS_PASSWORD',
  'SETTINGS_ENCRYPTION_KEY',
  'SMTP_URL',
  'AI_API_KEY',
  '*.SETTINGS_ENCRYPTION_KEY',
  '*.SMTP_URL',
  '*.AI_API_KEY',
];

const secretNames = new Set(secretFields.map((field) => field.toLowerCase()));
const MAX_SCRUB_DEPTH = 10;

/** A copy of `value` with every secret-named field censored, however deep (redaction paths stop at a fixed depth). */
export function scrubSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (depth > MAX_SCRUB_DEPTH || seen.has(value)) return '[omitted]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => scrubSecrets(item, depth + 1, seen));
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      secretNames.has(key.toLowerCase()) && inner !== undefined && inner !== null
        ? '[redacted]'
        : scrubSecrets(inner, depth + 1, seen),
    ]),
  );
}

function errorSummary(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message: error.message,
    ...(code !== undefined ? { code } : {}),
    stack: error.stack,
  };
}

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'atlas-automations' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      formatters: { log: (object) => scrubSecrets(object) as Record<string, unknown> },
      // Errors are logged by name, message, code and stack only: a Redis error's command arguments may hold lead data.
      serializers: { err: errorSummary, error: errorSummary },
    },
    destination,
  );
}
