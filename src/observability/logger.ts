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
      // Errors are logged by name, message, code and stack only: a Redis error's command arguments may hold lead data.
      serializers: { err: errorSummary, error: errorSummary },
    },
    destination,
  );
}
