import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, nurtureDefinition, startHarness, type Harness } from '../support/harness.js';

describe('the nurture example end to end', () => {
  let h: Harness;
  let apiKey: string;

  beforeAll(async () => {
    h = await startHarness();
    ({ apiKey } = await h.createOrg());
  });
  afterAll(() => h.close());

  it('welcomes, waits, texts a lead who did not open, tags them, and records every step', async () => {
    const created = await h.call('POST', '/v1/workflows', nurtureDefinition(), apiKey);
    expect(created.status).toBe(201);
    const published = await h.call('POST', `/v1/workflows/${created.body.id}/publish`, undefined, apiKey);
    expect(published.status).toBe(200);

    const lead = {
      id: 'sarah',
      email: 'sarah@example.com',
      phone: '+447700900123',
      firstName: 'Sarah',
      source: 'instagram',
    };
    const accepted = await h.call('POST', '/v1/events', { id: 'evt-1', type: 'new_lead', lead }, apiKey);
    expect(accepted.status).toBe(202);

    const list = await eventually(async () => {
      const r = await h.call('GET', `/v1/workflows/${created.body.id}/executions`, undefined, apiKey);
      return r.body.executions.length > 0 ? r.body.executions : undefined;
    });
    const execution = await eventually(async () => {
      const r = await h.call('GET', `/v1/executions/${list[0].id}`, undefined, apiKey);
      return r.body.status === 'completed' ? r.body : undefined;
    });

    expect(execution.steps.map((s: { nodeId: string }) => s.nodeId)).toEqual([
      'start',
      'welcome',
      'pause',
      'opened',
      'nudge',
      'tag',
    ]);
    expect(execution.steps.find((s: { nodeId: string }) => s.nodeId === 'opened').edge).toBe('false');
    const outbox = await h.call('GET', '/v1/outbox', undefined, apiKey);
    expect(outbox.body.messages.map((m: { kind: string; to: string }) => [m.kind, m.to])).toEqual([
      ['sms', '+447700900123'],
      ['email', 'sarah@example.com'],
    ]);
    expect(outbox.body.messages[1].subject).toBe('Welcome, Sarah');
    const stored = await h.call('GET', '/v1/leads/sarah', undefined, apiKey);
    expect(stored.body.tags).toEqual(['nurtured']);
  });
});
