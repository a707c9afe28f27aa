// Time arithmetic for the engine: pure functions of an explicit `now` (epoch ms) and a time zone, done with luxon,
// so daylight-saving changes, leap days and zones are unit-tested without sleeping.
import { CronExpressionParser } from 'cron-parser';
import { DateTime, Duration } from 'luxon';

/** A local time of day, `HH:MM`. */
export type LocalTime = string;

export interface SendWindow {
  /** Opening time, local. @defaultValue '08:00' */
  start: LocalTime;
  /** Closing time, local (exclusive). @defaultValue '21:00' */
  end: LocalTime;
}

export const DEFAULT_SEND_WINDOW: SendWindow = { start: '08:00', end: '21:00' };

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

export function isValidZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

function minutesOf(time: LocalTime): number {
  const [h, m] = time.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

function at(day: DateTime, time: LocalTime): DateTime {
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  // luxon moves a time that does not exist (a spring-forward gap) forward by the gap, as a person would expect.
  return day.set({ hour, minute, second: 0, millisecond: 0 });
}

/**
 * Whether `now` falls inside the daily window in `zone`. A window whose end is before its start spans midnight;
 * one whose start equals its end is open all day.
 */
export function insideWindow(now: number, zone: string, window: SendWindow): boolean {
  if (window.start === window.end) return true;
  const local = DateTime.fromMillis(now, { zone });
  const minute = local.hour * 60 + local.minute;
  const [start, end] = [minutesOf(window.start), minutesOf(window.end)];
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** When a step held by the send window may run: `now` inside the window, else the next opening in `zone`. */
export function nextWindowOpening(now: number, zone: string, window: SendWindow): number {
  if (insideWindow(now, zone, window)) return now;
  const local = DateTime.fromMillis(now, { zone });
  const today = at(local, window.start);
  return (today.toMillis() > now ? today : at(local.plus({ days: 1 }), window.start)).toMillis();
}

/** The next given weekday at a local time, strictly after `now` (a wait "until next Monday 09:00"). */
export function nextWeekdayAt(now: number, zone: string, weekday: Weekday, time: LocalTime): number {
  const local = DateTime.fromMillis(now, { zone });
  const target = weekdays.indexOf(weekday) + 1;
  for (let days = 0; days <= 7; days += 1) {
    const candidate = at(local.plus({ days }), time);
    if (candidate.weekday === target && candidate.toMillis() > now) return candidate.toMillis();
  }
  throw new Error('unreachable: a weekday recurs within eight days');
}

export function durationMs(iso: string): number {
  return Duration.fromISO(iso).toMillis();
}

/** `seconds` is not offered in definitions; tests use it to run real schedules quickly. */
export type RecurrenceUnit = 'seconds' | 'minutes' | 'hours' | 'days' | 'weeks';

/**
 * The first occurrence of "every N units from anchor" strictly after `now`. Minutes and hours are fixed spans;
 * days and weeks keep the anchor's local wall-clock time across daylight-saving changes in `zone`.
 */
export function nextRecurrence(
  now: number,
  anchor: number,
  every: number,
  unit: RecurrenceUnit,
  zone: string,
): number {
  if (now < anchor) return anchor;
  if (unit === 'seconds' || unit === 'minutes' || unit === 'hours') {
    const span = every * { seconds: 1000, minutes: 60_000, hours: 3_600_000 }[unit];
    return anchor + (Math.floor((now - anchor) / span) + 1) * span;
  }
  const start = DateTime.fromMillis(anchor, { zone });
  const stepDays = every * (unit === 'weeks' ? 7 : 1);
  const elapsedDays = Math.floor(DateTime.fromMillis(now, { zone }).diff(start, 'days').days);
  let k = Math.max(0, Math.floor(elapsedDays / stepDays));
  let next = start.plus({ days: k * stepDays });
  while (next.toMillis() <= now) {
    k += 1;
    next = start.plus({ days: k * stepDays });
  }
  return next.toMillis();
}

/** The next time a five-field cron expression fires in `zone`, strictly after `now`. Throws on a bad expression. */
export function nextCron(now: number, expression: string, zone: string): number {
  return CronExpressionParser.parse(expression, { currentDate: new Date(now), tz: zone })
    .next()
    .getTime();
}

/** Why a cron expression is invalid, or undefined when it parses. */
export function cronProblem(expression: string): string | undefined {
  try {
    CronExpressionParser.parse(expression, { strict: false });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The local calendar date (`YYYY-MM-DD`) of `now` in `zone`. */
export function localDate(now: number, zone: string): string {
  return DateTime.fromMillis(now, { zone }).toISODate()!;
}

/** Whether a `YYYY-MM-DD` string names a real calendar date (no 2023-02-29, no 2026-13-01). */
export function isCalendarDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && DateTime.fromISO(text).isValid;
}

/**
 * The lead date values a `date_reached` trigger looks for on `today`: the date `offsetDays` before today (a
 * negative offset reaches dates in the future: -3 is "3 days before renewal"). Yearly triggers compare month and
 * day; a 29 February birthday is celebrated on 28 February in years without one.
 */
export function dateKeysFor(today: string, offsetDays: number, yearly: boolean): string[] {
  const target = DateTime.fromISO(today, { zone: 'UTC' }).minus({ days: offsetDays });
  if (!yearly) return [target.toISODate()!];
  const keys = [target.toFormat('MM-dd')];
  if (target.month === 2 && target.day === 28 && !target.isInLeapYear) keys.push('02-29');
  return keys;
}

/** The moment a local date and time happen in `zone`. */
export function localDateTime(date: string, time: LocalTime, zone: string): number {
  return at(DateTime.fromISO(date, { zone }), time).toMillis();
}

export interface TimeWindowCondition {
  window?: { start: LocalTime; end: LocalTime };
  weekdays?: Weekday[];
}

/** The time-of-day and weekday part of a `time_based` condition, in `zone`. */
export function matchesTimeWindow(now: number, zone: string, condition: TimeWindowCondition): boolean {
  const local = DateTime.fromMillis(now, { zone });
  if (condition.weekdays && !condition.weekdays.includes(weekdays[local.weekday - 1]!)) return false;
  return condition.window ? insideWindow(now, zone, condition.window) : true;
}

/** Reads a lead date (ISO date or date-time) as epoch ms in `zone`; undefined when it is not a date. */
export function instantOf(value: unknown, zone: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = DateTime.fromISO(value, { zone });
  return parsed.isValid ? parsed.toMillis() : undefined;
}
