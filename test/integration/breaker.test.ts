import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../support/fakes/fake-api.js';
import { twilioFailures } from '../support/fakes/twilio.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, startFakes, type Fakes, type SettingsName } from '../support/providers.js';
import { chain, executionsOf, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

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
    const { apiKey, orgId } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Text',
      nodes: [
        trigger(),
        { id: 'sms', type: 'send_sms', params: { body: 'Class at 6, {{ lead.firstName }}' } },
      ],
      edges: chain('start', 'sms'),
    });
    const breaker = { orgId, endpoint: `twilio:${fakes.twilio.url}` };
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

  it('a webhook’s 5xx answers open its breaker, as timeouts do', async () => {
    // Arrange
    const { apiKey, orgId } = await h.createOrg();
    const down = await startFakeApi(() => ({ status: 503, body: { error: 'down' } }));
    try {
      await publishWorkflow(h, apiKey, {
        name: 'Notify',
        nodes: [trigger(), { id: 'notify', type: 'webhook_call', params: { url: `${down.url}/hook` } }],
        edges: chain('start', 'notify'),
      });

      // Act: three leads, each step answered 503
      await h.call(
        'POST',
        '/v1/events',
        { events: Array.from({ length: 3 }, (_, i) => ({ type: 'new_lead', lead: { id: `hook-${i}` } })) },
        apiKey,
      );

      // Assert
      const breaker = { orgId, endpoint: `webhook:${new URL(down.url).origin}` };
      await eventually(
        async () => (h.engine.breakers.state(breaker) === 'open' ? true : undefined),
        10_000,
        'the webhook breaker to open',
      );
    } finally {
      await down.close();
    }
  });

  it('a provider’s 4xx answers do not open its breaker', async () => {
    // Arrange
    const { apiKey, orgId } = await h.createOrg();
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
    expect(h.engine.breakers.state({ orgId, endpoint: `twilio:${fakes.twilio.url}` })).toBe('closed');
  });
});

describe('circuit breakers per organization', () => {
  let h: Harness;
  let fakes: Fakes;
  let hook: FakeApi;

  beforeAll(async () => {
    fakes = await startFakes();
    hook = await startFakeApi(() => ({ status: 200, body: { ok: true } }));
    // An open breaker stays open for the whole test: a step it refused would wait a minute.
    h = await startHarness({
      env: providerEnv(fakes, { BREAKER_THRESHOLD: '2', BREAKER_HALF_OPEN_MS: '60000', JOB_ATTEMPTS: '3' }),
    });
  });
  afterAll(async () => {
    await h.close();
    await Promise.all([fakes.close(), hook.close()]);
  });

  interface Endpoint {
    settings: SettingsName[];
    endpoint: () => string;
    node: () => Record<string, unknown>;
    lead: (name: string) => Record<string, unknown>;
    fail: () => void;
    recover: () => void;
  }
  const endpoints: [string, Endpoint][] = [
    [
      'a webhook origin',
      {
        settings: [],
        endpoint: () => `webhook:${hook.url}`,
        // Timeouts: the breaker counts a call that throws (a 5xx answer is classified after it).
        node: () => ({
          id: 'act',
          type: 'webhook_call',
          params: { url: `${hook.url}/hook`, timeoutMs: 200 },
        }),
        lead: (name) => ({ id: name }),
        fail: () => hook.hang(),
        recover: () => hook.recover(),
      },
    ],
    [
      'a CRM origin',
      {
        settings: ['crm'],
        endpoint: () => `crm:${fakes.crm.url}`,
        node: () => ({ id: 'act', type: 'add_tag', params: { tag: 'shared-origin' } }),
        lead: (name) => ({ id: name }),
        fail: () => fakes.crm.outage({ status: 503 }),
        recover: () => fakes.crm.recover(),
      },
    ],
    [
      'an SMTP host',
      {
        settings: ['smtp'],
        endpoint: () => `smtp:127.0.0.1:${fakes.smtp.port}`,
        node: () => ({ id: 'act', type: 'send_email', params: { subject: 'Hi', body: 'Class at 6' } }),
        lead: (name) => ({ id: name, email: `${name}@example.com` }),
        fail: () => fakes.smtp.down(),
        recover: () => fakes.smtp.recover(),
      },
    ],
  ];

  it.each(endpoints)(
    'one organization’s failures at %s do not open the breaker of another that uses it',
    async (_name, target) => {
      // Arrange
      const a = await h.createOrg('Org A');
      const b = await h.createOrg('Org B');
      const definition = {
        name: 'Shared endpoint',
        nodes: [trigger(), target.node()],
        edges: chain('start', 'act'),
      };
      for (const org of [a, b]) await configure(h, org.apiKey, fakes, target.settings);
      await publishWorkflow(h, a.apiKey, definition);
      const workflowB = await publishWorkflow(h, b.apiKey, definition);
      const breakerOf = (orgId: string) => ({ orgId, endpoint: target.endpoint() });
      const tag = Math.random().toString(36).slice(2, 8);

      // Act: org A's calls fail until its breaker opens; then the endpoint recovers and org B calls it.
      target.fail();
      await h.call(
        'POST',
        '/v1/events',
        { events: [1, 2].map((i) => ({ type: 'new_lead', lead: target.lead(`a${i}-${tag}`) })) },
        a.apiKey,
      );
      await eventually(
        async () => (h.engine.breakers.state(breakerOf(a.orgId)) === 'open' ? true : undefined),
        10_000,
        "org A's breaker to open",
      );
      target.recover();
      await h.call('POST', '/v1/events', { type: 'new_lead', lead: target.lead(`b-${tag}`) }, b.apiKey);
      const execution = await settledExecution(h, b.apiKey, workflowB, ['completed', 'failed'], 10_000);

      // Assert
      expect(execution.status).toBe('completed');
      expect(execution.steps.filter((s: any) => s.error?.code === 'circuit_open')).toEqual([]);
      expect(h.engine.breakers.state(breakerOf(b.orgId))).toBe('closed');
      expect(h.engine.breakers.state(breakerOf(a.orgId))).toBe('open');
    },
  );
});
