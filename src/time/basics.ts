// Time vocabulary with no library behind it, so light entry points (the ingest Lambda) can use it cheaply.
import * as z from '../shared/zod.js';

/** A local time of day, HH:MM (24 h). */
export const LocalTime = z.string().check(z.regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a local time HH:MM'));

export interface SendWindow {
  /** Opening time, local. @defaultValue '08:00' */
  start: string;
  /** Closing time, local (exclusive). @defaultValue '21:00' */
  end: string;
}

export const DEFAULT_SEND_WINDOW: SendWindow = { start: '08:00', end: '21:00' };

export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

/** Whether an IANA time zone name is known to this runtime. */
export function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
