// Structured logs with pino; secrets are redacted wherever they appear in a logged object.
import { pino, type Logger } from 'pino';

export type { Logger };

export const redactedPaths = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'ADMIN_TOKEN',
  'REDIS_PASSWORD',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'atlas-automations' }, redact: { paths: redactedPaths, censor: '[redacted]' } },
    destination,
  );
}
