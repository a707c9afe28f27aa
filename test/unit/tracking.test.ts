import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/shared/errors.js';
import {
  signTrackingToken,
  trackingEvent,
  trackingUrls,
  verifyTrackingToken,
  type TrackingClaims,
} from '../../src/tracking/tokens.js';

const SECRET = 'tracking-secret-0123456789abcdef0123';
const click: TrackingClaims = {
  kind: 'click',
  orgId: 'org_1',
  executionId: 'x_abc',
  leadId: 'em_123',
  nodeId: 'welcome',
  url: 'https://gym.example.com/classes?utm=email',
};

const refused = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof HttpError ? `${error.status} ${error.code}` : String(error);
  }
  return 'accepted';
};

describe('tracking tokens', () => {
  it('round-trips the claims of a click and of an open', () => {
    // Act
    const token = signTrackingToken(SECRET, click);
    const open = signTrackingToken(SECRET, { ...click, kind: 'open', url: undefined });

    // Assert
    expect(verifyTrackingToken(SECRET, token, 'click')).toEqual(click);
    expect(verifyTrackingToken(SECRET, open, 'open')).toEqual({
      kind: 'open',
      orgId: 'org_1',
      executionId: 'x_abc',
      leadId: 'em_123',
      nodeId: 'welcome',
    });
  });

  it('refuses a token whose URL was swapped, whose signature was edited, or signed with another secret', () => {
    const token = signTrackingToken(SECRET, click);
    const [payload, signature] = token.split('.') as [string, string];
    const evil = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        u: 'https://evil.example',
      }),
    ).toString('base64url');
    expect(refused(() => verifyTrackingToken(SECRET, `${evil}.${signature}`, 'click'))).toBe(
      '403 invalid_token',
    );
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'AB' : 'AA');
    expect(refused(() => verifyTrackingToken(SECRET, `${payload}.${flipped}`, 'click'))).toBe(
      '403 invalid_token',
    );
    expect(refused(() => verifyTrackingToken('another-secret-0123456789abcdef0', token, 'click'))).toBe(
      '403 invalid_token',
    );
    expect(refused(() => verifyTrackingToken(SECRET, 'garbage', 'click'))).toBe('403 invalid_token');
  });

  it('does not let an open token act as a click redirect, nor the reverse', () => {
    const open = signTrackingToken(SECRET, { ...click, kind: 'open' });
    expect(refused(() => verifyTrackingToken(SECRET, open, 'click'))).toBe('403 invalid_token');
    expect(refused(() => verifyTrackingToken(SECRET, signTrackingToken(SECRET, click), 'open'))).toBe(
      '403 invalid_token',
    );
  });

  it('signs only http and https click URLs', () => {
    expect(() => signTrackingToken(SECRET, { ...click, url: 'javascript:alert(1)' })).toThrow();
  });

  it('names events by their claims: an email opened twice is one event, two links are two', () => {
    const open = { ...click, kind: 'open' as const, url: undefined };
    expect(trackingEvent(open).id).toBe(trackingEvent({ ...open }).id);
    expect(trackingEvent(open).type).toBe('email_opened');
    expect(trackingEvent(click).id).not.toBe(
      trackingEvent({ ...click, url: 'https://gym.example.com/b' }).id,
    );
    expect(trackingEvent(click)).toMatchObject({
      type: 'link_clicked',
      lead: { id: 'em_123' },
      data: { executionId: 'x_abc', nodeId: 'welcome', url: click.url },
    });
  });

  it('builds the pixel and click URLs an email provider embeds', () => {
    const urls = trackingUrls('https://api.example.com/', SECRET, {
      orgId: 'org_1',
      executionId: 'x_abc',
      leadId: 'em_123',
      nodeId: 'welcome',
    });
    expect(urls.openPixel).toMatch(/^https:\/\/api\.example\.com\/v1\/t\/o\/[\w-]+\.[\w-]+$/);
    const token = urls.click('https://gym.example.com/').split('/v1/t/c/')[1]!;
    expect(verifyTrackingToken(SECRET, token, 'click').url).toBe('https://gym.example.com/');
  });
});
