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

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'atlas-automations' }, redact: { paths: redactedPaths, censor: '[redacted]' } },
    destination,
  );
}
