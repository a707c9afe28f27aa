// CRM domain events arriving through EventBridge: the envelope, the detail, and the detail-type → event type mapping.
import * as z from '../shared/zod.js';
import type { EventType } from './schema.js';
import { eventTypes, LeadInput, type EventInput } from './schema.js';

type EventTypeName = z.output<typeof EventType>;

/** The CRM's detail-types; an engine event type (`new_lead`, …) is also accepted as a detail-type as it is. */
export const detailTypes: Readonly<Record<string, EventTypeName>> = {
  'Lead Created': 'new_lead',
  'Lead Updated': 'lead_updated',
  'Lead Tagged': 'lead_tagged',
  'Form Started': 'form_started',
  'Form Submitted': 'form_submitted',
  'Form Abandoned': 'form_abandoned',
  'Webhook Received': 'external_webhook',
  'API Event': 'api_event',
  'Email Opened': 'email_opened',
  'Link Clicked': 'link_clicked',
  'SMS Replied': 'sms_replied',
  ...Object.fromEntries(eventTypes.map((type) => [type, type])),
};

/** An EventBridge event as a rule delivers it (to Lambda directly, or as an SQS message body). */
export const EventBridgeEnvelope = z.object({
  version: z.optional(z.string()),
  id: z.string().check(z.minLength(1), z.maxLength(200)),
  'detail-type': z.string().check(z.minLength(1), z.maxLength(128)),
  source: z.string().check(z.minLength(1), z.maxLength(256)),
  account: z.optional(z.string()),
  time: z.optional(z.iso.datetime({ offset: true })),
  region: z.optional(z.string()),
  resources: z.optional(z.array(z.string())),
  detail: z.unknown(),
});
export type EventBridgeEnvelope = z.output<typeof EventBridgeEnvelope>;

/** The detail of a CRM domain event. The organization comes from here; unknown top-level fields are ignored. */
export const CrmDetail = z.object({
  orgId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'an organization id')),
  /** The CRM's idempotency key; the EventBridge event id is used when absent. */
  id: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  occurredAt: z.optional(z.iso.datetime({ offset: true })),
  lead: z.optional(LeadInput),
  data: z.optional(z.record(z.string(), z.unknown())),
});

export class RecordRejected extends Error {
  override name = 'RecordRejected';
}

const describe = (error: z.core.$ZodError, prefix: string) =>
  error.issues
    .map((issue) => `${[prefix, ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');

/** Maps one EventBridge event to an engine event and its organization; throws RecordRejected with the reason. */
export function fromEventBridge(
  raw: unknown,
  allowedSources: readonly string[],
): { orgId: string; event: EventInput } {
  const envelope = EventBridgeEnvelope.safeParse(raw);
  if (!envelope.success)
    throw new RecordRejected(`not an EventBridge event: ${describe(envelope.error, '')}`);
  const { source, id, time } = envelope.data;
  if (!allowedSources.includes(source))
    throw new RecordRejected(`source ${source} is not allowed (EVENTBRIDGE_SOURCES)`);
  const type = Object.hasOwn(detailTypes, envelope.data['detail-type'])
    ? detailTypes[envelope.data['detail-type']]
    : undefined;
  if (!type) throw new RecordRejected(`detail-type ${envelope.data['detail-type']} maps to no event type`);
  const detail = CrmDetail.safeParse(envelope.data.detail);
  if (!detail.success) throw new RecordRejected(`invalid detail: ${describe(detail.error, 'detail')}`);
  const { orgId, lead, data } = detail.data;
  return {
    orgId,
    event: {
      id: detail.data.id ?? `eb_${id}`,
      type,
      ...((detail.data.occurredAt ?? time) ? { occurredAt: detail.data.occurredAt ?? time } : {}),
      ...(lead ? { lead } : {}),
      ...(data ? { data } : {}),
    },
  };
}
