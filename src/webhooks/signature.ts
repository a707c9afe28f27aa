// Signature helpers shared by the webhook sources: HMAC digests, constant-time comparison, `t=…,v1=…` headers.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HttpError } from '../shared/errors.js';

export function hmac(algorithm: 'sha1' | 'sha256', secret: string, data: string): Buffer {
  return createHmac(algorithm, secret).update(data, 'utf8').digest();
}

/** Compares a received signature with an expected digest in constant time; a length mismatch is simply false. */
export function digestEquals(received: Buffer, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/** Decodes hex, or returns an empty buffer when the text is not hex (so it can never match a digest). */
export function fromHex(text: string): Buffer {
  return /^(?:[0-9a-f]{2})+$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.alloc(0);
}

export interface TimestampedSignature {
  /** Unix seconds. */
  timestamp: number;
  /** The `v1` signatures as given (a sender may sign with several secrets during a rotation). */
  signatures: string[];
}

/** Parses `t=<unix>,v1=<hex>[,v1=<hex>…]` (the scheme of Stripe-Signature and X-Atlas-Signature). */
export function parseTimestamped(header: string | undefined, name: string): TimestampedSignature {
  if (!header) throw missingSignature(name);
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2) as [string, string | undefined];
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && value) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0)
    throw new HttpError(
      401,
      'signature_missing',
      `${name} must look like t=<unix seconds>,v1=<hex signature>`,
    );
  return { timestamp, signatures };
}

/** Verifies `HMAC-SHA256(secret, "<t>.<body>")` against every `v1` and every active secret, then the time window. */
export function verifyTimestamped(
  parsed: TimestampedSignature,
  body: string,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds: number,
): string {
  const payload = `${parsed.timestamp}.${body}`;
  const expected = secrets.map((secret) => hmac('sha256', secret, payload));
  const matched = parsed.signatures.find((signature) =>
    expected.some((digest) => digestEquals(fromHex(signature), digest)),
  );
  if (matched === undefined) throw invalidSignature();
  if (Math.abs(nowSeconds - parsed.timestamp) > toleranceSeconds) {
    throw new HttpError(
      403,
      'signature_expired',
      `signature timestamp is more than ${toleranceSeconds} s away from the current time`,
    );
  }
  return matched.toLowerCase();
}

export interface TimestampedRequest {
  header: string | undefined;
  body: string;
  secrets: readonly string[];
  nowSeconds: number;
  toleranceSeconds: number;
}

/** Parses and verifies a `t=…,v1=…` header named `name`: the matched signature and its timestamp. */
export function verifyTimestampedHeader(
  name: string,
  input: TimestampedRequest,
): { timestamp: number; signature: string } {
  const parsed = parseTimestamped(input.header, name);
  const signature = verifyTimestamped(
    parsed,
    input.body,
    input.secrets,
    input.nowSeconds,
    input.toleranceSeconds,
  );
  return { timestamp: parsed.timestamp, signature };
}

export const missingSignature = (header: string) =>
  new HttpError(401, 'signature_missing', `send the ${header} header`);

export const invalidSignature = () =>
  new HttpError(401, 'signature_invalid', 'the signature does not match the body and a configured secret');
