import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/app.js';
import { createNodeRunner, StepFailure } from '../../src/nodes/runner.js';
import { RetryableError, RetryAfterError } from '../../src/shared/errors.js';
import { startFakeApi, type FakeApi } from '../support/fakes/fake-api.js';
import { startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, startFakes, type Fakes, type SettingsName } from '../support/providers.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

/** A store whose chosen operation fails the first `times` calls, as if Redis went away at that moment. */
function flaky<K extends 'commit' | 'recordEffect'>(engine: Engine, operation: K, times = 1) {
  let calls = 0;
  const real = engine.executions[operation] as (...args: unknown[]) => Promise<unknown>;
  return {
    ...engine.executions,
    [operation]: async (...args: unknown[]) => {
      calls += 1;
      if (calls <= times) throw new RetryableError(`redis went away during ${operation}`);
      return real(...args);
    },
  };
}

describe('the effect ledger: a retried step never repeats an effect the provider already performed', () => {
  let h: Harness;
  let fakes: Fakes;
  let hooks: FakeApi;

  beforeAll(async () => {
    fakes = await startFakes();
    hooks = await startFakeApi(() => ({ status: 200, body: { ok: true } }));
    h = await startHarness({
      env: providerEnv(fakes, { EFFECT_CLAIM_MS: '300', PROVIDER_TIMEOUT_MS: '400' }),
    });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
    await hooks.close();
  });

  /** A published one-step workflow whose node job is held back (paused queue), so the test runs it by hand. */
  async function heldStep(
    sections: SettingsName[],
    node: Record<string, unknown>,
    lead: Record<string, unknown>,
  ) {
    const { apiKey, orgId } = await h.createOrg();
    await configure(h, apiKey, fakes, sections);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Once',
      nodes: [trigger(), { id: 'step', ...node }],
      edges: chain('start', 'step'),
    });
    await h.engine.queues.actionsFor(orgId).pause();
    await h.call('POST', '/v1/events', { type: 'new_lead', lead }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId, ['running']);
    const job = {
      orgId,
      executionId: execution.id,
      workflowId,
      version: 1,
      nodeId: 'step',
      iteration: 0,
      arms: [],
    };
    const runnerWith = (executions: Engine['executions']) =>
      createNodeRunner({
        executions,
        workflows: h.engine.workflows,
        leads: h.engine.leads,
        waiters: h.engine.waiters,
        org: h.engine.orgSettings,
        actions: h.engine.actions,
        decide: h.engine.decide,
        enqueue: async () => {},
        finalize: h.engine.lifecycle.finalize,
      });
    const steps = async () =>
      (await h.call('GET', `/v1/executions/${execution.id}`, undefined, apiKey)).body.steps;
    return { job, runnerWith, steps, executionId: execution.id };
  }

  const cases: {
    name: string;
    sections: SettingsName[];
    node: Record<string, unknown>;
    lead: Record<string, unknown>;
    sent: (lead: Record<string, unknown>) => number;
  }[] = [
    {
      name: 'send_sms (Twilio)',
      sections: ['twilio'],
      node: { type: 'send_sms', params: { body: 'once' } },
      lead: { phone: '+447700900301' },
      sent: (lead) => fakes.twilio.messages.filter((m) => m.to === lead.phone).length,
    },
    {
      name: 'send_whatsapp (Twilio)',
      sections: ['twilio'],
      node: { type: 'send_whatsapp', params: { body: 'once' } },
      lead: { phone: '+447700900302' },
      sent: (lead) => fakes.twilio.messages.filter((m) => m.to === `whatsapp:${lead.phone}`).length,
    },
    {
      name: 'send_email (SMTP)',
      sections: ['smtp'],
      node: { type: 'send_email', params: { subject: 'once', body: 'once' } },
      lead: { email: 'ledger-smtp@example.com' },
      sent: (lead) => fakes.smtp.messages.filter((m) => m.to.includes(lead.email as string)).length,
    },
    {
      name: 'send_email (SES)',
      sections: ['ses'],
      node: { type: 'send_email', params: { subject: 'once', body: 'once' } },
      lead: { email: 'ledger-ses@example.com' },
      sent: (lead) => fakes.ses.emails.filter((e) => e.to.includes(lead.email as string)).length,
    },
    {
      name: 'sync_to_meta',
      sections: ['meta'],
      node: { type: 'sync_to_meta', params: { eventName: 'Lead' } },
      lead: { id: 'ledger-meta', email: 'ledger-meta@example.com' },
      sent: () => fakes.meta.received.filter((e) => e.event_id.endsWith(':step:0')).length,
    },
    {
      name: 'create_stripe_customer',
      sections: ['stripe'],
      node: { type: 'create_stripe_customer', params: {} },
      lead: { email: 'ledger-stripe@example.com' },
      sent: (lead) =>
        fakes.stripe.requests.filter((r) => r.body.includes(encodeURIComponent(lead.email as string))).length,
    },
    {
      name: 'webhook_call',
      sections: ['webhooks'],
      node: { type: 'webhook_call', params: { url: 'HOOK/ledger', body: { lead: '{{ lead.id }}' } } },
      lead: { id: 'ledger-hook' },
      sent: () => hooks.requests.filter((r) => r.path === '/ledger').length,
    },
  ];

  it.each(cases)(
    '$name: a retry after the provider succeeded replays the recorded result',
    async ({ sections, node, lead, sent }) => {
      // Arrange
      const params = JSON.parse(JSON.stringify(node.params).replace('HOOK', hooks.url)) as unknown;
      const step = await heldStep(sections, { ...node, params }, lead);
      const run = step.runnerWith(flaky(h.engine, 'commit'));

      // Act: the provider accepts, then committing the step fails; the job is retried.
      await expect(run(step.job, { attemptsMade: 0, maxAttempts: 3 })).rejects.toThrow(
        'redis went away during commit',
      );
      const second = await run(step.job, { attemptsMade: 1, maxAttempts: 3 });

      // Assert
      expect(second.status).toBe('completed');
      expect(sent(lead)).toBe(1);
      const steps = (await step.steps()).filter((s: any) => s.nodeId === 'step');
      // The failed commit wrote nothing; the retry's step says it replayed the ledger's result.
      expect(steps).toHaveLength(1);
      expect(steps[0]).toMatchObject({ status: 'completed', attempt: 2, effect: 'replayed' });
      expect(steps[0].idempotencyKey).toBe(`${step.executionId}:step:0`);
      if (node.type !== 'webhook_call') expect(steps[0].providerId).toEqual(expect.any(String));
    },
  );

  it('a step whose result was never recorded waits out the claim, then resends with the same event_id (Meta deduplicates)', async () => {
    // Arrange: the provider accepts, then recording the result fails (as if the worker died right after the send).
    const step = await heldStep(
      ['meta'],
      { type: 'sync_to_meta', params: { eventName: 'Purchase' } },
      { email: 'claimed@example.com' },
    );
    const lost = step.runnerWith(flaky(h.engine, 'recordEffect'));
    const healthy = step.runnerWith(h.engine.executions);
    await expect(lost(step.job, { attemptsMade: 0, maxAttempts: 3 })).rejects.toThrow('during recordEffect');

    // Act: at once, the claim still holds and the step is delayed; after it expires the step takes it over.
    const early = await healthy(step.job, { attemptsMade: 1, maxAttempts: 3 }).catch(
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 350));
    const late = await healthy(step.job, { attemptsMade: 1, maxAttempts: 3 });

    // Assert
    expect(early).toBeInstanceOf(StepFailure);
    expect((early as StepFailure).cause).toBeInstanceOf(RetryAfterError);
    expect((early as StepFailure).code).toBe('effect_in_flight');
    expect(late.status).toBe('completed');
    const eventId = `${step.executionId}:step:0`;
    expect(fakes.meta.received.filter((e) => e.event_id === eventId)).toHaveLength(2);
    expect(fakes.meta.events.filter((e) => e.event_id === eventId)).toHaveLength(1);
    const last = (await step.steps()).at(-1);
    expect(last).toMatchObject({ status: 'completed', effect: 'recorded', providerId: eventId });
    expect(last.note).toMatch(
      /attempt 1 claimed this effect at .* and recorded no result; sent again with the same idempotency key/,
    );
  });

  it('Stripe: a customer created by a request whose answer was lost is not created again on the retry', async () => {
    // Arrange: Stripe creates the customer, but the answer never arrives (the request times out).
    const { apiKey, orgId } = await h.createOrg();
    await h.engine.queues.actionsFor(orgId).resume(); // the tests above hold node jobs back by pausing it
    await configure(h, apiKey, fakes, ['stripe']);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Customer',
      nodes: [trigger(), { id: 'customer', type: 'create_stripe_customer', params: {} }],
      edges: chain('start', 'customer'),
    });
    fakes.stripe.failNext(1, { status: 0, hang: true, afterEffect: true });

    // Act
    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'lost-answer', email: 'lost@example.com' } },
      apiKey,
    );
    const execution = await settledExecution(h, apiKey, workflowId, ['completed', 'failed']);

    // Assert
    expect(execution.status).toBe('completed');
    const requests = fakes.stripe.requests.filter((r) => r.body.includes('lost%40example.com'));
    expect(requests.map((r) => r.headers['idempotency-key'])).toEqual([
      `${execution.id}:customer:0`,
      `${execution.id}:customer:0`,
    ]);
    const customers = fakes.stripe.customers.filter((c) => c.email === 'lost@example.com');
    expect(customers).toHaveLength(1);
    const steps = execution.steps.filter((s: any) => s.nodeId === 'customer');
    expect(steps[0].error).toMatchObject({ code: 'timeout' });
    expect(steps[1]).toMatchObject({
      status: 'completed',
      providerId: customers[0]!.id,
      output: { replayed: true },
    });
    const lead = (await h.call('GET', '/v1/leads/lost-answer', undefined, apiKey)).body;
    expect(lead.stripeCustomerId).toBe(customers[0]!.id);
  });
});
