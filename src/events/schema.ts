// Events as producers send them, and as they travel on the `triggers` queue.
import * as z from '../shared/zod.js';
import { eventTriggerTypes, timeTriggerTypes } from '../workflows/trigger-types.js';

/** Event types producers may send: every event trigger, plus `form_started` (used to derive `form_abandoned`). */
export const eventTypes = [...eventTriggerTypes, 'form_started'] as const;
export const EventType = z.enum(eventTypes);

const LeadScalar = z.union([z.string().check(z.maxLength(10_000)), z.number(), z.boolean(), z.null()]);

export const LeadId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.-]{1,128}$/, 'letters, digits, _, . and - only (max 128)'));

/** A string of at most `max` characters. */
const upTo = (max: number) => z.string().check(z.maxLength(max));

/** Lead data carried by an event: the known fields typed, custom fields as scalars. */
export const LeadInput = z
  .catchall(
    z.object({
      id: z.optional(LeadId),
      email: z.optional(z.email().check(z.maxLength(320))),
      phone: z.optional(
        z
          .string()
          .check(
            z.regex(/^\+?[0-9 ()-]{6,20}$/, 'must be a phone number, ideally E.164 such as +447700900123'),
          ),
      ),
      firstName: z.optional(upTo(200)),
      lastName: z.optional(upTo(200)),
      status: z.optional(upTo(100)),
      source: z.optional(upTo(100)),
      timeZone: z.optional(upTo(64)),
      tags: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.maxLength(100))),
    }),
    LeadScalar,
  )
  .check(z.refine((lead) => Object.keys(lead).length <= 200, 'at most 200 lead fields'));
export type LeadInput = z.output<typeof LeadInput>;

const EventId = z.string().check(z.minLength(1), z.maxLength(200));
const Data = z.record(z.string(), z.unknown());

export const EventInput = z.strictObject({
  /** The producer's idempotency key; the same id twice is accepted once. Generated when absent. */
  id: z.optional(EventId),
  type: EventType,
  occurredAt: z.optional(z.iso.datetime({ offset: true })),
  lead: z.optional(LeadInput),
  data: z.optional(Data),
});
export type EventInput = z.output<typeof EventInput>;

export const MAX_BATCH = 500;

export const EventBatch = z.strictObject({
  events: z.array(EventInput).check(z.minLength(1), z.maxLength(MAX_BATCH)),
});

/** What a trigger job carries: an accepted event, bound to its organization. */
export const EngineEvent = z.strictObject({
  id: EventId,
  orgId: z.string().check(z.minLength(1)),
  /** Producers' types, plus the time triggers the scheduler enrols leads with. */
  type: z.enum([...eventTypes, ...timeTriggerTypes]),
  occurredAt: z.string(),
  receivedAt: z.string(),
  lead: z.optional(LeadInput),
  data: z.optional(Data),
});
export type EngineEvent = z.output<typeof EngineEvent>;
