import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../support/fakes/fake-api.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, startFakes, type Fakes } from '../support/providers.js';
import { chain, executionsOf, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

describe('test mode', () => {
  let h: Harness;
  let fakes: Fakes;
  let hooks: FakeApi;

  beforeAll(async () => {
    fakes = await startFakes();
    hooks = await startFakeApi(() => ({ status: 200, body: {} }));
    h = await startHarness({ env: providerEnv(fakes) });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
    await hooks.close();
  });

  const everything = (hookUrl: string) => ({
    name: 'Everything',
    nodes: [
      trigger(),
      { id: 'mail', type: 'send_email', params: { subject: 'Hi {{ lead.firstName }}', body: 'Welcome' } },
      { id: 'sms', type: 'send_sms', params: { body: 'Hi' } },
      { id: 'wa', type: 'send_whatsapp', params: { body: 'Hi' } },
      { id: 'meta', type: 'sync_to_meta', params: { eventName: 'Lead' } },
      { id: 'stripe', type: 'create_stripe_customer', params: {} },
      { id: 'hook', type: 'webhook_call', params: { url: `${hookUrl}/test-mode` } },
    ],
    edges: chain('start', 'mail', 'sms', 'wa', 'meta', 'stripe', 'hook'),
  });

  const reachedProviders = (email: string, phone: string) =>
    fakes.smtp.messages.filter((m) => m.to.includes(email)).length +
    fakes.twilio.requests.filter((r) => r.body.includes(encodeURIComponent(phone))).length +
    fakes.meta.received.filter((e) => JSON.stringify(e).includes(email)).length +
    fakes.stripe.requests.filter((r) => r.body.includes(encodeURIComponent(email))).length +
    hooks.requests.filter((r) => r.path === '/test-mode').length;

  it('an organization in test mode: every communication and integration step goes to the outbox, marked', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['smtp', 'twilio', 'meta', 'stripe'], { testMode: { enabled: true } });
    const workflowId = await publishWorkflow(h, apiKey, everything(hooks.url));
    const lead = { id: 'tester', email: 'owner@irontemple.test', phone: '+447700900900', firstName: 'Owner' };

    // Act
    await h.call('POST', '/v1/events', { type: 'new_lead', lead }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId);

    // Assert
    expect(reachedProviders(lead.email, lead.phone)).toBe(0);
    const steps = execution.steps.filter((s: any) => s.type !== 'trigger');
    expect(steps).toHaveLength(6);
    for (const step of steps) {
      expect(step).toMatchObject({
        status: 'completed',
        testMode: true,
        note: 'test mode: recorded in the sandbox outbox, not sent',
      });
      expect(step.output.testMode).toBe(true);
    }
    const outbox = (await h.call('GET', '/v1/outbox', undefined, apiKey)).body.messages;
    expect(outbox.map((m: any) => m.kind).sort()).toEqual(
      ['email', 'meta_event', 'sms', 'stripe_customer', 'webhook_call', 'whatsapp'].sort(),
    );
    expect(outbox.every((m: any) => m.testMode === true)).toBe(true);
    expect(outbox.find((m: any) => m.kind === 'email')).toMatchObject({
      to: lead.email,
      subject: 'Hi Owner',
    });
    // A sandbox customer id is never written to the lead.
    expect(
      (await h.call('GET', '/v1/leads/tester', undefined, apiKey)).body.stripeCustomerId,
    ).toBeUndefined();
  });

  it('a workflow in test mode uses the outbox while the organization’s other workflows send for real', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const text = (name: string, testMode?: boolean) => ({
      name,
      ...(testMode ? { settings: { enrollment: 'once_active', testMode } } : {}),
      nodes: [trigger(), { id: 'sms', type: 'send_sms', params: { body: name } }],
      edges: chain('start', 'sms'),
    });
    const trial = await publishWorkflow(h, apiKey, text('trial run', true));
    const live = await publishWorkflow(h, apiKey, text('live run'));

    // Act
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { phone: '+447700900901' } }, apiKey);
    const [trialRun, liveRun] = await Promise.all([
      settledExecution(h, apiKey, trial),
      settledExecution(h, apiKey, live),
    ]);

    // Assert
    expect(fakes.twilio.messages.filter((m) => m.to === '+447700900901').map((m) => m.body)).toEqual([
      'live run',
    ]);
    expect(trialRun.steps.at(-1)).toMatchObject({ testMode: true, output: { sandbox: true } });
    expect(liveRun.steps.at(-1).testMode).toBeUndefined();
  });

  it('a single execution runs in test mode when its event says `data.testMode: true`', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Text',
      settings: { enrollment: 'always' },
      nodes: [trigger(), { id: 'sms', type: 'send_sms', params: { body: 'to {{ lead.phone }}' } }],
      edges: chain('start', 'sms'),
    });

    // Act
    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { phone: '+447700900902' }, data: { testMode: true } },
      apiKey,
    );
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { phone: '+447700900903' } }, apiKey);
    const executions = await eventually(async () => {
      const all = await executionsOf(h, apiKey, workflowId);
      return all.length === 2 && all.every((e) => e.status === 'completed') ? all : undefined;
    });

    // Assert
    expect(executions).toHaveLength(2);
    const phones = ['+447700900902', '+447700900903'];
    expect(fakes.twilio.messages.filter((m) => phones.includes(m.to)).map((m) => m.to)).toEqual([
      '+447700900903',
    ]);
    const outbox = (await h.call('GET', '/v1/outbox', undefined, apiKey)).body.messages;
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ kind: 'sms', to: '+447700900902', testMode: true });
  });
});
