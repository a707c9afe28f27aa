// A real pino logger (the engine's, with its redaction) writing into memory, so a test can read what was logged.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/logger.js';

type Level = Parameters<typeof createLogger>[0];

/** A logger at `level` and the lines it wrote, one JSON object per line. */
export function capturedLogs(level: Level = 'info') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}
