import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../src/observability/logger.js';
import { capturedLogs } from '../support/logs.js';

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
    const { logger, lines } = capturedLogs();

    // Act
    logger.info({ org: { settings: { stripe: { secretKey: 'sk_live_123' } } } }, 'hello');

    // Assert
    const output = lines.join('');
    expect(output).not.toContain('sk_live_123');
    expect(output).toContain('"secretKey":"[redacted]"');
  });
});
