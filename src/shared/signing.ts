// The `generic` webhook signature, used for inbound webhooks and for signing outbound `webhook_call` requests:
// header `Atlas-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'atlas-signature';

/** How far a signature's timestamp may be from now before it is refused as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const digest = (secret: string, timestamp: number, body: string) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** The header value that signs `body` at `now`. */
export function signBody(secret: string, body: string, now = Date.now()): string {
  const timestamp = Math.floor(now / 1000);
  return `t=${timestamp},v1=${digest(secret, timestamp, body)}`;
}

/**
 * Whether `header` signs `body` with `secret` within the replay window. Compares in constant time and accepts any
 * of several `v1=` values (so a secret can be rotated by signing with both).
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  { now = Date.now(), toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = {},
): boolean {
  if (!header) return false;
  const parts = header.split(',').map((part) => part.trim().split('=', 2) as [string, string?]);
  const timestamp = Number(parts.find(([name]) => name === 't')?.[1]);
  if (!Number.isInteger(timestamp)) return false;
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(digest(secret, timestamp, body), 'hex');
  let valid = false;
  for (const [name, value] of parts) {
    if (name !== 'v1' || !value || !/^[0-9a-f]{64}$/i.test(value)) continue;
    if (timingSafeEqual(Buffer.from(value, 'hex'), expected)) valid = true;
  }
  return valid;
}
