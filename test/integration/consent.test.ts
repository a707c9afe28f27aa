import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerJobId } from '../../src/events/ingest.js';
import { twilioSignature } from '../../src/webhooks/twilio.js';
import { TWILIO_SID, TWILIO_TOKEN } from '../support/fakes/twilio.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { configure, PUBLIC_BASE_URL, providerEnv, startFakes, type Fakes } from '../support/providers.js';
import { chain, executionsOf, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

describe('consent', () => {
  let h: Harness;
  let fakes: Fakes;

  beforeAll(async () => {
    fakes = await startFakes();
    h = await startHarness({ env: providerEnv(fakes) });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
  });

  const textThenTag = {
    name: 'Text then tag',
    nodes: [
      trigger(),
      { id: 'sms', type: 'send_sms', params: { body: 'Offer!' } },
      { id: 'tag', type: 'add_tag', params: { tag: 'offered' } },
    ],
    edges: chain('start', 'sms', 'tag'),
  };

  /** Sends one event and waits for the n-th execution of the workflow to complete. */
  async function runNth(apiKey: string, workflowId: string, event: Record<string, unknown>, n: number) {
    await h.call('POST', '/v1/events', event, apiKey);
    const execution = await eventually(async () => {
      const all = await executionsOf(h, apiKey, workflowId);
      return all.length === n && ['completed', 'failed'].includes(all[0].status) ? all[0] : undefined;
    });
    return (await h.call('GET', `/v1/executions/${execution.id}`, undefined, apiKey)).body;
  }

  it('an opted-out lead receives nothing: the step is skipped with the reason, and the workflow goes on', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const workflowId = await publishWorkflow(h, apiKey, textThenTag);

    // Act
    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'no-sms', phone: '+447700900800', smsConsent: false } },
      apiKey,
    );
    const execution = await settledExecution(h, apiKey, workflowId);

    // Assert
    expect(fakes.twilio.requests.filter((r) => r.body.includes('447700900800'))).toHaveLength(0);
    const sms = execution.steps.find((s: any) => s.nodeId === 'sms');
    expect(sms).toMatchObject({
      status: 'skipped',
      output: { skipped: true, channel: 'sms', reason: 'the lead opted out of sms (smsConsent is false)' },
      note: 'skipped: the lead opted out of sms (smsConsent is false)',
    });
    expect(execution.steps.find((s: any) => s.nodeId === 'tag')).toMatchObject({ status: 'completed' });
  });

  it('a STOP reply opts the number out of SMS; START opts it back in', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const workflowId = await publishWorkflow(h, apiKey, {
      ...textThenTag,
      settings: { enrollment: 'always' },
    });
    const phone = '+447700900801';
    const sentTo = () => fakes.twilio.messages.filter((m) => m.to === phone).length;

    // Act
    const before = await runNth(apiKey, workflowId, { type: 'new_lead', lead: { id: 'stopper', phone } }, 1);
    await h.call(
      'POST',
      '/v1/events',
      { type: 'sms_replied', lead: { phone }, data: { from: phone, body: ' stop ' } },
      apiKey,
    );
    const suppressed = await eventually(async () =>
      (await h.engine.redis.sismember(h.engine.keys.suppressed(await orgOf(apiKey), 'sms'), phone)) === 1
        ? true
        : undefined,
    );
    const during = await runNth(apiKey, workflowId, { type: 'new_lead', lead: { id: 'stopper', phone } }, 2);
    await h.call(
      'POST',
      '/v1/events',
      { type: 'sms_replied', lead: { phone }, data: { from: phone, body: 'START' } },
      apiKey,
    );
    await eventually(async () =>
      (await h.engine.redis.sismember(h.engine.keys.suppressed(await orgOf(apiKey), 'sms'), phone)) === 0
        ? true
        : undefined,
    );
    const after = await runNth(apiKey, workflowId, { type: 'new_lead', lead: { id: 'stopper', phone } }, 3);

    // Assert
    expect(suppressed).toBe(true);
    expect(before.steps.find((s: any) => s.nodeId === 'sms').status).toBe('completed');
    expect(during.steps.find((s: any) => s.nodeId === 'sms')).toMatchObject({
      status: 'skipped',
      output: { reason: `${phone} is on the sms suppression list (it opted out)` },
    });
    expect(after.steps.find((s: any) => s.nodeId === 'sms').status).toBe('completed');
    expect(sentTo()).toBe(2);
  });

  /** Posts an inbound Twilio message to the organization's webhook, signed with the auth token as Twilio signs it. */
  async function receiveTwilio(orgId: string, message: { MessageSid: string; From: string; Body: string }) {
    const params = Object.entries({ ...message, AccountSid: TWILIO_SID, To: 'whatsapp:+447700900002' });
    const path = `/v1/webhooks/${orgId}/twilio`;
    return h.api({
      method: 'POST',
      path,
      query: {},
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSignature(TWILIO_TOKEN, `${PUBLIC_BASE_URL}${path}`, params),
      },
      body: new URLSearchParams(params).toString(),
    });
  }

  it('a "Stop." reply through the Twilio webhook opts the WhatsApp number out: the next send_whatsapp is skipped', async () => {
    // Arrange
    const { orgId, apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    await h.call('POST', '/v1/org/webhooks/twilio/secrets', { secret: TWILIO_TOKEN }, apiKey);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'WhatsApp',
      nodes: [trigger(), { id: 'wa', type: 'send_whatsapp', params: { body: 'Hi' } }],
      edges: chain('start', 'wa'),
    });
    const phone = '+447700900804';
    const messageSid = `SM${'5e'.repeat(16)}`;

    // Act
    const received = await receiveTwilio(orgId, {
      MessageSid: messageSid,
      From: `whatsapp:${phone}`,
      Body: 'Stop.',
    });
    await eventually(async () =>
      (await h.engine.queues.triggers.getJob(triggerJobId(orgId, `twilio_${messageSid}`)))?.finishedOn
        ? true
        : undefined,
    );
    const next = await runNth(apiKey, workflowId, { type: 'new_lead', lead: { phone } }, 1);

    // Assert
    expect(received.status).toBe(200);
    expect(next.steps.find((s: any) => s.nodeId === 'wa')).toMatchObject({
      status: 'skipped',
      output: { reason: 'the lead opted out of whatsapp (whatsappConsent is false)' },
    });
    expect(fakes.twilio.messages.filter((m) => m.to === `whatsapp:${phone}`)).toHaveLength(0);
  });

  async function orgOf(apiKey: string): Promise<string> {
    return (await h.call('GET', '/v1/org', undefined, apiKey)).body.id;
  }

  it('the unsubscribe link (one-click POST) opts the lead out of email; a GET only asks', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['smtp']);
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Newsletter',
      settings: { enrollment: 'always' },
      nodes: [trigger(), { id: 'mail', type: 'send_email', params: { subject: 'News', body: 'Hello' } }],
      edges: chain('start', 'mail'),
    });
    const email = 'leaver@example.com';
    await runNth(apiKey, workflowId, { type: 'new_lead', lead: { id: 'leaver', email } }, 1);
    const raw = fakes.smtp.messages.find((m) => m.to.includes(email))!.raw.replace(/\r?\n\s+/g, ' ');
    const path = new URL(/List-Unsubscribe: <([^>]+)>/.exec(raw)![1]!).pathname;

    // Act
    const page = await h.call('GET', path);
    const leadAfterGet = (await h.call('GET', '/v1/leads/leaver', undefined, apiKey)).body;
    const unsubscribed = await h.call('POST', path, 'List-Unsubscribe=One-Click');
    const leadAfterPost = (await h.call('GET', '/v1/leads/leaver', undefined, apiKey)).body;
    const tampered = await h.call(
      'POST',
      path.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      'List-Unsubscribe=One-Click',
    );
    const next = await runNth(apiKey, workflowId, { type: 'new_lead', lead: { id: 'leaver', email } }, 2);

    // Assert
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect(leadAfterGet.emailConsent).toBeUndefined();
    expect(unsubscribed.status).toBe(200);
    expect(leadAfterPost).toMatchObject({ emailConsent: false, emailConsentSource: 'unsubscribe_link' });
    expect(tampered.status).toBe(404);
    expect(next.steps.find((s: any) => s.nodeId === 'mail')).toMatchObject({
      status: 'skipped',
      output: { reason: 'the lead opted out of email (emailConsent is false)' },
    });
    expect(fakes.smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('a channel that requires opt-in sends only to leads who gave it', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio'], { consent: { requireOptIn: { whatsapp: true } } });
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'WhatsApp',
      nodes: [trigger(), { id: 'wa', type: 'send_whatsapp', params: { body: 'Hi' } }],
      edges: chain('start', 'wa'),
    });

    // Act
    const without = await runNth(
      apiKey,
      workflowId,
      { type: 'new_lead', lead: { phone: '+447700900802' } },
      1,
    );
    const withConsent = await runNth(
      apiKey,
      workflowId,
      { type: 'new_lead', lead: { phone: '+447700900803', whatsappConsent: true } },
      2,
    );

    // Assert
    expect(without.steps.find((s: any) => s.nodeId === 'wa').status).toBe('skipped');
    expect(withConsent.steps.find((s: any) => s.nodeId === 'wa').status).toBe('completed');
    expect(
      fakes.twilio.messages.filter((m) => m.to.startsWith('whatsapp:+44770090080')).map((m) => m.to),
    ).toEqual(['whatsapp:+447700900803']);
  });
});
