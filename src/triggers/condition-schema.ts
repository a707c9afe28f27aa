// Conditions: field comparisons combined with all/any/not, shared by trigger filters and branch nodes.
import { z } from 'zod';

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
          issue(`invalid regular expression: ${(error as Error).message}`);
        }
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

export type Condition = Comparison | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    Comparison,
    z.strictObject({ all: z.array(conditionSchema).min(1).max(50) }),
    z.strictObject({ any: z.array(conditionSchema).min(1).max(50) }),
    z.strictObject({ not: conditionSchema }),
  ]),
);
