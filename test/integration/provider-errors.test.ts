import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaFailures } from '../support/fakes/meta.js';
import { sesFailures } from '../support/fakes/ses.js';
import { stripeFailures } from '../support/fakes/stripe.js';
import { twilioFailures } from '../support/fakes/twilio.js';
import { startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, startFakes, type Fakes } from '../support/providers.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

describe('provider errors say whether to retry, and keep the provider’s code and message', () => {
  let h: Harness;
  let fakes: Fakes;

  beforeAll(async () => {
    fakes = await startFakes();
    h = await startHarness({ env: providerEnv(fakes, { PROVIDER_TIMEOUT_MS: '400' }) });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
  });

  async function runOne(
    node: Record<string, unknown>,
    lead: Record<string, unknown>,
    sections: Parameters<typeof configure>[3],
  ) {
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, sections);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'One step',
      nodes: [trigger(), { id: 'step', ...node }],
      edges: chain('start', 'step'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId, ['completed', 'failed']);
    return { execution, steps: execution.steps.filter((s: any) => s.nodeId === 'step'), apiKey };
  }

  const sms = { type: 'send_sms', params: { body: 'Hello' } };

  it('a 4xx (Twilio 21211) fails the step at once, non-retryable, with Twilio’s code and message', async () => {
    // Act
    const { execution, steps } = await runOne(sms, { phone: '+0123456789' }, ['twilio']);

    // Assert
    expect(execution.status).toBe('failed');
    expect(steps).toHaveLength(1);
    expect(steps[0].error).toMatchObject({
      name: 'NonRetryableError',
      code: 'twilio_21211',
      retryable: false,
    });
    expect(steps[0].error.message).toBe(
      "twilio answered 400: The 'To' number +0123456789 is not a valid phone number. (code 21211)",
    );
  });

  it('a 429 delays the step for its Retry-After without spending an attempt, and says so in the step log', async () => {
    // Arrange
    fakes.twilio.failNext(1, twilioFailures.tooMany('1'));

    // Act
    const { execution, steps } = await runOne(sms, { phone: '+447700900201' }, ['twilio']);

    // Assert
    expect(execution.status).toBe('completed');
    expect(steps.map((s: any) => [s.status, s.attempt])).toEqual([
      ['failed', 1],
      ['completed', 1],
    ]);
    expect(steps[0].error).toMatchObject({ code: 'rate_limited' });
    expect(steps[0].note).toBe(
      'delayed 1000 ms (rate_limited): twilio answered 429: Too Many Requests (code 20429)',
    );
    expect(Date.parse(steps[1].startedAt) - Date.parse(steps[0].startedAt)).toBeGreaterThanOrEqual(900);
  });

  it('a 5xx is retried with backoff and sends once when the provider recovers', async () => {
    // Arrange
    fakes.twilio.failNext(1, twilioFailures.serverError);

    // Act
    const { execution, steps } = await runOne(sms, { phone: '+447700900202' }, ['twilio']);

    // Assert
    expect(execution.status).toBe('completed');
    expect(steps.map((s: any) => [s.status, s.attempt])).toEqual([
      ['failed', 1],
      ['completed', 2],
    ]);
    expect(steps[0].error).toMatchObject({ code: 'twilio_20500', retryable: true });
    expect(fakes.twilio.messages.filter((m) => m.to === '+447700900202')).toHaveLength(1);
  });

  it('a request that times out is retried', async () => {
    // Arrange
    fakes.twilio.failNext(1, { status: 0, hang: true });

    // Act
    const { execution, steps } = await runOne(sms, { phone: '+447700900203' }, ['twilio']);

    // Assert
    expect(execution.status).toBe('completed');
    expect(steps[0].error).toMatchObject({ code: 'timeout', retryable: true });
    expect(steps[0].error.message).toBe('twilio timed out after 400 ms');
    expect(steps[1]).toMatchObject({ status: 'completed', attempt: 2 });
  });

  it('SMTP: a 550 is permanent, a 451 is retried', async () => {
    // Arrange
    const mail = { type: 'send_email', params: { subject: 'Hi', body: 'Hello' } };
    fakes.smtp.rejectNext(1, 550);

    // Act
    const permanent = await runOne(mail, { email: 'gone@example.com' }, ['smtp']);
    fakes.smtp.rejectNext(1, 451);
    const transient = await runOne(mail, { email: 'later@example.com' }, ['smtp']);

    // Assert
    expect(permanent.execution.status).toBe('failed');
    expect(permanent.steps[0].error).toMatchObject({ code: 'smtp_550', retryable: false });
    expect(permanent.steps[0].error.message).toContain('mailbox unavailable');
    expect(transient.execution.status).toBe('completed');
    expect(transient.steps[0].error).toMatchObject({ code: 'smtp_451', retryable: true });
    expect(fakes.smtp.messages.filter((m) => m.to.includes('later@example.com'))).toHaveLength(1);
  });

  it('SES: MessageRejected is permanent; Stripe and Meta 4xx keep their codes', async () => {
    // Arrange
    fakes.ses.failNext(1, sesFailures.rejected);
    fakes.stripe.failNext(1, stripeFailures.invalidEmail);
    fakes.meta.failNext(1, metaFailures.badToken);

    // Act
    const ses = await runOne(
      { type: 'send_email', params: { subject: 'Hi', body: 'x' } },
      { email: 'ses@example.com' },
      ['ses'],
    );
    const stripe = await runOne(
      { type: 'create_stripe_customer', params: {} },
      { email: 'bad@example.com' },
      ['stripe'],
    );
    const meta = await runOne(
      { type: 'sync_to_meta', params: { eventName: 'Lead' } },
      { email: 'm@example.com' },
      ['meta'],
    );

    // Assert
    expect(ses.steps[0].error).toMatchObject({ code: 'ses_MessageRejected', retryable: false });
    expect(ses.steps[0].error.message).toBe(
      'ses answered 400: MessageRejected: Email address is not verified.',
    );
    expect(stripe.steps[0].error).toMatchObject({ code: 'stripe_email_invalid', retryable: false });
    expect(stripe.steps[0].error.message).toBe(
      'stripe answered 400: Invalid email address: nope (code email_invalid)',
    );
    expect(meta.steps[0].error).toMatchObject({ code: 'meta_190', retryable: false });
    expect([ses, stripe, meta].map((r) => r.execution.status)).toEqual(['failed', 'failed', 'failed']);
  });
});
