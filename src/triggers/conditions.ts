// Evaluates conditions against a plain context object; pure and total (a missing field never throws).
import { instantOf, matchesTimeWindow } from '../time/clock.js';
import { MAX_MATCHED_LENGTH, type Comparison, type Condition, type TimeBased } from './condition-schema.js';

export type ConditionContext = Readonly<Record<string, unknown>>;

/** The clock and zone time-based conditions are evaluated with: the lead's zone, else the organization's. */
export interface ConditionTime {
  now: number;
  zone: string;
}

const DAY_MS = 86_400_000;

/** Reads a dotted path (`lead.tags`, `event.data.formId`) from the context; undefined when any part is missing. */
export function readPath(context: ConditionContext, path: string): unknown {
  let current: unknown = context;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

export function evaluate(
  condition: Condition,
  context: ConditionContext,
  time: ConditionTime = { now: Date.now(), zone: 'UTC' },
): boolean {
  if ('all' in condition) return condition.all.every((inner) => evaluate(inner, context, time));
  if ('any' in condition) return condition.any.some((inner) => evaluate(inner, context, time));
  if ('not' in condition) return !evaluate(condition.not, context, time);
  if ('time_based' in condition) return timeBased(condition.time_based, context, time);
  return compare(condition, readPath(context, condition.field));
}

function timeBased(condition: TimeBased, context: ConditionContext, time: ConditionTime): boolean {
  if (condition.field && condition.op) {
    const instant = instantOf(readPath(context, condition.field), time.zone);
    if (instant === undefined) return false;
    const pivot = time.now + condition.offsetDays * DAY_MS;
    return condition.op === 'before' ? instant < pivot : instant > pivot;
  }
  return matchesTimeWindow(time.now, time.zone, condition);
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
      return regex.test(String(actual).slice(0, MAX_MATCHED_LENGTH));
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
  if (typeof actual === 'string' && typeof expected === 'string') {
    return actual.toLowerCase() === expected.toLowerCase();
  }
  if (typeof actual === 'number' || typeof expected === 'number') {
    const [a, b] = [numeric(actual), numeric(expected)];
    return a !== undefined && a === b;
  }
  return false;
}

/** A number, or a string that spells one; blanks, booleans and arrays are not numbers. */
function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** Dates are compared only in ISO 8601 form (`2026-11-26`, `2026-11-26T09:00:00Z`), never guessed from "50". */
const isoDate = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function instant(value: unknown): number | undefined {
  if (typeof value !== 'string' || !isoDate.test(value.trim())) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
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

/** Numbers (or numeric strings) compare as numbers; two ISO dates compare as instants; nothing else compares. */
function comparable(actual: unknown, expected: unknown): [number | undefined, number | undefined] {
  const [a, b] = [numeric(actual), numeric(expected)];
  if (a !== undefined && b !== undefined) return [a, b];
  return [instant(actual), instant(expected)];
}
