import { describe, expect, it } from 'vitest';
import {
  WorkflowDefinition,
  WorkflowNode,
  externalNodeTypes,
  inlineNodeTypes,
  runsInline,
  type NodeType,
} from '../../src/workflows/schema.js';
import { nurtureInput } from './builders.js';

const start = { id: 'start', type: 'trigger', event: 'new_lead' };

/** A definition whose nodes follow a plain trigger, so the node under test sits at index 1 (or later). */
const withNodes = (...nodes: unknown[]) => ({ name: 'Test', nodes: [start, ...nodes], edges: [] });

interface Issue {
  path: string;
  message: string;
  code: string;
}

function issuesOf(input: unknown): Issue[] {
  const result = WorkflowDefinition.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => ({
    path: issue.path.join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

const pathsOf = (input: unknown) => issuesOf(input).map((issue) => issue.path);

const cronTrigger = (schedule: unknown) => ({ id: 'tick', type: 'trigger', event: 'scheduled', schedule });

describe('WorkflowDefinition', () => {
  it('parses the nurture example of DESIGN.md and applies the default enrollment', () => {
    // Arrange
    const input = nurtureInput();

    // Act
    const parsed = WorkflowDefinition.parse(input);

    // Assert
    expect(parsed.nodes.map((n) => n.type)).toEqual([
      'trigger',
      'send_email',
      'wait',
      'branch',
      'send_sms',
      'add_tag',
    ]);
    expect(parsed.settings).toEqual({ enrollment: 'once_active' });
  });

  const validNodes: [NodeType, unknown][] = [
    [
      'trigger',
      {
        id: 'other',
        type: 'trigger',
        event: 'form_submitted',
        filter: { field: 'event.data.formId', op: 'eq', value: 'f1' },
      },
    ],
    [
      'send_email',
      {
        id: 'n',
        type: 'send_email',
        params: {
          to: 'a@example.com',
          from: 'gym@example.com',
          subject: 'Hi',
          body: 'Hello',
          html: '<p>Hello</p>',
        },
      },
    ],
    ['send_sms', { id: 'n', type: 'send_sms', params: { body: 'Hi {{ lead.firstName }}' } }],
    ['send_whatsapp', { id: 'n', type: 'send_whatsapp', params: { templateName: 'welcome_v2' } }],
    [
      'update_lead',
      {
        id: 'n',
        type: 'update_lead',
        params: { fields: { status: 'trial', score: 10, vip: true, note: null } },
      },
    ],
    ['add_tag', { id: 'n', type: 'add_tag', params: { tag: 'nurtured' } }],
    ['change_status', { id: 'n', type: 'change_status', params: { status: 'member' } }],
    [
      'sync_to_meta',
      { id: 'n', type: 'sync_to_meta', params: { eventName: 'Lead', value: 49.5, currency: 'GBP' } },
    ],
    [
      'create_stripe_customer',
      {
        id: 'n',
        type: 'create_stripe_customer',
        params: { description: 'Trial', metadata: { leadId: 'l1' } },
      },
    ],
    [
      'webhook_call',
      {
        id: 'n',
        type: 'webhook_call',
        params: {
          url: 'https://hooks.example.com/x',
          method: 'PUT',
          headers: { 'x-a': '1' },
          body: { a: [1, 2] },
          timeoutMs: 5000,
        },
      },
    ],
    ['wait', { id: 'n', type: 'wait', params: { until: '2030-01-01T09:00:00+01:00' } }],
    [
      'branch',
      {
        id: 'n',
        type: 'branch',
        params: {
          condition: {
            all: [
              { field: 'lead.score', op: 'gte', value: 5 },
              { not: { field: 'lead.email', op: 'exists' } },
            ],
          },
        },
      },
    ],
    [
      'split',
      {
        id: 'n',
        type: 'split',
        params: {
          variants: [
            { label: 'A', weight: 50 },
            { label: 'B', weight: 50 },
          ],
        },
      },
    ],
    ['parallel', { id: 'n', type: 'parallel', params: {} }],
    ['join', { id: 'n', type: 'join', params: { parallel: 'fanout' } }],
  ];

  it.each(validNodes)('parses a valid %s node', (type, raw) => {
    // Act
    const result = WorkflowNode.safeParse(raw);

    // Assert
    expect(result.error?.issues).toBeUndefined();
    expect(result.data?.type).toBe(type);
  });

  it('covers every node type in the table above', () => {
    // Arrange
    const declared = WorkflowNode.options.map((option) => option.shape.type.value);

    // Assert
    expect(new Set(validNodes.map(([type]) => type))).toEqual(new Set(declared));
  });

  it('classifies every node type as exactly one of inline or external', () => {
    // Arrange
    const declared = WorkflowNode.options.map((option) => option.shape.type.value);

    // Act
    const unclassified = declared.filter((t) => inlineNodeTypes.has(t) === externalNodeTypes.has(t));

    // Assert
    expect(unclassified).toEqual([]);
    expect(externalNodeTypes.has('webhook_call')).toBe(true);
    expect(inlineNodeTypes.has('branch')).toBe(true);
  });

  it('runs a branch inline unless the AI decides it (that one calls the AI endpoint in a job of its own)', () => {
    // Arrange
    const [condition, ai] = [
      { id: 'b', type: 'branch', params: { condition: { field: 'lead.score', op: 'gt', value: 1 } } },
      {
        id: 'b',
        type: 'branch',
        params: { aiDecision: { prompt: 'Hot?', labels: ['hot', 'cold'], fallback: 'cold' } },
      },
    ].map((node) => WorkflowNode.parse(node));

    // Act + Assert
    expect(runsInline(condition!)).toBe(true);
    expect(runsInline(ai!)).toBe(false);
  });

  it('fills defaults: webhook method and timeout, parallel params, date schedule offset and yearly', () => {
    // Arrange
    const input = withNodes(
      { id: 'hook', type: 'webhook_call', params: { url: 'https://example.com/hook' } },
      { id: 'fan', type: 'parallel' },
      {
        id: 'birthday',
        type: 'trigger',
        event: 'date_reached',
        schedule: { kind: 'date', field: 'birthday', at: '09:00' },
      },
    );

    // Act
    const parsed = WorkflowDefinition.parse(input);

    // Assert
    expect(parsed.nodes[1]).toMatchObject({ params: { method: 'POST', timeoutMs: 10_000 } });
    expect(parsed.nodes[2]).toMatchObject({ params: {} });
    expect(parsed.nodes[3]).toMatchObject({ schedule: { offsetDays: 0, yearly: false } });
  });

  describe('strict objects', () => {
    it('rejects a node with `parmas` instead of `params`, naming the node index', () => {
      // Arrange
      const input = withNodes({ id: 'tag', type: 'add_tag', parmas: { tag: 'x' } });

      // Act
      const issues = issuesOf(input);

      // Assert
      expect(issues).toContainEqual(expect.objectContaining({ path: 'nodes.1', code: 'unrecognized_keys' }));
      expect(issues.some((issue) => issue.message.includes('parmas'))).toBe(true);
    });

    it('rejects a typo inside params', () => {
      // Arrange
      const input = withNodes({
        id: 'mail',
        type: 'send_email',
        params: { subject: 'Hi', body: 'x', subjct: 'Hi' },
      });

      // Act
      const issues = issuesOf(input);

      // Assert
      expect(issues).toEqual([
        expect.objectContaining({ path: 'nodes.1.params', code: 'unrecognized_keys' }),
      ]);
    });

    it('rejects an unknown key at the top level, in an edge and in a condition', () => {
      // Arrange
      const topLevel = { ...withNodes(), sttings: {} };
      const inEdge = {
        ...withNodes({ id: 'a', type: 'add_tag', params: { tag: 'x' } }),
        edges: [{ from: 'start', to: 'a', label: 'x' }],
      };
      const inCondition = withNodes({
        id: 'b',
        type: 'branch',
        params: { condition: { field: 'lead.x', op: 'eq', value: 1, negate: true } },
      });

      // Act + Assert
      expect(pathsOf(topLevel)).toEqual(['']);
      expect(pathsOf(inEdge)).toEqual(['edges.0']);
      expect(pathsOf(inCondition)[0]).toMatch(/^nodes\.1\.params\.condition/);
    });

    it('rejects a trigger with a schedule key it does not know', () => {
      // Arrange
      const input = withNodes(cronTrigger({ kind: 'cron', cron: '0 9 * * 1', timezone: 'Europe/London' }));

      // Act + Assert
      expect(pathsOf(input)).toContain('nodes.1.schedule');
    });
  });

  it('rejects an unknown node type', () => {
    // Act
    const issues = issuesOf(withNodes({ id: 'x', type: 'send_fax', params: {} }));

    // Assert
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.path).toMatch(/^nodes\.1(\.type)?$/);
  });

  it.each(['1start', 'has space', 'dot.ted', '', 'a'.repeat(65)])('rejects the node id %j', (id) => {
    // Act + Assert
    expect(pathsOf(withNodes({ id, type: 'add_tag', params: { tag: 'x' } }))).toEqual(['nodes.1.id']);
  });

  it.each(['a', 'welcome_2', 'Step-3', 'a'.repeat(64)])('accepts the node id %j', (id) => {
    // Act + Assert
    expect(issuesOf(withNodes({ id, type: 'add_tag', params: { tag: 'x' } }))).toEqual([]);
  });

  it('rejects a definition without nodes or without a name', () => {
    // Act + Assert
    expect(pathsOf({ name: 'x', nodes: [], edges: [] })).toEqual(['nodes']);
    expect(pathsOf({ ...withNodes(), name: '' })).toEqual(['name']);
  });

  describe('wait', () => {
    const waitWith = (params: unknown) =>
      withNodes(
        { id: 'mail', type: 'send_sms', params: { body: 'x' } },
        { id: 'pause', type: 'wait', params },
      );

    it.each(['PT15M', 'P1D', 'PT0.2S', 'P1W', 'P1DT12H'])('accepts the duration %s', (duration) => {
      // Act + Assert
      expect(issuesOf(waitWith({ duration }))).toEqual([]);
    });

    it.each(['PT0S', 'P0D', '-PT5M', 'PT-5M', 'P1X', '15 minutes', '', 'PT'])(
      'rejects the duration %j at nodes.2.params.duration',
      (duration) => {
        // Act + Assert
        expect(pathsOf(waitWith({ duration }))).toEqual(['nodes.2.params.duration']);
      },
    );

    it('accepts an until instant with an offset or Z', () => {
      // Act + Assert
      expect(issuesOf(waitWith({ until: '2030-01-01T09:00:00Z' }))).toEqual([]);
      expect(issuesOf(waitWith({ until: '2030-01-01T09:00:00+05:30' }))).toEqual([]);
    });

    it.each(['2030-01-01T09:00:00', '2030-01-01', 'next monday'])('rejects the until value %j', (until) => {
      // Act + Assert
      expect(pathsOf(waitWith({ until }))).toEqual(['nodes.2.params.until']);
    });

    it('needs exactly one wait mode', () => {
      // Act
      const both = issuesOf(waitWith({ duration: 'PT1H', until: '2030-01-01T09:00:00Z' }));
      const neither = issuesOf(waitWith({}));

      // Assert
      expect(both).toEqual([
        expect.objectContaining({
          path: 'nodes.2.params',
          message: 'give exactly one of duration, until, weekday (with at) or event (with timeout)',
        }),
      ]);
      expect(neither).toEqual([
        expect.objectContaining({
          path: 'nodes.2.params',
          message: 'give exactly one of duration, until, weekday (with at) or event (with timeout)',
        }),
      ]);
    });
  });

  describe('time triggers', () => {
    it('accepts a scheduled trigger with a five-field cron and a known time zone', () => {
      // Act + Assert
      expect(
        issuesOf(withNodes(cronTrigger({ kind: 'cron', cron: '0 9 * * 1', timeZone: 'Europe/London' }))),
      ).toEqual([]);
    });

    it.each(['Mars/Olympus', 'Europe/Londn', 'GMT+25'])('rejects the unknown time zone %j', (timeZone) => {
      // Act
      const issues = issuesOf(withNodes(cronTrigger({ kind: 'cron', cron: '0 9 * * 1', timeZone })));

      // Assert
      expect(issues).toEqual([
        expect.objectContaining({ path: 'nodes.1.schedule.timeZone', message: 'unknown IANA time zone' }),
      ]);
    });

    it.each(['0 9 * *', '0 0 9 * * 1', '', 'every monday'])('rejects the cron expression %j', (cron) => {
      // Act + Assert
      expect(pathsOf(withNodes(cronTrigger({ kind: 'cron', cron })))).toEqual(['nodes.1.schedule.cron']);
    });

    it('rejects a scheduled trigger without a schedule', () => {
      // Act
      const issues = issuesOf(withNodes({ id: 'tick', type: 'trigger', event: 'scheduled' }));

      // Assert
      expect(issues).toEqual([
        expect.objectContaining({
          path: 'nodes.1.schedule',
          message: 'a scheduled trigger needs a "cron" schedule',
        }),
      ]);
    });

    it.each([
      ['scheduled', { kind: 'every', every: 1, unit: 'days' }, 'cron'],
      ['recurring', { kind: 'cron', cron: '0 9 * * *' }, 'every'],
      ['date_reached', { kind: 'every', every: 2, unit: 'weeks' }, 'date'],
    ])('rejects a %s trigger with the wrong schedule kind', (event, schedule, expectedKind) => {
      // Act
      const issues = issuesOf(withNodes({ id: 'tick', type: 'trigger', event, schedule }));

      // Assert
      expect(issues).toEqual([
        expect.objectContaining({
          path: 'nodes.1.schedule',
          message: `a ${event} trigger needs a "${expectedKind}" schedule`,
        }),
      ]);
    });

    it('accepts a recurring trigger with an every schedule and a date_reached trigger with a date schedule', () => {
      // Arrange
      const input = withNodes(
        {
          id: 'weekly',
          type: 'trigger',
          event: 'recurring',
          schedule: { kind: 'every', every: 2, unit: 'weeks', anchor: '2025-01-06T09:00:00Z' },
        },
        {
          id: 'renewal',
          type: 'trigger',
          event: 'date_reached',
          schedule: { kind: 'date', field: 'renewalDate', offsetDays: -3, at: '08:30', yearly: true },
        },
      );

      // Act + Assert
      expect(issuesOf(input)).toEqual([]);
    });

    it('rejects a schedule on an event trigger', () => {
      // Act
      const issues = issuesOf(
        withNodes({
          id: 'lead',
          type: 'trigger',
          event: 'new_lead',
          schedule: { kind: 'cron', cron: '0 9 * * 1' },
        }),
      );

      // Assert
      expect(issues).toEqual([
        expect.objectContaining({
          path: 'nodes.1.schedule',
          message: 'a new_lead trigger takes no schedule',
        }),
      ]);
    });

    it.each([
      [{ kind: 'every', every: 0, unit: 'days' }, 'nodes.1.schedule.every'],
      [{ kind: 'every', every: 1.5, unit: 'days' }, 'nodes.1.schedule.every'],
      [{ kind: 'every', every: 1, unit: 'months' }, 'nodes.1.schedule.unit'],
    ])('rejects the recurring schedule %j', (schedule, path) => {
      // Act + Assert
      expect(pathsOf(withNodes({ id: 'r', type: 'trigger', event: 'recurring', schedule }))).toEqual([path]);
    });

    it.each([
      [{ kind: 'date', field: 'birthday', at: '24:00' }, 'nodes.1.schedule.at'],
      [{ kind: 'date', field: 'birthday', at: '9:00' }, 'nodes.1.schedule.at'],
      [{ kind: 'date', field: 'birthday', at: '09:00', offsetDays: 400 }, 'nodes.1.schedule.offsetDays'],
      [{ kind: 'date', field: '', at: '09:00' }, 'nodes.1.schedule.field'],
    ])('rejects the date schedule %j', (schedule, path) => {
      // Act + Assert
      expect(pathsOf(withNodes({ id: 'd', type: 'trigger', event: 'date_reached', schedule }))).toEqual([
        path,
      ]);
    });
  });

  describe('action params', () => {
    it('rejects a WhatsApp message with neither a body nor a template name', () => {
      // Act
      const issues = issuesOf(
        withNodes({ id: 'wa', type: 'send_whatsapp', params: { to: '+447700900123' } }),
      );

      // Assert
      expect(issues).toEqual([
        expect.objectContaining({ path: 'nodes.1.params', message: 'needs a body or a templateName' }),
      ]);
    });

    it('rejects an update_lead with no fields or with a field name that is not an identifier', () => {
      // Act + Assert
      expect(pathsOf(withNodes({ id: 'u', type: 'update_lead', params: { fields: {} } }))).toEqual([
        'nodes.1.params.fields',
      ]);
      expect(
        pathsOf(withNodes({ id: 'u', type: 'update_lead', params: { fields: { 'first name': 'x' } } }))[0],
      ).toMatch(/^nodes\.1\.params\.fields/);
    });

    it('rejects an empty email subject and an object as a lead field value', () => {
      // Act + Assert
      expect(pathsOf(withNodes({ id: 'm', type: 'send_email', params: { subject: '', body: 'x' } }))).toEqual(
        ['nodes.1.params.subject'],
      );
      expect(
        pathsOf(withNodes({ id: 'u', type: 'update_lead', params: { fields: { a: { b: 1 } } } })),
      ).toEqual(['nodes.1.params.fields.a']);
    });

    it.each([
      [{ url: 'ftp://example.com/x' }, 'nodes.1.params.url'],
      [{ url: 'not a url' }, 'nodes.1.params.url'],
      [{ url: 'https://example.com', method: 'TRACE' }, 'nodes.1.params.method'],
      [{ url: 'https://example.com', timeoutMs: 50 }, 'nodes.1.params.timeoutMs'],
      [{ url: 'https://example.com', timeoutMs: 60_000 }, 'nodes.1.params.timeoutMs'],
    ])('rejects the webhook_call params %j', (params, path) => {
      // Act + Assert
      expect(pathsOf(withNodes({ id: 'hook', type: 'webhook_call', params }))).toEqual([path]);
    });

    it('rejects a split with one variant, a zero weight or a bad label', () => {
      // Arrange
      const split = (variants: unknown) => withNodes({ id: 's', type: 'split', params: { variants } });

      // Act + Assert
      expect(pathsOf(split([{ label: 'A', weight: 1 }]))).toEqual(['nodes.1.params.variants']);
      expect(
        pathsOf(
          split([
            { label: 'A', weight: 0 },
            { label: 'B', weight: 1 },
          ]),
        ),
      ).toEqual(['nodes.1.params.variants.0.weight']);
      expect(
        pathsOf(
          split([
            { label: 'A B', weight: 1 },
            { label: 'B', weight: 1 },
          ]),
        ),
      ).toEqual(['nodes.1.params.variants.0.label']);
    });

    it('rejects a meta event with a negative value or a two-letter currency', () => {
      // Act + Assert
      expect(
        pathsOf(withNodes({ id: 'm', type: 'sync_to_meta', params: { eventName: 'Lead', value: -1 } })),
      ).toEqual(['nodes.1.params.value']);
      expect(
        pathsOf(withNodes({ id: 'm', type: 'sync_to_meta', params: { eventName: 'Lead', currency: 'GB' } })),
      ).toEqual(['nodes.1.params.currency']);
    });

    it('rejects an invalid branch condition under its params path', () => {
      // Act
      const paths = pathsOf(
        withNodes({
          id: 'b',
          type: 'branch',
          params: { condition: { field: 'lead.score', op: 'between', value: 1 } },
        }),
      );

      // Assert
      expect(paths.length).toBeGreaterThan(0);
      expect(paths.every((path) => path.startsWith('nodes.1.params.condition'))).toBe(true);
    });

    it('rejects a join whose parallel is not a node id', () => {
      // Act + Assert
      expect(pathsOf(withNodes({ id: 'j', type: 'join', params: { parallel: '9lives' } }))).toEqual([
        'nodes.1.params.parallel',
      ]);
    });
  });

  it('names the node index and field of an error deep in the list', () => {
    // Arrange
    const input = withNodes(
      { id: 'mail', type: 'send_sms', params: { body: 'x' } },
      { id: 'pause', type: 'wait', params: { duration: 'P1X' } },
    );

    // Act
    const issues = issuesOf(input);

    // Assert
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'nodes.2.params.duration',
        message: 'must be a positive ISO 8601 duration such as PT15M or P1D',
      }),
    ]);
  });

  it('rejects an edge label longer than 64 characters and an unknown enrollment mode', () => {
    // Act + Assert
    expect(
      pathsOf({ ...withNodes(), edges: [{ from: 'start', to: 'start', when: 'x'.repeat(65) }] }),
    ).toEqual(['edges.0.when']);
    expect(pathsOf({ ...withNodes(), settings: { enrollment: 'sometimes' } })).toEqual([
      'settings.enrollment',
    ]);
  });
});
