// Events as producers send them, and as they travel on the `triggers` queue.
import { z } from 'zod';
import { eventTriggerTypes, timeTriggerTypes } from '../workflows/schema.js';

/** Event types producers may send: every event trigger, plus `form_started` (used to derive `form_abandoned`). */
export const eventTypes = [...eventTriggerTypes, 'form_started'] as const;
export const EventType = z.enum(eventTypes);

const LeadScalar = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

export const LeadId = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, _, . and - only (max 128)');

/** Lead data carried by an event: the known fields typed, custom fields as scalars. */
export const LeadInput = z
  .object({
    id: LeadId.optional(),
    email: z.email().max(320).optional(),
    phone: z
      .string()
      .regex(/^\+?[0-9 ()-]{6,20}$/, 'must be a phone number, ideally E.164 such as +447700900123')
      .optional(),
    firstName: z.string().max(200).optional(),
    lastName: z.string().max(200).optional(),
    status: z.string().max(100).optional(),
    source: z.string().max(100).optional(),
    timeZone: z.string().max(64).optional(),
    tags: z.array(z.string().min(1).max(100)).max(100).optional(),
  })
  .catchall(LeadScalar)
  .refine((lead) => Object.keys(lead).length <= 200, 'at most 200 lead fields');
export type LeadInput = z.output<typeof LeadInput>;

export const EventInput = z.strictObject({
  /** The producer's idempotency key; the same id twice is accepted once. Generated when absent. */
  id: z.string().min(1).max(200).optional(),
  type: EventType,
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  lead: LeadInput.optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type EventInput = z.output<typeof EventInput>;

export const MAX_BATCH = 500;

export const EventBatch = z.strictObject({ events: z.array(EventInput).min(1).max(MAX_BATCH) });

/** What a trigger job carries: an accepted event, bound to its organization. */
export const EngineEvent = z.strictObject({
  id: z.string().min(1).max(200),
  orgId: z.string().min(1),
  /** Producers' types, plus the time triggers the scheduler enrols leads with. */
  type: z.enum([...eventTypes, ...timeTriggerTypes]),
  occurredAt: z.string(),
  receivedAt: z.string(),
  lead: LeadInput.optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type EngineEvent = z.output<typeof EngineEvent>;
