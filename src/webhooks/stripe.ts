// `stripe` webhooks: Stripe-Signature `t=…,v1=…` (HMAC-SHA256 over `<t>.<body>`, 5-minute tolerance) → `api_event`.
import * as z from '../shared/zod.js';
import { LeadInput, type EventInput } from '../events/schema.js';
import { hmac, verifyTimestampedHeader, type TimestampedRequest } from './signature.js';

/** What Stripe sends as Stripe-Signature, for tests and tools: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signStripe(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${hmac('sha256', secret, `${timestamp}.${body}`).toString('hex')}`;
}

export function verifyStripe(input: TimestampedRequest): { timestamp: number; signature: string } {
  return verifyTimestampedHeader('Stripe-Signature', input);
}

/** A Stripe Event object; Stripe adds fields over time, so unknown ones are kept, not refused. */
export const StripeEvent = z.looseObject({
  id: z.string().check(z.regex(/^evt_[A-Za-z0-9_]+$/, 'a Stripe event id (evt_…)')),
  object: z.literal('event'),
  type: z.string().check(z.minLength(1), z.maxLength(200)),
  created: z.number().check(z.int(), z.positive()),
  livemode: z.boolean(),
  data: z.looseObject({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.output<typeof StripeEvent>;

/** Checkout completions and every `customer.*` event become `api_event`s; other types are acknowledged and ignored. */
export function isForwarded(type: string): boolean {
  return type === 'checkout.session.completed' || type.startsWith('customer.');
}

function leadOf(object: Record<string, unknown>): EventInput['lead'] {
  const details = object.customer_details as Record<string, unknown> | undefined;
  const email = details?.email ?? object.email ?? object.customer_email;
  const customer =
    typeof object.customer === 'string'
      ? object.customer
      : object.object === 'customer'
        ? object.id
        : undefined;
  const candidate = {
    ...(typeof email === 'string' ? { email } : {}),
    ...(typeof customer === 'string' ? { stripeCustomerId: customer } : {}),
  };
  const parsed = LeadInput.safeParse(candidate);
  if (parsed.success && parsed.data.email) return parsed.data;
  return undefined;
}

export function stripeEvent(event: StripeEvent): EventInput {
  const lead = leadOf(event.data.object);
  return {
    id: `stripe_${event.id}`,
    type: 'api_event',
    occurredAt: new Date(event.created * 1000).toISOString(),
    ...(lead ? { lead } : {}),
    data: {
      provider: 'stripe',
      stripeEventId: event.id,
      stripeType: event.type,
      livemode: event.livemode,
      object: event.data.object,
    },
  };
}
