import { describe, expect, it } from 'vitest';
import { classify, retryAfterMs, type HttpResponse } from '../../src/actions/webhook.js';
import { NonRetryableError, RetryAfterError, RetryableError } from '../../src/shared/errors.js';

const response = (status: number, headers: HttpResponse['headers'] = {}, body = ''): HttpResponse => ({
  status,
  headers,
  body,
});

describe('classify', () => {
  it('turns a 429 with Retry-After into a RetryAfterError with that delay', () => {
    // Act
    const error = classify(response(429, { 'retry-after': '7' }));

    // Assert
    expect(error).toBeInstanceOf(RetryAfterError);
    expect((error as RetryAfterError).delayMs).toBe(7000);
    expect((error as RetryAfterError).code).toBe('rate_limited');
    expect((error as RetryAfterError).retryable).toBe(true);
  });

  it('waits 30 seconds after a 429 without a usable Retry-After', () => {
    // Act
    const missing = classify(response(429));
    const garbage = classify(response(429, { 'retry-after': 'soon' }));

    // Assert
    expect(missing).toBeInstanceOf(RetryAfterError);
    expect((missing as RetryAfterError).delayMs).toBe(30_000);
    expect((garbage as RetryAfterError).delayMs).toBe(30_000);
  });

  it('caps a Retry-After delay at one day', () => {
    // Act
    const error = classify(response(429, { 'retry-after': String(7 * 24 * 3600) }));

    // Assert
    expect((error as RetryAfterError).delayMs).toBe(24 * 3600 * 1000);
  });

  it.each([400, 401, 403, 404, 410, 422])('makes %i non-retryable', (status) => {
    // Act
    const error = classify(response(status, {}, '{"error":"bad"}'));

    // Assert
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as NonRetryableError).retryable).toBe(false);
    expect((error as NonRetryableError).code).toBe(`http_${status}`);
    expect((error as NonRetryableError).context).toEqual({ status, body: '{"error":"bad"}' });
    expect(error.message).toBe(`webhook answered ${status}`);
  });

  it.each([408, 500, 502, 503, 504])('makes %i retryable', (status) => {
    // Act
    const error = classify(response(status));

    // Assert
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect((error as RetryableError).retryable).toBe(true);
    expect((error as RetryableError).code).toBe(`http_${status}`);
  });

  it('keeps at most 500 characters of the response body as context', () => {
    // Arrange
    const body = 'x'.repeat(2000);

    // Act
    const error = classify(response(400, {}, body)) as NonRetryableError;

    // Assert
    expect(error.context.body).toBe('x'.repeat(500));
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.parse('2026-10-21T07:27:00Z');

    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it('asks for at least a second, so Retry-After: 0 or a past date cannot spin a worker', () => {
    const now = Date.parse('2026-10-21T07:27:00Z');

    expect(retryAfterMs('0', now)).toBe(1000);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:00:00 GMT', now)).toBe(1000);
  });
});
