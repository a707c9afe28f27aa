import { describe, expect, it } from 'vitest';
import { providerError } from '../../src/actions/http-client.js';
import { createSesProvider, sesError } from '../../src/actions/providers/ses.js';
import { createSmtpProvider, smtpError } from '../../src/actions/providers/smtp.js';
import type { OutboundMessage } from '../../src/actions/types.js';
import { NonRetryableError, RetryableError, RetryAfterError } from '../../src/shared/errors.js';

const response = (status: number, headers: Record<string, string> = {}) => ({ status, headers, body: '{}' });

describe('providerError', () => {
  it('keeps the provider’s code and message in the code, message and context', () => {
    // Act
    const error = providerError('twilio', response(400), {
      code: 21211,
      message: "The 'To' number is not valid.",
    });

    // Assert
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.code).toBe('twilio_21211');
    expect(error.message).toBe("twilio answered 400: The 'To' number is not valid. (code 21211)");
    expect(error.context).toMatchObject({ provider: 'twilio', status: 400, providerCode: 21211 });
  });

  it('delays a 429 by its Retry-After, else 30 s; retries 408 and 5xx; gives up on other 4xx', () => {
    // Act
    const limited = providerError('stripe', response(429, { 'retry-after': '3' }), { code: 'rate_limit' });
    const unsaid = providerError('stripe', response(429));
    const timeout = providerError('crm', response(408));
    const down = providerError('crm', response(503));
    const gone = providerError('crm', response(410));

    // Assert
    expect(limited).toBeInstanceOf(RetryAfterError);
    expect((limited as RetryAfterError).delayMs).toBe(3000);
    expect(limited.code).toBe('rate_limited');
    expect((unsaid as RetryAfterError).delayMs).toBe(30_000);
    expect(timeout).toBeInstanceOf(RetryableError);
    expect(down).toBeInstanceOf(RetryableError);
    expect(down.code).toBe('http_503');
    expect(gone).toBeInstanceOf(NonRetryableError);
  });
});

describe('smtpError', () => {
  it.each([
    [{ responseCode: 550, response: '550 mailbox unavailable' }, NonRetryableError, 'smtp_550'],
    [{ responseCode: 451, response: '451 try later' }, RetryableError, 'smtp_451'],
    [{ code: 'EAUTH', message: 'Invalid login' }, NonRetryableError, 'smtp_eauth'],
    [{ code: 'ETIMEDOUT', message: 'Connection timeout' }, RetryableError, 'timeout'],
    [{ code: 'ECONNECTION', message: 'refused' }, RetryableError, 'econnection'],
  ])('%j → %o %s', (raw, type, code) => {
    const error = smtpError(Object.assign(new Error('x'), raw));
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(code);
  });
});

describe('sesError', () => {
  it.each([
    [
      { name: 'MessageRejected', $metadata: { httpStatusCode: 400 } },
      NonRetryableError,
      'ses_MessageRejected',
    ],
    [
      { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } },
      RetryAfterError,
      'rate_limited',
    ],
    [{ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }, RetryableError, 'ses_InternalFailure'],
    [{ name: 'TimeoutError', $metadata: {} }, RetryableError, 'timeout'],
  ])('%j → %o %s', (raw, type, code) => {
    const error = sesError(Object.assign(new Error('x'), raw));
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(code);
  });
});

describe('email providers without a sender', () => {
  const message: OutboundMessage = {
    channel: 'email',
    to: 'lead@example.com',
    subject: 'Hi',
    body: 'Hello',
    orgId: 'org_1',
    executionId: 'x_1',
    nodeId: 'mail',
    idempotencyKey: 'x_1:mail:0',
  };

  it.each([
    ['smtp', createSmtpProvider({ url: 'smtp://127.0.0.1:9', from: undefined, timeoutMs: 100 })],
    ['ses', createSesProvider({ region: 'eu-west-1', from: undefined, timeoutMs: 100 })],
  ])('%s gives up at once, before any connection, naming itself', async (name, provider) => {
    // Act
    const refused = await provider.send(message).then(
      () => undefined,
      (error: unknown) => error,
    );
    provider.close();

    // Assert
    expect(refused).toBeInstanceOf(NonRetryableError);
    expect(refused).toMatchObject({
      code: 'provider_not_configured',
      message: `${name}: no sender address is configured`,
    });
  });
});
