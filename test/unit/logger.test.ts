import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../../src/observability/logger.js';

describe('secret scrubbing in logs', () => {
  it('censors secret-named fields at any depth and keeps everything else', () => {
    // Act
    const scrubbed = scrubSecrets({
      a: { b: { c: { d: { e: { authToken: 't', keep: 1 } } } } },
      list: [{ apiKey: 'k' }],
      password: null,
    });

    // Assert
    expect(scrubbed).toEqual({
      a: { b: { c: { d: { e: { authToken: '[redacted]', keep: 1 } } } } },
      list: [{ apiKey: '[redacted]' }],
      password: null,
    });
  });

  it('is applied by the logger', () => {
    // Arrange
    let output = '';
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _encoding, done) {
          output += String(chunk);
          done();
        },
      }),
    );

    // Act
    logger.info({ org: { settings: { stripe: { secretKey: 'sk_live_123' } } } }, 'hello');

    // Assert
    expect(output).not.toContain('sk_live_123');
    expect(output).toContain('"secretKey":"[redacted]"');
  });
});
