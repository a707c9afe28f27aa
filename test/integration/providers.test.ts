import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyGeneric } from '../../src/webhooks/generic.js';
import { startFakeApi, type FakeApi } from '../support/fakes/fake-api.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import {
  configure,
  providerEnv,
  PUBLIC_BASE_URL,
  SIGNING_SECRET,
  SMS_FROM,
  startFakes,
  WHATSAPP_FROM,
  type Fakes,
} from '../support/providers.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('every action speaks its provider’s API', () => {
  let h: Harness;
  let fakes: Fakes;
  let hooks: FakeApi;

  beforeAll(async () => {
    fakes = await startFakes();
    hooks = await startFakeApi(() => ({
      status: 200,
      body: { bookingUrl: 'https://book.example.com/b/42' },
    }));
    h = await startHarness({ env: providerEnv(fakes) });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
    await hooks.close();
  });

  async function run(apiKey: string, definition: unknown, event: Record<string, unknown>) {
    const workflowId = await publishWorkflow(h, apiKey, definition);
    const accepted = await h.call('POST', '/v1/events', event, apiKey);
    expect(accepted.status).toBe(202);
    return settledExecution(h, apiKey, workflowId, ['completed', 'failed']);
  }

  it('send_email over SMTP: text and escaped HTML parts, unsubscribe headers, tracking links, dates in the lead’s zone', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['smtp']);
    const definition = {
      name: 'Welcome email',
      nodes: [
        trigger('form_submitted'),
        {
          id: 'welcome',
          type: 'send_email',
          params: {
            subject: 'Welcome, {{ lead.firstName }}',
            body: 'Hi {{ lead.firstName }},\nyour class starts at {{ event.data.classAt | local_time }} on {{ event.data.classAt | local_date: "EEEE d MMMM" }}.',
            html: '<p>Hi {{ lead.firstName }}</p><p><a href="https://book.example.com/class?id=1&amp;x=2">Book</a> <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
          },
        },
      ],
      edges: chain('start', 'welcome'),
    };

    // Act
    const execution = await run(apiKey, definition, {
      type: 'form_submitted',
      lead: { email: 'sarah@example.com', firstName: 'Sarah <b>', timeZone: 'Europe/London' },
      data: { classAt: '2026-07-01T17:30:00Z' },
    });

    // Assert
    expect(execution.status).toBe('completed');
    const message = fakes.smtp.messages.find((m) => m.to.includes('sarah@example.com'))!;
    expect(message.from).toBe('hello@irontemple.test');
    const mail = message.parsed;
    expect(mail.subject).toBe('Welcome, Sarah <b>');
    expect(mail.text).toContain('your class starts at 18:30 on Wednesday 1 July.');
    expect(mail.html).toContain('Hi Sarah &lt;b&gt;');
    expect(mail.html).not.toContain('<b>');
    expect(mail.html).toMatch(new RegExp(`href="${PUBLIC_BASE_URL}/v1/t/c/[\\w-]+\\.[\\w-]+"`));
    expect(mail.html).toMatch(new RegExp(`<img src="${PUBLIC_BASE_URL}/v1/t/o/[\\w-]+\\.[\\w-]+"`));
    expect(mail.html).not.toContain('https://book.example.com');
    const header = (name: string) =>
      mail.headerLines
        .find((line) => line.key === name)
        ?.line.replace(/^[^:]+:\s*/, '')
        .replace(/\r?\n\s+/g, ' ');
    const [unsubscribeUrl, mailto] = header('list-unsubscribe')!.split(', ');
    expect(unsubscribeUrl).toMatch(new RegExp(`^<${PUBLIC_BASE_URL}/v1/u/[\\w-]+\\.[\\w-]+>$`));
    expect(mailto).toBe('<mailto:unsubscribe@irontemple.test?subject=unsubscribe>');
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const unsubscribe = { url: unsubscribeUrl!.slice(1, -1) };
    // The unsubscribe link in the body is the header's, left untracked.
    expect(mail.html).toContain(`href="${unsubscribe.url}"`);
    const step = execution.steps.find((s: any) => s.nodeId === 'welcome');
    expect(step).toMatchObject({
      status: 'completed',
      effect: 'recorded',
      idempotencyKey: `${execution.id}:welcome:0`,
      providerId: mail.messageId,
      output: { provider: 'smtp', sandbox: false, to: 'sarah@example.com' },
    });
  });

  it('send_email through SES v2: signed request, both parts and the List-Unsubscribe headers', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['ses']);
    const definition = {
      name: 'SES welcome',
      nodes: [
        trigger(),
        {
          id: 'mail',
          type: 'send_email',
          params: { subject: 'Hello {{ lead.firstName }}', body: 'Plain body' },
        },
      ],
      edges: chain('start', 'mail'),
    };

    // Act
    const execution = await run(apiKey, definition, {
      type: 'new_lead',
      lead: { email: 'tom@example.com', firstName: 'Tom' },
    });

    // Assert
    expect(execution.status).toBe('completed');
    const email = fakes.ses.emails.find((e) => e.to.includes('tom@example.com'))!;
    expect(email).toMatchObject({
      from: 'Iron Temple <hello@irontemple.test>',
      subject: 'Hello Tom',
      text: 'Plain body',
    });
    expect(email.html).toContain('<p>Plain body</p>');
    expect(email.headers['List-Unsubscribe']).toMatch(new RegExp(`^<${PUBLIC_BASE_URL}/v1/u/`));
    expect(email.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(email.tags).toMatchObject({ 'atlas-node': 'mail' });
    expect(execution.steps.at(-1)).toMatchObject({
      providerId: email.messageId,
      output: { provider: 'ses' },
    });
  });

  it('send_sms and send_whatsapp through Twilio: form fields, basic auth, whatsapp: addresses, status callback', async () => {
    // Arrange
    const { apiKey, orgId } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const definition = {
      name: 'Text and WhatsApp',
      nodes: [
        trigger(),
        { id: 'sms', type: 'send_sms', params: { body: 'Hi {{ lead.firstName }}, see you at 6' } },
        { id: 'wa', type: 'send_whatsapp', params: { body: 'Your pass: {{ event.data.pass }}' } },
      ],
      edges: chain('start', 'sms', 'wa'),
    };

    // Act
    const execution = await run(apiKey, definition, {
      type: 'new_lead',
      lead: { phone: '+447700900123', firstName: 'Priya' },
      data: { pass: 'P-77' },
    });

    // Assert
    expect(execution.status).toBe('completed');
    const sent = fakes.twilio.messages.filter((m) => m.to.endsWith('+447700900123'));
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({
      to: '+447700900123',
      from: SMS_FROM,
      body: 'Hi Priya, see you at 6',
      statusCallback: `${PUBLIC_BASE_URL}/v1/webhooks/${orgId}/twilio`,
    });
    expect(sent[1]).toMatchObject({
      to: 'whatsapp:+447700900123',
      from: `whatsapp:${WHATSAPP_FROM}`,
      body: 'Your pass: P-77',
    });
    const steps = execution.steps.filter((s: any) => s.type !== 'trigger');
    expect(steps.map((s: any) => s.providerId)).toEqual([sent[0]!.sid, sent[1]!.sid]);
  });

  it('update_lead, add_tag and change_status go to the organization’s CRM API and the built-in store', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['crm']);
    const definition = {
      name: 'CRM sync',
      nodes: [
        trigger(),
        {
          id: 'fields',
          type: 'update_lead',
          params: { fields: { plan: 'Gold', greeting: 'Hi {{ lead.firstName }}' } },
        },
        { id: 'tag', type: 'add_tag', params: { tag: 'vip' } },
        { id: 'status', type: 'change_status', params: { status: 'member' } },
      ],
      edges: chain('start', 'fields', 'tag', 'status'),
    };

    // Act
    const execution = await run(apiKey, definition, {
      type: 'new_lead',
      lead: { id: 'crm-lead-1', firstName: 'Ana' },
    });

    // Assert
    expect(execution.status).toBe('completed');
    expect(fakes.crm.leads.get('crm-lead-1')).toEqual({
      fields: { plan: 'Gold', greeting: 'Hi Ana' },
      tags: ['vip'],
      status: 'member',
    });
    const keys = fakes.crm.requests
      .filter((r) => r.path.startsWith('/leads/crm-lead-1'))
      .map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([`${execution.id}:fields:0`, `${execution.id}:tag:0`, `${execution.id}:status:0`]);
    const lead = (await h.call('GET', '/v1/leads/crm-lead-1', undefined, apiKey)).body;
    expect(lead).toMatchObject({ plan: 'Gold', greeting: 'Hi Ana', status: 'member', tags: ['vip'] });
  });

  it('a CRM step that fails inside the trigger job goes to the queue on a created execution, and completes there', async () => {
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['crm']);
    const definition = {
      name: 'CRM tag',
      nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'retried' } }],
      edges: chain('start', 'tag'),
    };
    fakes.crm.failNext(1, { status: 503 });

    const execution = await run(apiKey, definition, { type: 'new_lead', lead: { id: 'crm-lead-2' } });

    expect(execution.status).toBe('completed');
    expect(execution.steps.map((s: any) => [s.nodeId, s.status])).toEqual([
      ['start', 'completed'],
      ['tag', 'completed'],
    ]);
    expect(fakes.crm.leads.get('crm-lead-2')).toMatchObject({ tags: ['retried'] });
    const tries = fakes.crm.requests.filter((r) => r.path.startsWith('/leads/crm-lead-2'));
    expect(tries).toHaveLength(2);
  });

  it('sync_to_meta: a Conversions API event with normalised, hashed user data and event_id for deduplication', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['meta']);
    const definition = {
      name: 'Meta lead',
      nodes: [
        trigger(),
        { id: 'meta', type: 'sync_to_meta', params: { eventName: 'Lead', value: 30, currency: 'gbp' } },
      ],
      edges: chain('start', 'meta'),
    };

    // Act
    const execution = await run(apiKey, definition, {
      type: 'new_lead',
      lead: {
        id: 'meta-lead',
        email: 'Sarah.OConnor@Example.com',
        phone: '+44 7700 900123',
        firstName: ' Sarah ',
        lastName: "O'Connor",
        city: 'New York',
        country: 'GB',
      },
    });

    // Assert
    expect(execution.status).toBe('completed');
    const event = fakes.meta.events.find((e) => e.event_id === `${execution.id}:meta:0`)!;
    expect(event).toMatchObject({
      event_name: 'Lead',
      action_source: 'system_generated',
      custom_data: { value: 30, currency: 'GBP' },
    });
    expect(event.user_data).toEqual({
      em: [sha256('sarah.oconnor@example.com')],
      ph: [sha256('447700900123')],
      fn: [sha256('sarah')],
      ln: [sha256('oconnor')],
      ct: [sha256('newyork')],
      country: [sha256('gb')],
      external_id: [sha256('meta-lead')],
    });
    expect(Math.abs(event.event_time - Date.now() / 1000)).toBeLessThan(60);
    expect(execution.steps.at(-1)).toMatchObject({
      providerId: event.event_id,
      output: { eventsReceived: 1 },
    });
  });

  it('create_stripe_customer: form-encoded with the step’s Idempotency-Key; the customer id is written back to the lead', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['stripe']);
    const definition = {
      name: 'Stripe',
      nodes: [
        trigger(),
        {
          id: 'stripe',
          type: 'create_stripe_customer',
          params: { description: 'Trial', metadata: { source: 'instagram' } },
        },
      ],
      edges: chain('start', 'stripe'),
    };

    // Act
    const execution = await run(apiKey, definition, {
      type: 'new_lead',
      lead: {
        id: 'stripe-lead',
        email: 'pay@example.com',
        firstName: 'Pat',
        lastName: 'Lee',
        phone: '+447700900555',
      },
    });

    // Assert
    expect(execution.status).toBe('completed');
    const customer = fakes.stripe.customers.find((c) => c.email === 'pay@example.com')!;
    expect(customer).toMatchObject({
      name: 'Pat Lee',
      phone: '+447700900555',
      description: 'Trial',
      metadata: { source: 'instagram', atlas_lead_id: 'stripe-lead' },
      idempotencyKey: `${execution.id}:stripe:0`,
    });
    const lead = (await h.call('GET', '/v1/leads/stripe-lead', undefined, apiKey)).body;
    expect(lead.stripeCustomerId).toBe(customer.id);
    expect(execution.steps.at(-1)).toMatchObject({
      providerId: customer.id,
      output: { customerId: customer.id },
    });
  });

  it('webhook_call: signed with the organization’s secret, templated body, response mapped into later templates', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio', 'webhooks']);
    const definition = {
      name: 'Book via webhook',
      nodes: [
        trigger(),
        {
          id: 'hook',
          type: 'webhook_call',
          params: { url: `${hooks.url}/bookings`, body: { lead: '{{ lead.id }}', plan: 'trial' } },
        },
        { id: 'sms', type: 'send_sms', params: { body: 'Book here: {{ nodes.hook.body.bookingUrl }}' } },
      ],
      edges: chain('start', 'hook', 'sms'),
    };

    // Act
    const execution = await run(apiKey, definition, {
      type: 'new_lead',
      lead: { id: 'hook-lead', phone: '+447700900777' },
    });

    // Assert
    expect(execution.status).toBe('completed');
    const request = hooks.requests.find((r) => r.body.includes('hook-lead'))!;
    expect(JSON.parse(request.body)).toEqual({ lead: 'hook-lead', plan: 'trial' });
    // Signed like an inbound `generic` webhook, so the receiver can verify it with the same code.
    const verify = (secret: string) => () =>
      verifyGeneric({
        header: request.headers['x-atlas-signature'] as string,
        body: request.body,
        secrets: [secret],
        nowSeconds: Math.floor(Date.now() / 1000),
        toleranceSeconds: 300,
      });
    expect(verify(SIGNING_SECRET)).not.toThrow();
    expect(verify('another-secret')).toThrow(/signature/);
    expect(request.headers['idempotency-key']).toBe(`${execution.id}:hook:0`);
    expect(fakes.twilio.messages.find((m) => m.to === '+447700900777')?.body).toBe(
      'Book here: https://book.example.com/b/42',
    );
  });

  it('records opens and clicks from the tracking links as events that can start workflows', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['smtp']);
    await publishWorkflow(h, apiKey, {
      name: 'Mark openers',
      nodes: [trigger('email_opened'), { id: 'tag', type: 'add_tag', params: { tag: 'opened' } }],
      edges: chain('start', 'tag'),
    });
    await publishWorkflow(h, apiKey, {
      name: 'Mark clickers',
      nodes: [trigger('link_clicked'), { id: 'tag', type: 'add_tag', params: { tag: 'clicked' } }],
      edges: chain('start', 'tag'),
    });
    await run(
      apiKey,
      {
        name: 'Tracked email',
        nodes: [
          trigger(),
          {
            id: 'mail',
            type: 'send_email',
            params: { subject: 'Hi', body: 'x', html: '<a href="https://gym.example.com/offer">Offer</a>' },
          },
        ],
        edges: chain('start', 'mail'),
      },
      { type: 'new_lead', lead: { id: 'tracked', email: 'tracked@example.com' } },
    );
    const html = fakes.smtp.messages.find((m) => m.to.includes('tracked@example.com'))!.parsed.html as string;
    const click = new URL(/href="([^"]+)"/.exec(html)![1]!).pathname;
    const open = new URL(/<img src="([^"]+)"/.exec(html)![1]!).pathname;

    // Act
    const clicked = await h.call('GET', click);
    const opened = await h.call('GET', open);
    const forged = await h.call('GET', `${click.slice(0, -3)}abc`);

    // Assert
    expect(clicked.status).toBe(302);
    expect(clicked.headers?.location).toBe('https://gym.example.com/offer');
    expect(opened.status).toBe(200);
    expect(opened.headers?.['content-type']).toBe('image/gif');
    expect(forged.status).toBe(403);
    const tags = await eventually(async () => {
      const lead = (await h.call('GET', '/v1/leads/tracked', undefined, apiKey)).body;
      return lead.tags.length === 2 ? lead.tags : undefined;
    });
    expect(tags).toEqual(['clicked', 'opened']);
  });
});
