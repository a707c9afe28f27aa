import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, verifySignature } from '../../src/shared/signing.js';

const now = Date.parse('2026-05-01T12:00:00Z');

describe('the generic webhook signature', () => {
  it('is t=<seconds>,v1=<HMAC-SHA256 of "t.body">', () => {
    // Act
    const header = signBody('secret', '{"a":1}', now);

    // Assert
    const t = now / 1000;
    expect(header).toBe(`t=${t},v1=${createHmac('sha256', 'secret').update(`${t}.{"a":1}`).digest('hex')}`);
  });

  it('verifies within the replay window and refuses outside it, tampered bodies and other secrets', () => {
    // Arrange
    const header = signBody('secret', 'body', now);

    // Act + Assert
    expect(verifySignature('secret', header, 'body', { now: now + 299_000 })).toBe(true);
    expect(verifySignature('secret', header, 'body', { now: now + 301_000 })).toBe(false);
    expect(verifySignature('secret', header, 'body!', { now })).toBe(false);
    expect(verifySignature('other', header, 'body', { now })).toBe(false);
    expect(verifySignature('secret', undefined, 'body', { now })).toBe(false);
    expect(verifySignature('secret', 'v1=abc', 'body', { now })).toBe(false);
  });

  it('accepts any of several v1 values, so a secret can be rotated', () => {
    // Arrange
    const old = signBody('old', 'body', now);
    const fresh = signBody('new', 'body', now).split(',')[1];

    // Act + Assert
    expect(verifySignature('new', `${old},${fresh}`, 'body', { now })).toBe(true);
  });
});
