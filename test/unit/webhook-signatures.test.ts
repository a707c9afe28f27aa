import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/shared/errors.js';
import { signGeneric, verifyGeneric } from '../../src/webhooks/generic.js';
import { answerChallenge, signMeta, verifyMeta } from '../../src/webhooks/meta.js';
import { signStripe, verifyStripe } from '../../src/webhooks/stripe.js';
import { twilioSignature, verifyTwilio } from '../../src/webhooks/twilio.js';

const NOW = 1_760_000_000;

function refusal(run: () => unknown): { status: number; code: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('generic: X-Atlas-Signature t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
  const body = '{"type":"new_lead","lead":{"email":"a@example.com"}}';
  const verify = (header: string | undefined, secrets = ['secret-one-0123456789'], raw = body) =>
    verifyGeneric({ header, body: raw, secrets, nowSeconds: NOW, toleranceSeconds: 300 });

  it('accepts a signature computed independently with node:crypto', () => {
    // Arrange
    const hex = createHmac('sha256', 'secret-one-0123456789').update(`${NOW}.${body}`).digest('hex');

    // Act
    const verified = verify(`t=${NOW},v1=${hex}`);

    // Assert
    expect(verified).toEqual({ timestamp: NOW, signature: hex });
    expect(signGeneric('secret-one-0123456789', NOW, body)).toBe(`t=${NOW},v1=${hex}`);
  });

  it('accepts either of two active secrets (rotation) and a header carrying several v1 values', () => {
    const old = signGeneric('old-secret-0123456789', NOW, body);
    const fresh = signGeneric('new-secret-0123456789', NOW, body).split(',')[1];
    expect(verify(old, ['new-secret-0123456789', 'old-secret-0123456789']).timestamp).toBe(NOW);
    expect(verify(`t=${NOW},v1=deadbeef,${fresh}`, ['new-secret-0123456789']).timestamp).toBe(NOW);
  });

  it('refuses a tampered body, a wrong secret, a missing or malformed header', () => {
    const header = signGeneric('secret-one-0123456789', NOW, body);
    expect(refusal(() => verify(header, undefined, body.replace('a@', 'b@')))).toEqual({
      status: 401,
      code: 'signature_invalid',
    });
    expect(refusal(() => verify(header, ['another-secret-012345']))).toMatchObject({
      code: 'signature_invalid',
    });
    expect(refusal(() => verify(undefined))).toEqual({ status: 401, code: 'signature_missing' });
    expect(refusal(() => verify('v1=abc'))).toEqual({ status: 401, code: 'signature_missing' });
    expect(refusal(() => verify(`t=${NOW},v1=not-hex`))).toMatchObject({ code: 'signature_invalid' });
  });

  it('refuses a signature older or newer than the tolerance, even when it is valid', () => {
    const old = signGeneric('secret-one-0123456789', NOW - 301, body);
    const future = signGeneric('secret-one-0123456789', NOW + 301, body);
    const edge = signGeneric('secret-one-0123456789', NOW - 300, body);
    expect(refusal(() => verify(old))).toEqual({ status: 403, code: 'signature_expired' });
    expect(refusal(() => verify(future))).toEqual({ status: 403, code: 'signature_expired' });
    expect(verify(edge).timestamp).toBe(NOW - 300);
  });
});

describe("stripe: Stripe-Signature as Stripe's libraries compute it", () => {
  const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.created' });
  const secret = 'whsec_test_0123456789abcdef';
  const verify = (header: string | undefined, raw = body) =>
    verifyStripe({ header, body: raw, secrets: [secret], nowSeconds: NOW, toleranceSeconds: 300 });

  it('accepts a header with v1 and a v0 test-mode signature', () => {
    const v1 = createHmac('sha256', secret).update(`${NOW}.${body}`).digest('hex');
    expect(verify(`t=${NOW},v1=${v1},v0=0123`).signature).toBe(v1);
    expect(signStripe(secret, NOW, body)).toBe(`t=${NOW},v1=${v1}`);
  });

  it('refuses tampered, expired and unsigned requests', () => {
    expect(refusal(() => verify(signStripe(secret, NOW, body), body + ' '))).toMatchObject({
      code: 'signature_invalid',
    });
    expect(refusal(() => verify(signStripe(secret, NOW - 600, body)))).toMatchObject({
      status: 403,
      code: 'signature_expired',
    });
    expect(refusal(() => verify(undefined))).toMatchObject({ status: 401, code: 'signature_missing' });
  });
});

describe("twilio: X-Twilio-Signature, Twilio's documented example", () => {
  // The example of Twilio's "Webhooks security" page: auth token 12345, this URL and these parameters.
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params: [string, string][] = [
    ['CallSid', 'CA1234567890ABCDE'],
    ['Caller', '+14158675310'],
    ['Digits', '1234'],
    ['From', '+14158675310'],
    ['To', '+18005551212'],
  ];

  it('reproduces the signature Twilio documents for its example', () => {
    expect(twilioSignature('12345', url, params)).toBe('GvWf1cFY/Q7PnoempGyD5oXAezc=');
  });

  it('sorts the parameters by name before signing', () => {
    expect(twilioSignature('12345', url, [...params].reverse())).toBe('GvWf1cFY/Q7PnoempGyD5oXAezc=');
  });

  it('refuses a changed parameter, another URL, another token and a missing header', () => {
    const header = twilioSignature('12345', url, params);
    const changed: [string, string][] = params.map(([k, v]) => [k, k === 'Digits' ? '9999' : v]);
    const verify = (h: string | undefined, u = url, p = params, secrets = ['12345']) =>
      verifyTwilio({ header: h, url: u, params: p, secrets });
    expect(verify(header)).toBe(header);
    expect(refusal(() => verify(header, url, changed))).toMatchObject({ code: 'signature_invalid' });
    expect(refusal(() => verify(header, 'https://mycompany.com/myapp.php'))).toMatchObject({
      code: 'signature_invalid',
    });
    expect(refusal(() => verify(header, url, params, ['54321']))).toMatchObject({
      code: 'signature_invalid',
    });
    expect(refusal(() => verify(undefined))).toMatchObject({ status: 401, code: 'signature_missing' });
  });

  it('answers the signature in one spelling however the header writes it, so a replay guard knows it again', () => {
    const header = twilioSignature('12345', url, params);
    const verify = (h: string) => verifyTwilio({ header: h, url, params, secrets: ['12345'] });
    const respelled = [
      header.replace(/=+$/, ''),
      header.replace(/\+/g, '-').replace(/\//g, '_'),
      ` ${header.slice(0, 10)}.${header.slice(10)}`,
    ];
    for (const variant of respelled) {
      expect(variant).not.toBe(header);
      expect(verify(variant)).toBe(header);
    }
  });
});

describe('meta: X-Hub-Signature-256 and the subscription handshake', () => {
  const body = '{"object":"page","entry":[]}';
  it('accepts sha256=<hex HMAC of the raw body> keyed by the app secret', () => {
    const hex = createHmac('sha256', 'app-secret-0123456789').update(body).digest('hex');
    expect(signMeta('app-secret-0123456789', body)).toBe(`sha256=${hex}`);
    expect(verifyMeta({ header: `sha256=${hex}`, body, secrets: ['app-secret-0123456789'] })).toBe(hex);
  });

  it('refuses a tampered body, a SHA-1 style header and no header', () => {
    const header = signMeta('app-secret-0123456789', body);
    const verify = (h: string | undefined, raw = body) =>
      verifyMeta({ header: h, body: raw, secrets: ['app-secret-0123456789'] });
    expect(refusal(() => verify(header, body.replace('page', 'user')))).toMatchObject({
      code: 'signature_invalid',
    });
    expect(refusal(() => verify('sha1=abcdef'))).toMatchObject({ status: 401, code: 'signature_missing' });
    expect(refusal(() => verify(undefined))).toMatchObject({ status: 401, code: 'signature_missing' });
  });

  it('echoes hub.challenge only for subscribe with the right verify token', () => {
    const query = {
      'hub.mode': 'subscribe',
      'hub.verify_token': 'tok-123456',
      'hub.challenge': '1158201444',
    };
    expect(answerChallenge(query, 'tok-123456')).toBe('1158201444');
    expect(refusal(() => answerChallenge(query, 'other-token'))).toEqual({ status: 403, code: 'forbidden' });
    expect(
      refusal(() => answerChallenge({ ...query, 'hub.mode': 'unsubscribe' }, 'tok-123456')),
    ).toMatchObject({
      status: 400,
    });
  });
});
