import { describe, expect, it } from 'vitest';
import { templateIssues } from '../../src/actions/template-check.js';
import { WorkflowDefinition } from '../../src/workflows/schema.js';

const definition = (nodes: unknown[]) =>
  WorkflowDefinition.parse({
    name: 'wf',
    nodes: [{ id: 'start', type: 'trigger', event: 'new_lead' }, ...nodes],
    edges: [],
  });

describe('templateIssues (save-time checks)', () => {
  it('accepts lead fields, event fields and data, other nodes, filters, loops and assignments', () => {
    // Act
    const issues = templateIssues(
      definition([
        {
          id: 'hook',
          type: 'webhook_call',
          params: { url: 'https://x.test/{{ lead.id }}', body: { a: ['{{ event.data.k }}'] } },
        },
        {
          id: 'sms',
          type: 'send_sms',
          params: {
            body: '{% assign n = lead.firstName | upcase %}{{ n }} {% for t in lead.tags %}{{ t }}{% endfor %} {{ nodes.hook.body.url }} {{ event.occurredAt | local_date }}',
          },
        },
        { id: 'up', type: 'update_lead', params: { fields: { note: 'from {{ event.type }}', score: 3 } } },
      ]),
    );

    // Assert
    expect(issues).toEqual([]);
  });

  it('names each bad template by its path: roots, event fields, unknown or own nodes, syntax, filters', () => {
    // Act
    const issues = templateIssues(
      definition([
        {
          id: 'mail',
          type: 'send_email',
          params: { subject: '{{ name }}', body: '{{ event.payload }}', html: '{{ nodes.mail.x }}' },
        },
        {
          id: 'sms',
          type: 'send_sms',
          params: { body: '{{ unsubscribe_url }}', to: '{{ lead.phone | nope }}' },
        },
        { id: 'up', type: 'update_lead', params: { fields: { a: '{% if %}' } } },
        {
          id: 'ai',
          type: 'branch',
          params: { aiDecision: { prompt: '{{ nodes.ghost.x }}', labels: ['a', 'b'], fallback: 'a' } },
        },
      ]),
    );

    // Assert
    expect(issues.map((issue) => issue.path)).toEqual([
      'nodes.1.params.subject',
      'nodes.1.params.body',
      'nodes.1.params.html',
      'nodes.2.params.to',
      'nodes.2.params.body',
      'nodes.3.params.fields.a',
      'nodes.4.params.aiDecision.prompt',
    ]);
    expect(issues[0]!.message).toContain('unknown variable "name"');
    expect(issues[1]!.message).toContain('event.payload does not exist');
    expect(issues[2]!.message).toContain('nodes.mail is not another node');
    expect(issues[3]!.message).toContain('undefined filter: nope');
    expect(issues[4]!.message).toContain('unknown variable "unsubscribe_url"');
    expect(issues[6]!.message).toContain('nodes.ghost is not another node');
  });
});
