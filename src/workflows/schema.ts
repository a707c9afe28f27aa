// Workflow definitions: the zod schema is the source of truth for what a workflow file may say.
import { Duration, DateTime } from 'luxon';
import { z } from 'zod';
import { cronProblem, weekdays } from '../time/clock.js';
import { conditionSchema, LocalTime } from '../triggers/condition-schema.js';

import { eventTriggerTypes, timeTriggerTypes } from './trigger-types.js';

export { eventTriggerTypes, timeTriggerTypes };

export const triggerTypes = [...eventTriggerTypes, ...timeTriggerTypes] as const;
export const TriggerType = z.enum(triggerTypes);
export type TriggerType = z.output<typeof TriggerType>;

export const communicationActions = ['send_email', 'send_sms', 'send_whatsapp'] as const;
export const crmActions = ['update_lead', 'add_tag', 'change_status'] as const;
export const integrationActions = ['sync_to_meta', 'create_stripe_customer', 'webhook_call'] as const;

export const NodeId = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    'must start with a letter and hold only letters, digits, _ and - (max 64)',
  );

const TimeZone = z
  .string()
  .refine((zone) => DateTime.local().setZone(zone).isValid, 'unknown IANA time zone');

const IsoDuration = z.string().refine((text) => {
  const duration = Duration.fromISO(text);
  return duration.isValid && duration.toMillis() > 0;
}, 'must be a positive ISO 8601 duration such as PT15M or P1D');

const IsoDateTime = z.iso
  .datetime({ offset: true })
  .refine((text) => DateTime.fromISO(text, { setZone: true }).isValid, {
    message: 'is not a real date and time',
    when: (payload) => payload.issues.length === 0,
  });

const Scalar = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);

const Template = z.string().min(1).max(50_000);

const base = {
  id: NodeId,
  name: z.string().max(200).optional(),
};

const ScheduleSpec = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('cron'),
    /** Five-field cron expression, evaluated in `timeZone` (else the organization's). */
    cron: z
      .string()
      .regex(/^\s*(\S+\s+){4}\S+\s*$/, 'must be a five-field cron expression such as "0 9 * * 1"')
      .refine((cron) => cronProblem(cron) === undefined, {
        error: (issue) => `invalid cron expression: ${cronProblem(String(issue.input))}`,
        when: (payload) => payload.issues.length === 0,
      }),
    timeZone: TimeZone.optional(),
  }),
  z.strictObject({
    kind: z.literal('every'),
    every: z.number().int().positive(),
    unit: z.enum(['minutes', 'hours', 'days', 'weeks']),
    anchor: IsoDateTime.optional(),
  }),
  z.strictObject({
    kind: z.literal('date'),
    /** Lead field holding a date (YYYY-MM-DD), such as `birthday` or `renewalDate`. */
    field: z.string().min(1).max(100),
    offsetDays: z.number().int().min(-366).max(366).default(0),
    at: LocalTime,
    yearly: z.boolean().default(false),
  }),
]);

const expectedSchedule: Partial<Record<TriggerType, 'cron' | 'every' | 'date'>> = {
  scheduled: 'cron',
  recurring: 'every',
  date_reached: 'date',
};

const TriggerNode = z
  .strictObject({
    ...base,
    type: z.literal('trigger'),
    event: TriggerType,
    filter: conditionSchema.optional(),
    schedule: ScheduleSpec.optional(),
  })
  .superRefine((node, ctx) => {
    const kind = expectedSchedule[node.event];
    if (kind && node.schedule?.kind !== kind) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule'],
        message: `a ${node.event} trigger needs a "${kind}" schedule`,
      });
    }
    if (!kind && node.schedule) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule'],
        message: `a ${node.event} trigger takes no schedule`,
      });
    }
  });

const action = <T extends string, P extends z.ZodType>(type: T, params: P) =>
  z.strictObject({ ...base, type: z.literal(type), params });

const SendEmail = action(
  'send_email',
  z.strictObject({
    /** Recipient; defaults to the lead's email. */
    to: Template.optional(),
    from: z.string().max(320).optional(),
    subject: Template,
    body: Template,
    html: Template.optional(),
  }),
);
const SendSms = action('send_sms', z.strictObject({ to: Template.optional(), body: Template }));
const SendWhatsapp = action(
  'send_whatsapp',
  z
    .strictObject({
      to: Template.optional(),
      body: Template.optional(),
      templateName: z.string().max(200).optional(),
    })
    .refine(
      (params) => params.body !== undefined || params.templateName !== undefined,
      'needs a body or a templateName',
    ),
);
const UpdateLead = action(
  'update_lead',
  z.strictObject({
    fields: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'lead field names are identifiers'), Scalar)
      .refine((fields) => Object.keys(fields).length > 0, 'must set at least one field'),
  }),
);
const AddTag = action('add_tag', z.strictObject({ tag: z.string().min(1).max(100) }));
const ChangeStatus = action('change_status', z.strictObject({ status: z.string().min(1).max(100) }));
const SyncToMeta = action(
  'sync_to_meta',
  z.strictObject({
    eventName: z.string().min(1).max(100),
    value: z.number().nonnegative().optional(),
    currency: z.string().length(3).optional(),
  }),
);
const CreateStripeCustomer = action(
  'create_stripe_customer',
  z.strictObject({
    description: z.string().max(500).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
  }),
);
const WebhookCall = action(
  'webhook_call',
  z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional(),
    timeoutMs: z.number().int().min(100).max(30_000).default(10_000),
  }),
);
/** Event types a wait-for-event can wait for (the lead's engagement and replies, or any live event). */
const WaitEvent = z.string().regex(/^[a-z_]{1,50}$/, 'must be an event type such as email_opened');

const Wait = action(
  'wait',
  z
    .strictObject({
      /** Wait a fixed time (ISO 8601 duration). */
      duration: IsoDuration.optional(),
      /** Wait until an absolute time. */
      until: IsoDateTime.optional(),
      /** Wait until the next given weekday at `at`, in the lead's time zone (else the organization's). */
      weekday: z.enum(weekdays).optional(),
      at: z.optional(LocalTime),
      /** Wait for an event of this type for the lead (edges `received` and `timed_out`). */
      event: WaitEvent.optional(),
      /** How long to wait for the event before taking the `timed_out` edge. */
      timeout: IsoDuration.optional(),
      /** `execution`: only an event naming this execution (`data.executionId`, as tracking links do); `lead`: any. */
      match: z.enum(['lead', 'execution']).default('lead'),
    })
    .superRefine((params, ctx) => {
      const modes = [params.duration, params.until, params.weekday, params.event].filter(
        (v) => v !== undefined,
      );
      if (modes.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          message: 'give exactly one of duration, until, weekday (with at) or event (with timeout)',
        });
      }
      if ((params.weekday === undefined) !== (params.at === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [params.weekday ? 'at' : 'weekday'],
          message: 'weekday and at go together',
        });
      }
      if ((params.event === undefined) !== (params.timeout === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [params.event ? 'timeout' : 'event'],
          message: 'event and timeout go together',
        });
      }
    }),
);
const BranchLabel = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ and - only (max 32)');
/** An AI decision: an OpenAI-compatible model picks one of `labels`; edges out of the branch carry those labels. */
export const AiDecision = z
  .strictObject({
    /** What to decide, a liquid template over lead, event and earlier nodes' outputs. */
    prompt: Template,
    labels: z.array(BranchLabel).min(2).max(10),
    /** The label taken when the model times out, fails or answers outside `labels`. */
    fallback: BranchLabel,
    model: z.string().min(1).max(100).optional(),
    timeoutMs: z.number().int().min(500).max(60_000).default(10_000),
  })
  .superRefine((ai, ctx) => {
    if (new Set(ai.labels).size !== ai.labels.length)
      ctx.addIssue({ code: 'custom', path: ['labels'], message: 'labels must be unique' });
    if (!ai.labels.includes(ai.fallback))
      ctx.addIssue({ code: 'custom', path: ['fallback'], message: 'fallback must be one of the labels' });
  });
/** A branch decides by a condition (edges `true`/`false`) or by AI (`aiDecision`, one edge per label). */
const Branch = action(
  'branch',
  z
    .strictObject({ condition: conditionSchema.optional(), aiDecision: AiDecision.optional() })
    .refine((params) => (params.condition === undefined) !== (params.aiDecision === undefined), {
      message: 'give exactly one of condition or aiDecision',
    }),
);
const Split = action(
  'split',
  z.strictObject({
    variants: z
      .array(
        z.strictObject({
          label: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
          weight: z.number().int().positive(),
        }),
      )
      .min(2)
      .max(10),
  }),
);
const Parallel = z.strictObject({
  ...base,
  type: z.literal('parallel'),
  params: z.strictObject({}).default({}),
});
const Join = action(
  'join',
  z.strictObject({ /** The parallel node whose arms this join waits for. */ parallel: NodeId }),
);

export const WorkflowNode = z.discriminatedUnion('type', [
  TriggerNode,
  SendEmail,
  SendSms,
  SendWhatsapp,
  UpdateLead,
  AddTag,
  ChangeStatus,
  SyncToMeta,
  CreateStripeCustomer,
  WebhookCall,
  Wait,
  Branch,
  Split,
  Parallel,
  Join,
]);
export type WorkflowNode = z.output<typeof WorkflowNode>;
export type NodeType = WorkflowNode['type'];
export type NodeOf<T extends NodeType> = Extract<WorkflowNode, { type: T }>;

export const Edge = z.strictObject({
  from: NodeId,
  to: NodeId,
  /** Edge label: `true`/`false` out of a branch, a variant label out of a split. */
  when: z.string().max(64).optional(),
});
export type Edge = z.output<typeof Edge>;

export const EnrollmentMode = z.enum(['once_active', 'always', 'once_ever']);
export type EnrollmentMode = z.output<typeof EnrollmentMode>;

export const Priority = z.enum(['high', 'normal', 'low']);
export type Priority = z.output<typeof Priority>;

export const WorkflowSettings = z.strictObject({
  /**
   * Queue priority of this workflow's jobs. Defaults by trigger: `new_lead` and `sms_replied` high, other live
   * events normal, time triggers low, so a birthday sweep never delays the first reply to a new lead.
   */
  priority: Priority.optional(),
  /** The goal: when this event (and filter) happens for a lead, its active executions of this workflow exit. */
  goal: z.strictObject({ event: TriggerType, filter: conditionSchema.optional() }).optional(),
  /**
   * Re-entry rule. `once_active`: at most one active execution per lead (the default);
   * `always`: every matching event starts one; `once_ever`: a lead enters this workflow once.
   * @defaultValue 'once_active'
   */
  enrollment: EnrollmentMode.default('once_active'),
  /** Communication and integration steps go to the sandbox outbox instead of the providers. */
  testMode: z.boolean().optional(),
});

export const WorkflowDefinition = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  nodes: z.array(WorkflowNode).min(1).max(500),
  edges: z.array(Edge).max(2000),
  settings: WorkflowSettings.default({ enrollment: 'once_active' }),
});
export type WorkflowDefinition = z.output<typeof WorkflowDefinition>;
export type WorkflowDefinitionInput = z.input<typeof WorkflowDefinition>;

/** Node types that run inside the job that reaches them: no I/O beyond the execution's own Redis slot and the lead store. */
export const inlineNodeTypes: ReadonlySet<NodeType> = new Set<NodeType>([
  'trigger',
  'branch',
  'split',
  'update_lead',
  'add_tag',
  'change_status',
  'wait',
  'parallel',
  'join',
]);

/**
 * Whether a node may run inside the job that reaches it (and inline in the trigger job): an inline type, except a
 * `branch` decided by AI, which calls the AI endpoint and so gets a job of its own.
 */
export function runsInline(node: WorkflowNode): boolean {
  return inlineNodeTypes.has(node.type) && !(node.type === 'branch' && node.params.aiDecision);
}

/** Node types that reach outside the engine: their effect is recorded in the ledger before the step commits. */
export const externalNodeTypes: ReadonlySet<NodeType> = new Set<NodeType>([
  ...communicationActions,
  'sync_to_meta',
  'create_stripe_customer',
  'webhook_call',
]);

export { ScheduleSpec, Scalar };
