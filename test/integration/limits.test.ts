import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, startFakes, type Fakes } from '../support/providers.js';
import { chain, executionsOf, publishWorkflow, trigger } from '../support/workflows.js';

/**
 * The limiter reserves slots exactly at the limit (checked on the reserved times themselves); a request reaches the
 * fake provider at or after its slot, late by queue and network latency, so arrivals are checked with this slack.
 */
const ARRIVAL_SLACK_MS = 250;

describe('rate limits and frequency caps', () => {
  let h: Harness;
  let fakes: Fakes;

  beforeAll(async () => {
    fakes = await startFakes();
    // One job at a time, so steps reach the limiter in the order their events arrived.
    h = await startHarness({ env: providerEnv(fakes, { WORKER_CONCURRENCY: '1' }) });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
  });

  async function allCompleted(apiKey: string, workflowId: string, count: number) {
    return eventually(
      async () => {
        const all = await executionsOf(h, apiKey, workflowId);
        return all.length === count && all.every((e) => e.status === 'completed') ? all : undefined;
      },
      20_000,
      `${count} completed executions`,
    );
  }

  it('a burst over the organization’s limit completes in full, in order, and never faster than the limit', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio'], {
      limits: { rates: { send_sms: { limit: 3, windowMs: 1000 } } },
    });
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Burst',
      nodes: [trigger(), { id: 'sms', type: 'send_sms', params: { body: 'n{{ event.data.n }}' } }],
      edges: chain('start', 'sms'),
    });
    const phones = Array.from({ length: 9 }, (_, i) => `+4477009005${String(i).padStart(2, '0')}`);

    // Act
    await h.call(
      'POST',
      '/v1/events',
      { events: phones.map((phone, n) => ({ type: 'new_lead', lead: { phone }, data: { n } })) },
      apiKey,
    );
    const executions = await allCompleted(apiKey, workflowId, phones.length);

    // Assert: every message, in the order the events arrived
    const sent = fakes.twilio.messages.filter((m) => phones.includes(m.to));
    expect(sent.map((m) => m.body)).toEqual(phones.map((_, n) => `n${n}`));
    // ...and no more than 3 in any second
    for (let i = 3; i < sent.length; i += 1) {
      expect(sent[i]!.at - sent[i - 3]!.at).toBeGreaterThanOrEqual(1000 - ARRIVAL_SLACK_MS);
    }
    expect(sent.at(-1)!.at - sent[0]!.at).toBeGreaterThanOrEqual(2000 - ARRIVAL_SLACK_MS);
    const steps = (
      await Promise.all(executions.map((e) => h.call('GET', `/v1/executions/${e.id}`, undefined, apiKey)))
    ).flatMap((r) => r.body.steps.filter((s: any) => s.nodeId === 'sms'));
    const limited = steps.filter((s: any) => s.error?.code === 'rate_limited');
    expect(limited).toHaveLength(6);
    expect(limited[0].note).toMatch(
      /^delayed \d+ ms \(rate_limited\): rate limit for send_sms \(3 per 1000 ms\) reached; delayed until \d{4}-/,
    );
    expect(steps.every((s: any) => s.attempt === 1)).toBe(true);
    // The reserved slots themselves (exact, no slack): never more than 3 in any 1000 ms.
    const slots = limited
      .map((s: any) => Date.parse(/delayed until (\S+)$/.exec(s.note)![1]!))
      .sort((a: number, b: number) => a - b);
    for (let i = 3; i < slots.length; i += 1) expect(slots[i]! - slots[i - 3]!).toBeGreaterThanOrEqual(1000);
  });

  it('caps messages per lead and channel across workflows: the one over the cap waits for the window', async () => {
    // Arrange: at most 2 SMS per lead in 1.5 s; two workflows would send three.
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio'], {
      limits: { caps: { sms: { limit: 2, windowMs: 1500 } } },
    });
    const twice = await publishWorkflow(h, apiKey, {
      name: 'Two texts',
      nodes: [
        trigger(),
        { id: 'first', type: 'send_sms', params: { body: 'first' } },
        { id: 'second', type: 'send_sms', params: { body: 'second' } },
      ],
      edges: chain('start', 'first', 'second'),
    });
    const once = await publishWorkflow(h, apiKey, {
      name: 'One text',
      nodes: [trigger(), { id: 'third', type: 'send_sms', params: { body: 'third' } }],
      edges: chain('start', 'third'),
    });

    // Act
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { phone: '+447700900600' } }, apiKey);
    const [a] = await allCompleted(apiKey, twice, 1);
    const [b] = await allCompleted(apiKey, once, 1);

    // Assert
    const sent = fakes.twilio.messages.filter((m) => m.to === '+447700900600');
    expect(sent.map((m) => m.body).sort()).toEqual(['first', 'second', 'third']);
    expect(sent[2]!.at - sent[0]!.at).toBeGreaterThanOrEqual(1500 - ARRIVAL_SLACK_MS);
    const steps = [
      ...(await h.call('GET', `/v1/executions/${a.id}`, undefined, apiKey)).body.steps,
      ...(await h.call('GET', `/v1/executions/${b.id}`, undefined, apiKey)).body.steps,
    ];
    const capped = steps.filter((s: any) => s.error?.code === 'frequency_capped');
    expect(capped).toHaveLength(1);
    expect(capped[0].note).toContain('frequency cap for sms to this lead (2 per 1500 ms) reached');
  });

  it('test mode is not limited: it reaches nobody', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio'], {
      limits: { rates: { send_sms: { limit: 1, windowMs: 60_000 } } },
      testMode: { enabled: true },
    });
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Tested',
      nodes: [trigger(), { id: 'sms', type: 'send_sms', params: { body: 'x' } }],
      edges: chain('start', 'sms'),
    });

    // Act
    await h.call(
      'POST',
      '/v1/events',
      { events: [0, 1, 2].map((i) => ({ type: 'new_lead', lead: { phone: `+44770090070${i}` } })) },
      apiKey,
    );

    // Assert
    await allCompleted(apiKey, workflowId, 3);
  });
});
