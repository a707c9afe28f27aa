// Conditions: field comparisons combined with all/any/not, shared by trigger filters and branch nodes.
import safeRegex from 'safe-regex2';
import { z } from 'zod';
import { weekdays } from '../time/clock.js';

export const comparisonOps = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'contains',
  'exists',
  'matches',
] as const;
export type ComparisonOp = (typeof comparisonOps)[number];

/** A dotted path into the evaluation context: `lead.*`, `event.*`, `nodes.<id>.*`. */
const FieldPath = z
  .string()
  .regex(
    /^(lead|event|nodes|execution)(\.[A-Za-z0-9_-]+)*$/,
    'must be a path under lead, event, nodes or execution',
  );

const ScalarValue = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

/** Longest regex source accepted for `matches`; longer patterns are a denial-of-service risk. */
export const MAX_PATTERN_LENGTH = 200;

/** Longest text a `matches` condition tests; lead data past it is cut, bounding the work of any pattern. */
export const MAX_MATCHED_LENGTH = 1000;

export const Comparison = z
  .strictObject({
    field: FieldPath,
    op: z.enum(comparisonOps),
    value: z.union([ScalarValue, z.array(ScalarValue).max(1000)]).optional(),
  })
  .superRefine((cmp, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
    switch (cmp.op) {
      case 'exists':
        if (cmp.value !== undefined && typeof cmp.value !== 'boolean')
          issue('exists takes true, false or nothing');
        return;
      case 'in':
        if (!Array.isArray(cmp.value)) issue('in needs an array of values');
        return;
      case 'matches':
        if (typeof cmp.value !== 'string') return issue('matches needs a regular expression string');
        if (cmp.value.length > MAX_PATTERN_LENGTH)
          return issue(`pattern longer than ${MAX_PATTERN_LENGTH} characters`);
        try {
          new RegExp(cmp.value, 'u');
        } catch (error) {
          return issue(`invalid regular expression: ${(error as Error).message}`);
        }
        if (!safeRegex(cmp.value))
          issue('pattern may take exponential time (nested quantifiers); simplify it');
        return;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (typeof cmp.value !== 'number' && typeof cmp.value !== 'string')
          issue(`${cmp.op} needs a number or a date string`);
        return;
      default:
        if (cmp.value === undefined || Array.isArray(cmp.value)) issue(`${cmp.op} needs a single value`);
    }
  });
export type Comparison = z.output<typeof Comparison>;

/** A local time of day, HH:MM (24 h). */
export const LocalTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a local time HH:MM');

/**
 * A time-based condition, evaluated in the lead's time zone (else the organization's): either the current time
 * inside a daily window and/or on given weekdays, or a date field before/after now plus `offsetDays`
 * (`{ field: 'lead.joinedAt', op: 'before', offsetDays: -30 }` is "joined more than 30 days ago").
 */
export const TimeBased = z
  .strictObject({
    window: z.strictObject({ start: LocalTime, end: LocalTime }).optional(),
    weekdays: z.array(z.enum(weekdays)).min(1).max(7).optional(),
    field: FieldPath.optional(),
    op: z.enum(['before', 'after']).optional(),
    offsetDays: z.number().int().min(-36_500).max(36_500).default(0),
  })
  .superRefine((cond, ctx) => {
    const clock = cond.window !== undefined || cond.weekdays !== undefined;
    const date = cond.field !== undefined || cond.op !== undefined;
    if (clock === date) {
      ctx.addIssue({
        code: 'custom',
        message: 'give either window/weekdays, or field with op (before/after)',
      });
    } else if (date && (cond.field === undefined || cond.op === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [cond.field ? 'op' : 'field'],
        message: 'field and op go together',
      });
    }
  });
export type TimeBased = z.output<typeof TimeBased>;

export type Condition =
  Comparison | { all: Condition[] } | { any: Condition[] } | { not: Condition } | { time_based: TimeBased };

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    Comparison,
    z.strictObject({ all: z.array(conditionSchema).min(1).max(50) }),
    z.strictObject({ any: z.array(conditionSchema).min(1).max(50) }),
    z.strictObject({ not: conditionSchema }),
    z.strictObject({ time_based: TimeBased }),
  ]),
);
