// Evaluates conditions against a plain context object; pure and total (a missing field never throws).
import type { Comparison, Condition } from './condition-schema.js';

export type ConditionContext = Readonly<Record<string, unknown>>;

/** Reads a dotted path (`lead.tags`, `event.data.formId`) from the context; undefined when any part is missing. */
export function readPath(context: ConditionContext, path: string): unknown {
  let current: unknown = context;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export function evaluate(condition: Condition, context: ConditionContext): boolean {
  if ('all' in condition) return condition.all.every((inner) => evaluate(inner, context));
  if ('any' in condition) return condition.any.some((inner) => evaluate(inner, context));
  if ('not' in condition) return !evaluate(condition.not, context);
  return compare(condition, readPath(context, condition.field));
}

const regexCache = new Map<string, RegExp>();

function compare(cmp: Comparison, actual: unknown): boolean {
  const expected = cmp.value;
  switch (cmp.op) {
    case 'exists': {
      const present = actual !== undefined && actual !== null && actual !== '';
      return expected === false ? !present : present;
    }
    case 'eq':
      return looselyEqual(actual, expected);
    case 'neq':
      return !looselyEqual(actual, expected);
    case 'in':
      return Array.isArray(expected) && expected.some((candidate) => looselyEqual(actual, candidate));
    case 'contains':
      if (Array.isArray(actual)) return actual.some((item) => looselyEqual(item, expected));
      if (typeof actual === 'string' && typeof expected === 'string')
        return actual.toLowerCase().includes(expected.toLowerCase());
      return false;
    case 'matches': {
      if (typeof actual !== 'string' && typeof actual !== 'number') return false;
      if (typeof expected !== 'string') return false;
      let regex = regexCache.get(expected);
      if (!regex) {
        regex = new RegExp(expected, 'u');
        if (regexCache.size > 1000) regexCache.clear();
        regexCache.set(expected, regex);
      }
      return regex.test(String(actual));
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return order(cmp.op, actual, expected);
  }
}

/** Equality that forgives the usual CRM mismatches: "42" equals 42, strings compare case-insensitively. */
function looselyEqual(actual: unknown, expected: unknown): boolean {
  if (actual === expected) return true;
  if (actual === undefined || actual === null || expected === undefined || expected === null) {
    return (actual ?? null) === (expected ?? null);
  }
  if (typeof actual === 'string' && typeof expected === 'string')
    return actual.toLowerCase() === expected.toLowerCase();
  if (typeof actual === 'number' || typeof expected === 'number') {
    const [a, b] = [Number(actual), Number(expected)];
    return !Number.isNaN(a) && !Number.isNaN(b) && a === b;
  }
  return false;
}

function order(op: 'gt' | 'gte' | 'lt' | 'lte', actual: unknown, expected: unknown): boolean {
  const [a, b] = comparable(actual, expected);
  if (a === undefined || b === undefined) return false;
  switch (op) {
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
  }
}

/** Numbers compare as numbers; two date-like strings compare as instants; anything else is not comparable. */
function comparable(actual: unknown, expected: unknown): [number | undefined, number | undefined] {
  if (typeof expected === 'number') {
    const a =
      typeof actual === 'number'
        ? actual
        : typeof actual === 'string' && actual.trim() !== ''
          ? Number(actual)
          : NaN;
    return [Number.isNaN(a) ? undefined : a, expected];
  }
  if (typeof expected === 'string' && (typeof actual === 'string' || typeof actual === 'number')) {
    const a = typeof actual === 'number' ? actual : Date.parse(actual);
    const b = Date.parse(expected);
    return [Number.isNaN(a) ? undefined : a, Number.isNaN(b) ? undefined : b];
  }
  return [undefined, undefined];
}
