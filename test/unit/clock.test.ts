import { describe, expect, it } from 'vitest';
import {
  dateKeysFor,
  insideWindow,
  isCalendarDate,
  localDate,
  matchesTimeWindow,
  nextCron,
  nextRecurrence,
  nextWeekdayAt,
  nextWindowOpening,
} from '../../src/time/clock.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('send windows', () => {
  const window = { start: '08:00', end: '21:00' };

  it('holds a message at 02:00 local until 08:00 local the same day', () => {
    expect(iso(nextWindowOpening(at('2026-06-10T01:00:00Z'), 'Europe/London', window))).toBe(
      '2026-06-10T07:00:00.000Z',
    );
  });

  it('holds a message sent after closing until the next morning', () => {
    expect(iso(nextWindowOpening(at('2026-06-10T21:30:00-04:00'), 'America/New_York', window))).toBe(
      '2026-06-11T12:00:00.000Z',
    );
  });

  it('lets a message inside the window go now', () => {
    const now = at('2026-06-10T12:00:00Z');
    expect(nextWindowOpening(now, 'Europe/London', window)).toBe(now);
  });

  it('opens at 08:00 local on the night the clocks go forward in London', () => {
    expect(iso(nextWindowOpening(at('2026-03-29T00:30:00Z'), 'Europe/London', window))).toBe(
      '2026-03-29T07:00:00.000Z',
    );
  });

  it('opens at 08:00 local on the night the clocks go back in New York', () => {
    expect(iso(nextWindowOpening(at('2026-11-01T05:30:00Z'), 'America/New_York', window))).toBe(
      '2026-11-01T13:00:00.000Z',
    );
  });

  it('spans midnight when the end is before the start, and is open all day when they are equal', () => {
    const night = { start: '22:00', end: '06:00' };
    expect(insideWindow(at('2026-06-10T23:00:00Z'), 'UTC', night)).toBe(true);
    expect(insideWindow(at('2026-06-10T12:00:00Z'), 'UTC', night)).toBe(false);
    expect(insideWindow(at('2026-06-10T03:00:00Z'), 'UTC', { start: '00:00', end: '00:00' })).toBe(true);
  });
});

describe('waits until a weekday', () => {
  it('waits until next Monday 09:00 in the lead zone', () => {
    // Wednesday 10 June 2026, 12:00 UTC.
    expect(iso(nextWeekdayAt(at('2026-06-10T12:00:00Z'), 'America/New_York', 'mon', '09:00'))).toBe(
      '2026-06-15T13:00:00.000Z',
    );
  });

  it('takes today when the time is still ahead, next week when it has passed', () => {
    expect(iso(nextWeekdayAt(at('2026-06-15T08:00:00Z'), 'UTC', 'mon', '09:00'))).toBe(
      '2026-06-15T09:00:00.000Z',
    );
    expect(iso(nextWeekdayAt(at('2026-06-15T10:00:00Z'), 'UTC', 'mon', '09:00'))).toBe(
      '2026-06-22T09:00:00.000Z',
    );
  });

  it('keeps 09:00 local across the spring-forward weekend in London', () => {
    expect(iso(nextWeekdayAt(at('2026-03-27T12:00:00Z'), 'Europe/London', 'mon', '09:00'))).toBe(
      '2026-03-30T08:00:00.000Z',
    );
  });
});

describe('recurrences', () => {
  it('repeats every 15 minutes from the anchor', () => {
    const anchor = at('2026-06-10T10:05:00Z');
    expect(iso(nextRecurrence(at('2026-06-10T10:21:00Z'), anchor, 15, 'minutes', 'UTC'))).toBe(
      '2026-06-10T10:35:00.000Z',
    );
  });

  it('keeps the local time of a daily recurrence across the New York DST change', () => {
    const anchor = at('2026-03-06T09:00:00-05:00');
    expect(iso(nextRecurrence(at('2026-03-08T20:00:00Z'), anchor, 1, 'days', 'America/New_York'))).toBe(
      '2026-03-09T13:00:00.000Z',
    );
  });

  it('repeats every 2 weeks on the anchor weekday', () => {
    const anchor = at('2026-01-05T09:00:00Z');
    expect(iso(nextRecurrence(at('2026-01-06T00:00:00Z'), anchor, 2, 'weeks', 'UTC'))).toBe(
      '2026-01-19T09:00:00.000Z',
    );
  });

  it('fires first at the anchor when the anchor is in the future', () => {
    const anchor = at('2026-07-01T09:00:00Z');
    expect(nextRecurrence(at('2026-06-01T00:00:00Z'), anchor, 1, 'days', 'UTC')).toBe(anchor);
  });
});

describe('cron in the organization time zone', () => {
  it('fires at 09:00 London time in summer and in winter', () => {
    expect(iso(nextCron(at('2026-07-01T00:00:00Z'), '0 9 * * *', 'Europe/London'))).toBe(
      '2026-07-01T08:00:00.000Z',
    );
    expect(iso(nextCron(at('2026-12-01T00:00:00Z'), '0 9 * * *', 'Europe/London'))).toBe(
      '2026-12-01T09:00:00.000Z',
    );
  });

  it('fires at the right instant on the day the clocks change in New York', () => {
    expect(iso(nextCron(at('2026-03-08T00:00:00Z'), '0 9 * * *', 'America/New_York'))).toBe(
      '2026-03-08T13:00:00.000Z',
    );
  });
});

describe('date_reached', () => {
  it('looks for renewals 7 days ahead', () => {
    expect(dateKeysFor('2026-06-10', -7, false)).toEqual(['2026-06-17']);
  });

  it('matches birthdays by month and day', () => {
    expect(dateKeysFor('2026-06-10', 0, true)).toEqual(['06-10']);
  });

  it('celebrates 29 February birthdays on 28 February in a year without one, and on the day in a leap year', () => {
    expect(dateKeysFor('2027-02-28', 0, true)).toEqual(['02-28', '02-29']);
    expect(dateKeysFor('2028-02-28', 0, true)).toEqual(['02-28']);
    expect(dateKeysFor('2028-02-29', 0, true)).toEqual(['02-29']);
  });

  it('knows real calendar dates', () => {
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2027-02-29')).toBe(false);
    expect(isCalendarDate('2026-13-01')).toBe(false);
  });

  it('takes the local date in the zone, not the UTC date', () => {
    expect(localDate(at('2026-06-10T23:30:00Z'), 'Asia/Tokyo')).toBe('2026-06-11');
    expect(localDate(at('2026-06-10T02:30:00Z'), 'America/Los_Angeles')).toBe('2026-06-09');
  });
});

describe('time-based conditions', () => {
  it('matches a weekday and a window in the zone', () => {
    // Saturday 13 June 2026, 10:00 in London.
    const now = at('2026-06-13T09:00:00Z');
    expect(matchesTimeWindow(now, 'Europe/London', { weekdays: ['sat', 'sun'] })).toBe(true);
    expect(matchesTimeWindow(now, 'Europe/London', { weekdays: ['mon'] })).toBe(false);
    expect(matchesTimeWindow(now, 'Europe/London', { window: { start: '09:00', end: '12:00' } })).toBe(true);
    expect(matchesTimeWindow(now, 'America/New_York', { window: { start: '09:00', end: '12:00' } })).toBe(
      false,
    );
  });
});
