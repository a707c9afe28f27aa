import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twilioFailures } from '../support/fakes/twilio.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, startFakes, type Fakes } from '../support/providers.js';
import { chain, executionsOf, publishWorkflow, trigger } from '../support/workflows.js';

describe('circuit breakers', () => {
  let h: Harness;
  let fakes: Fakes;

  beforeAll(async () => {
    fakes = await startFakes();
    h = await startHarness({
      env: providerEnv(fakes, { BREAKER_THRESHOLD: '3', BREAKER_HALF_OPEN_MS: '400', JOB_ATTEMPTS: '3' }),
    });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
  });

  it('an outage opens the breaker, steps wait instead of failing, and every one completes once after recovery', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Text',
      nodes: [
        trigger(),
        { id: 'sms', type: 'send_sms', params: { body: 'Class at 6, {{ lead.firstName }}' } },
      ],
      edges: chain('start', 'sms'),
    });
    const breaker = `twilio:${fakes.twilio.url}`;
    const states: string[] = [];
    fakes.twilio.outage(twilioFailures.serverError);
    const phones = Array.from({ length: 8 }, (_, i) => `+4477009004${String(i).padStart(2, '0')}`);

    // Act: eight executions during the outage; the outage lasts past a failed half-open probe, then ends.
    await h.call(
      'POST',
      '/v1/events',
      { events: phones.map((phone, i) => ({ type: 'new_lead', lead: { phone, firstName: `L${i}` } })) },
      apiKey,
    );
    await eventually(
      async () => (h.engine.breakers.state(breaker) === 'open' ? true : undefined),
      10_000,
      'the breaker to open',
    );
    states.push(h.engine.breakers.state(breaker));
    await new Promise((resolve) => setTimeout(resolve, 200)); // requests sent before it opened have landed
    const duringOutage = fakes.twilio.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const probes = fakes.twilio.requests.length - duringOutage;
    fakes.twilio.recover();
    const executions = await eventually(
      async () => {
        const all = await executionsOf(h, apiKey, workflowId);
        return all.length === phones.length && all.every((e) => e.status === 'completed') ? all : undefined;
      },
      20_000,
      'every execution to complete',
    );
    states.push(h.engine.breakers.state(breaker));

    // Assert
    expect(states).toEqual(['open', 'closed']);
    // While open, the provider saw one probe per half-open window (400 ms), not every waiting step retrying.
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(4);
    expect(fakes.twilio.messages.map((m) => m.to).sort()).toEqual(phones);
    const steps = (
      await Promise.all(executions.map((e) => h.call('GET', `/v1/executions/${e.id}`, undefined, apiKey)))
    ).flatMap((r) => r.body.steps.filter((s: any) => s.nodeId === 'sms'));
    const delayed = steps.filter((s: any) => s.error?.code === 'circuit_open');
    expect(delayed.length).toBeGreaterThanOrEqual(phones.length - 2);
    expect(delayed[0].note).toMatch(/^delayed \d+ ms \(circuit_open\): /);
    // Only failures before the breaker opened spent an attempt: nobody came near the dead-letter queue.
    expect(Math.max(...steps.map((s: any) => s.attempt))).toBeLessThanOrEqual(2);
    expect(steps.filter((s: any) => s.status === 'completed')).toHaveLength(phones.length);
    expect((await h.call('GET', '/v1/dead-letter', undefined, apiKey)).body.entries).toEqual([]);
  });

  it('a provider’s 4xx answers do not open its breaker', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    await publishWorkflow(h, apiKey, {
      name: 'Bad numbers',
      nodes: [trigger(), { id: 'sms', type: 'send_sms', params: { body: 'x' } }],
      edges: chain('start', 'sms'),
    });

    // Act: five numbers Twilio refuses (21211)
    await h.call(
      'POST',
      '/v1/events',
      {
        events: Array.from({ length: 5 }, (_, i) => ({
          type: 'new_lead',
          lead: { phone: `+012345678${i}` },
        })),
      },
      apiKey,
    );
    await eventually(async () => {
      const entries = (await h.call('GET', '/v1/dead-letter', undefined, apiKey)).body.entries;
      return entries.length === 5 ? entries : undefined;
    });

    // Assert
    expect(h.engine.breakers.state(`twilio:${fakes.twilio.url}`)).toBe('closed');
  });
});
