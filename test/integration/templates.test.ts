import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, startFakes, type Fakes } from '../support/providers.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

describe('templates', () => {
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

  const emailWith = (subject: string, more: Record<string, unknown>[] = []) => ({
    name: 'Templated',
    nodes: [trigger(), ...more, { id: 'mail', type: 'send_email', params: { subject, body: 'Hello' } }],
    edges: chain('start', ...more.map((n) => n.id as string), 'mail'),
  });

  it.each([
    [
      'Hi {{ firstName }}',
      'unknown variable "firstName": use lead.*, event.*, nodes.<id>.* or unsubscribe_url',
    ],
    [
      'Hi {{ event.lead.firstName }}',
      'event.lead does not exist: an event has id, type, occurredAt and data (event.data.*)',
    ],
    ['Booked: {{ nodes.booking.body.url }}', 'nodes.booking is not another node of this workflow'],
    ['Hi {{ lead.firstName | shout }}', 'template does not parse: undefined filter: shout'],
    ['Hi {{ lead.firstName ', 'template does not parse: output "{{ lead.firstName " not closed'],
  ])('refuses at save time what can be known: %s', async (subject, message) => {
    // Arrange
    const { apiKey } = await h.createOrg();

    // Act
    const response = await h.call('POST', '/v1/workflows', emailWith(subject), apiKey);

    // Assert
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(response.body.error.issues[0].path).toBe('definition.nodes.1.params.subject');
    expect(response.body.error.issues[0].message).toContain(message);
  });

  it('accepts lead fields, event data, earlier nodes and the date filters at save time', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    const definition = emailWith(
      '{{ lead.firstName }} {{ event.data.formId }} {{ nodes.tag.tag }} {{ lead.renewal | local_date }} {{ unsubscribe_url }}',
      [{ id: 'tag', type: 'add_tag', params: { tag: 'x' } }],
    );

    // Act
    const response = await h.call('POST', '/v1/workflows', definition, apiKey);

    // Assert
    expect(response.status).toBe(201);
  });

  it('a variable missing at run time fails the step (non-retryable) and nothing is sent', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['smtp']);
    const workflowId = await publishWorkflow(h, apiKey, emailWith('Hi {{ lead.nickname }}'));

    // Act
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { email: 'nonick@example.com' } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId, ['failed']);

    // Assert
    const mail = execution.steps.filter((s: any) => s.nodeId === 'mail');
    expect(mail).toHaveLength(1);
    expect(mail[0].error).toMatchObject({ code: 'template_error', retryable: false });
    expect(mail[0].error.message).toContain('template in mail.params.subject failed');
    expect(mail[0].error.message).toContain('nickname');
    expect(fakes.smtp.messages.filter((m) => m.to.includes('nonick@example.com'))).toHaveLength(0);
    const [entry] = await eventually(async () => {
      const entries = (await h.call('GET', '/v1/dead-letter', undefined, apiKey)).body.entries;
      return entries.length > 0 ? entries : undefined;
    });
    expect(entry).toMatchObject({ attempts: 1, error: { code: 'template_error' } });
  });
});
