// A real pino logger (the engine's, with its redaction) writing into memory, so a test can read what was logged.
import { Writable } from 'node:stream';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../../src/observability/logger.js';

/** A logger at `level` and the lines it wrote, one JSON object per line. */
export function capturedLogs(level: LevelWithSilent = 'info') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}
