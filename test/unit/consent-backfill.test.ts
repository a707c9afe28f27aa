import { describe, expect, it } from 'vitest';
import { decideReplyBackfill, type CurrentConsent } from '../../src/consent/backfill.js';

const replied = '2026-11-20T10:00:00.000Z';
const earlier = '2026-11-19T08:00:00.000Z';
const later = '2026-11-21T12:00:00.000Z';

/** Nothing recorded by the consent store, a lead with a phone number that is not suppressed. */
const nothingYet: CurrentConsent = { consent: undefined, at: undefined, suppressed: false, hasAddress: true };

describe('decideReplyBackfill: an opt-out the old webhook recorded', () => {
  it('opts the lead out, dated when it replied, when nothing else is recorded', () => {
    expect(decideReplyBackfill({ consent: false, updatedAt: replied }, nothingYet)).toEqual({
      outcome: 'opted_out',
      change: { optedIn: false, at: replied },
    });
  });

  it('opts the lead out over an opt-in the consent store recorded before the reply', () => {
    const current = { ...nothingYet, consent: true, at: earlier };

    expect(decideReplyBackfill({ consent: false, updatedAt: replied }, current).outcome).toBe('opted_out');
  });

  it('opts the lead out, dated now, when the reply has no time and the lead says yes with none either', () => {
    const current = { ...nothingYet, consent: true };

    expect(decideReplyBackfill({ consent: 'false', updatedAt: undefined }, current)).toEqual({
      outcome: 'opted_out',
      change: { optedIn: false },
    });
  });

  it('puts the number on the suppression list when only the lead field says no', () => {
    const current = { ...nothingYet, consent: false, at: earlier };

    expect(decideReplyBackfill({ consent: false, updatedAt: replied }, current).outcome).toBe('opted_out');
  });

  it.each([
    ['the bare STOP the old worker honoured a moment later', { consent: false, at: later, suppressed: true }],
    ['an earlier opt-out with the number suppressed', { consent: false, at: earlier, suppressed: true }],
    ['an opt-out of a lead without a phone number', { consent: false, at: earlier, hasAddress: false }],
  ])('changes nothing after %s', (_, current) => {
    expect(
      decideReplyBackfill({ consent: false, updatedAt: replied }, { ...nothingYet, ...current }),
    ).toEqual({
      outcome: 'already_opted_out',
    });
  });

  it('leaves a later opt-in standing', () => {
    const current = { ...nothingYet, consent: true, at: later };

    expect(decideReplyBackfill({ consent: false, updatedAt: replied }, current)).toEqual({
      outcome: 'superseded',
    });
  });
});

describe('decideReplyBackfill: an opt-in the old webhook recorded', () => {
  it('opts the lead in when nothing is recorded', () => {
    expect(decideReplyBackfill({ consent: true, updatedAt: replied }, nothingYet)).toEqual({
      outcome: 'opted_in',
      change: { optedIn: true, at: replied },
    });
  });

  it('lifts an opt-out the consent store recorded before the reply', () => {
    const current = { ...nothingYet, consent: false, at: earlier, suppressed: true };

    expect(decideReplyBackfill({ consent: true, updatedAt: replied }, current).outcome).toBe('opted_in');
  });

  it('leaves an opt-out recorded after the reply standing', () => {
    const current = { ...nothingYet, consent: false, at: later, suppressed: true };

    expect(decideReplyBackfill({ consent: true, updatedAt: replied }, current).outcome).toBe('superseded');
  });

  it.each([
    ['smsConsent: false with no time', { consent: false }],
    ['a suppressed number and no lead field', { suppressed: true }],
    ['an opt-out recorded with a time, when the reply has none', { consent: false, at: earlier }],
  ])('keeps the lead opted out with nothing to compare: %s', (_, current) => {
    const updatedAt = 'at' in current ? undefined : replied;

    expect(decideReplyBackfill({ consent: true, updatedAt }, { ...nothingYet, ...current })).toEqual({
      outcome: 'kept_opted_out',
    });
  });

  it('changes nothing for a lead that already says yes', () => {
    const current = { ...nothingYet, consent: 'true' };

    expect(decideReplyBackfill({ consent: true, updatedAt: replied }, current)).toEqual({
      outcome: 'already_opted_in',
    });
  });
});

describe('decideReplyBackfill: a value that is neither', () => {
  it.each(['maybe', null, 1])('reports %j as unreadable and changes nothing', (consent) => {
    expect(decideReplyBackfill({ consent, updatedAt: replied }, nothingYet)).toEqual({
      outcome: 'unreadable',
    });
  });
});
