import { describe, expect, it } from 'vitest';
import { createConsentStore, replyConsent } from '../../src/consent/consent.js';
import type { EngineEvent } from '../../src/events/schema.js';
import type { RedisClient } from '../../src/queue/redis.js';
import { createKeys } from '../../src/shared/keys.js';

describe('replyConsent: opt-out and opt-in keywords of a reply', () => {
  it.each([
    'STOP',
    'Stop.',
    'STOP!',
    ' stop ',
    'stop all',
    ' stop   all ',
    'STOPALL',
    'Unsubscribe',
    'cancel',
    'end',
    'Quit!',
    'optout',
    'Revoke.',
  ])('reads %j as an opt-out', (body) => {
    expect(replyConsent(body)).toBe(false);
  });

  it.each(['start', 'Yes', 'YES!', 'unstop', 'OptIn.'])('reads %j as an opt-in', (body) => {
    expect(replyConsent(body)).toBe(true);
  });

  it.each([
    'stop sending me offers please',
    'please stop texting me',
    'Yes please, Tuesday at 6pm works',
    'HELP',
    'STOP?',
    'st op',
    '',
  ])('reads %j as neither: only a whole-message keyword counts', (body) => {
    expect(replyConsent(body)).toBeUndefined();
  });
});

describe('ConsentStore.applyReply', () => {
  /** A store over a Redis that records suppression-list writes and a lead store that records field writes. */
  function recordingStore() {
    const writes: unknown[][] = [];
    const redis = {
      sadd: async (...args: unknown[]) => writes.push(['sadd', ...args]),
      srem: async (...args: unknown[]) => writes.push(['srem', ...args]),
    } as unknown as RedisClient;
    const leads = {
      setFields: async (...args: unknown[]) => void writes.push(['setFields', ...args]),
      get: async () => undefined,
    };
    return { store: createConsentStore(redis, createKeys('t'), leads), writes };
  }

  const reply = (data: Record<string, unknown>): EngineEvent => ({
    id: 'twilio_SM1',
    orgId: 'org_1',
    type: 'sms_replied',
    occurredAt: '2026-03-02T09:15:00.000Z',
    receivedAt: '2026-03-02T09:15:00.000Z',
    lead: { phone: '+447700900123' },
    data,
  });

  it('opts the WhatsApp sender out for a "Stop." reply, by address and on the lead', async () => {
    // Arrange
    const { store, writes } = recordingStore();

    // Act
    const change = await store.applyReply(
      reply({ channel: 'whatsapp', from: 'whatsapp:+447700900123', body: 'Stop.' }),
      'ph_lead',
    );

    // Assert
    expect(change).toEqual({
      orgId: 'org_1',
      channel: 'whatsapp',
      optedIn: false,
      source: 'whatsapp_reply',
      address: 'whatsapp:+447700900123',
      leadId: 'ph_lead',
    });
    expect(writes).toContainEqual(['sadd', 't:{o.org_1}:suppressed:whatsapp', '+447700900123']);
    expect(writes).toContainEqual([
      'setFields',
      'org_1',
      'ph_lead',
      expect.objectContaining({ whatsappConsent: false, whatsappConsentSource: 'whatsapp_reply' }),
    ]);
  });

  it('opts an SMS sender out for "stop all" and back in for "Start!"', async () => {
    // Arrange
    const { store, writes } = recordingStore();

    // Act
    const out = await store.applyReply(reply({ from: '+447700900123', body: ' stop all ' }), undefined);
    const back = await store.applyReply(reply({ from: '+447700900123', body: 'Start!' }), undefined);

    // Assert
    expect([out?.optedIn, back?.optedIn]).toEqual([false, true]);
    expect(writes).toEqual([
      ['sadd', 't:{o.org_1}:suppressed:sms', '+447700900123'],
      ['srem', 't:{o.org_1}:suppressed:sms', '+447700900123'],
    ]);
  });

  it('changes nothing for a reply that is not a keyword', async () => {
    // Arrange
    const { store, writes } = recordingStore();

    // Act
    const change = await store.applyReply(reply({ body: 'stop sending me offers please' }), 'ph_lead');

    // Assert
    expect(change).toBeUndefined();
    expect(writes).toEqual([]);
  });
});
