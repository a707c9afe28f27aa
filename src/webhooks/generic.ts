// `generic` webhooks: X-Atlas-Signature `t=<unix>,v1=<hex>` with HMAC-SHA256 over `<t>.<body>`, two secrets at once.
import * as z from '../shared/zod.js';
import { EventInput, EventType } from '../events/schema.js';
import { stableId } from '../shared/ids.js';
import { hmac, verifyTimestampedHeader, type TimestampedRequest } from './signature.js';

export const GENERIC_SIGNATURE_HEADER = 'x-atlas-signature';

/** The header value a sender computes: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export function signGeneric(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${hmac('sha256', secret, `${timestamp}.${body}`).toString('hex')}`;
}

export interface GenericVerified {
  timestamp: number;
  signature: string;
}

export function verifyGeneric(input: TimestampedRequest): GenericVerified {
  return verifyTimestampedHeader('X-Atlas-Signature', input);
}

/** One event as `POST /v1/events` takes it, with `type` defaulting to `external_webhook`. */
export const GenericPayload = z.extend(EventInput, { type: z._default(EventType, 'external_webhook') });
export type GenericPayload = z.output<typeof GenericPayload>;

/** Without an id, the event is named by its signature, so the same signed request can never count twice. */
export function genericEvent(payload: GenericPayload, verified: GenericVerified): EventInput {
  return {
    ...payload,
    id: payload.id ?? `generic_${stableId(String(verified.timestamp), verified.signature)}`,
  };
}
