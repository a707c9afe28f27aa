import { describe, expect, it } from 'vitest';
import {
  Comparison,
  MAX_PATTERN_LENGTH,
  conditionSchema,
  type Condition,
} from '../../src/triggers/condition-schema.js';
import { evaluate, readPath, type ConditionContext } from '../../src/triggers/conditions.js';

/** Evaluates `lead.x <op> value` with `lead.x = actual` (or with no x at all when actual is omitted). */
function check(op: string, value: unknown, ...actual: [unknown?]): boolean {
  const condition = { field: 'lead.x', op, value } as Condition;
  const context: ConditionContext = actual.length === 0 ? { lead: {} } : { lead: { x: actual[0] } };
  return evaluate(condition, context);
}

const cmp = (field: string, op: string, value?: unknown) =>
  (value === undefined ? { field, op } : { field, op, value }) as Condition;

const lead = {
  firstName: 'Sarah',
  email: 'sarah@example.com',
  source: 'Instagram',
  score: 42,
  visits: '7',
  tags: ['vip', 'Opened-Welcome'],
  renewalDate: '2025-03-01',
  joinedAt: '2024-06-15T10:00:00+02:00',
  phone: null,
  notes: '',
};
const context: ConditionContext = {
  lead,
  event: { type: 'form_submitted', data: { formId: 'trial', answers: { goal: 'strength' } } },
  nodes: { check: { result: true } },
};

describe('readPath', () => {
  it('reads nested fields and returns undefined for any missing part', () => {
    // Act + Assert
    expect(readPath(context, 'event.data.answers.goal')).toBe('strength');
    expect(readPath(context, 'lead.tags')).toEqual(['vip', 'Opened-Welcome']);
    expect(readPath(context, 'event.data.missing.deeper')).toBeUndefined();
    expect(readPath(context, 'lead.phone.country')).toBeUndefined();
    expect(readPath(context, 'lead.firstName.length.x')).toBeUndefined();
  });
});

describe('evaluate', () => {
  describe('eq and neq', () => {
    it('compares strings case-insensitively', () => {
      // Act + Assert
      expect(check('eq', 'instagram', 'Instagram')).toBe(true);
      expect(check('eq', 'facebook', 'Instagram')).toBe(false);
      expect(check('neq', 'INSTAGRAM', 'Instagram')).toBe(false);
      expect(check('neq', 'facebook', 'Instagram')).toBe(true);
    });

    it('treats a numeric string and the number it spells as equal', () => {
      // Act + Assert
      expect(check('eq', 42, '42')).toBe(true);
      expect(check('eq', '42', 42)).toBe(true);
      expect(check('eq', 42, '42.0')).toBe(true);
      expect(check('eq', 42, '43')).toBe(false);
      expect(check('eq', 42, 'forty-two')).toBe(false);
    });

    it('compares booleans and null exactly', () => {
      // Act + Assert
      expect(check('eq', true, true)).toBe(true);
      expect(check('eq', true, false)).toBe(false);
      expect(check('eq', true, 'true')).toBe(false);
      expect(check('eq', null, null)).toBe(true);
      expect(check('eq', null)).toBe(true);
      expect(check('eq', null, 0)).toBe(false);
    });

    it('never matches a missing field against a value, and neq holds for it', () => {
      // Act + Assert
      expect(check('eq', 'x')).toBe(false);
      expect(check('eq', 0)).toBe(false);
      expect(check('neq', 'x')).toBe(true);
    });

    // BUG (src/triggers/conditions.ts, looselyEqual, lines 70-73): any non-null value is coerced with
    // Number(), so a blank string, a whitespace string or an empty array equals 0. The same module treats
    // '' as absent for `exists` and refuses to order it (`comparable` skips blank strings), so
    // `eq 0` holds while `gte 0` does not.
    it('does not treat a blank string or an empty list as the number 0', () => {
      // Act + Assert
      expect(check('eq', 0, '')).toBe(false);
      expect(check('eq', 0, '  ')).toBe(false);
      expect(check('eq', 0, [])).toBe(false);
      expect(check('neq', 0, '')).toBe(true);
    });
  });

  describe('gt, gte, lt, lte', () => {
    it('orders numbers', () => {
      // Act + Assert
      expect(check('gt', 10, 42)).toBe(true);
      expect(check('gt', 42, 42)).toBe(false);
      expect(check('gte', 42, 42)).toBe(true);
      expect(check('lt', 42, 41.5)).toBe(true);
      expect(check('lt', 42, 42)).toBe(false);
      expect(check('lte', 42, 42)).toBe(true);
      expect(check('lte', 42, 43)).toBe(false);
    });

    it('orders a numeric string field against a number as a number, not as text', () => {
      // Act + Assert
      expect(check('gt', 100, '150')).toBe(true);
      expect(check('gt', 100, '50')).toBe(false);
      expect(check('lt', 10, '9')).toBe(true);
      expect(check('gte', 7, ' 7 ')).toBe(true);
    });

    it('is false for a blank, non-numeric or missing field compared with a number', () => {
      // Act + Assert
      for (const op of ['gt', 'gte', 'lt', 'lte']) {
        expect(check(op, 0, '')).toBe(false);
        expect(check(op, 0, 'abc')).toBe(false);
        expect(check(op, 0)).toBe(false);
        expect(check(op, 0, null)).toBe(false);
        expect(check(op, 0, true)).toBe(false);
      }
    });

    it('compares date strings as instants, honouring their offsets', () => {
      // Arrange: 10:00+02:00 is 08:00Z, earlier than 09:00Z although it sorts later as text.
      const joinedAt = '2024-06-15T10:00:00+02:00';

      // Act + Assert
      expect(check('lt', '2024-06-15T09:00:00Z', joinedAt)).toBe(true);
      expect(check('gt', '2024-06-15T09:00:00Z', joinedAt)).toBe(false);
      expect(check('gte', '2024-06-15T08:00:00Z', joinedAt)).toBe(true);
      expect(check('lte', '2024-06-15T08:00:00Z', joinedAt)).toBe(true);
      expect(check('gt', '2025-02-28', '2025-03-01')).toBe(true);
      expect(check('gt', '2025-03-01T00:00:00Z', '2025-03-01')).toBe(false);
    });

    it('is false when either date string cannot be parsed', () => {
      // Act + Assert
      expect(check('gt', '2024-01-01', 'not a date')).toBe(false);
      expect(check('lt', 'not a date', '2024-01-01')).toBe(false);
      expect(check('lt', '2024-01-01', '')).toBe(false);
    });

    // BUG (src/triggers/conditions.ts, comparable, lines 103-106): a numeric string as the condition value
    // goes through Date.parse, which V8 reads as a year ('100' is the year 100, '50' is 1950), so
    // `50 gt "100"` and `"50" gt "100"` are both true. Numbers must compare as numbers, or the
    // comparison must be "not comparable" (false); it must never be true.
    it('never says 50 is greater than a numeric string value "100"', () => {
      // Act + Assert
      expect(check('gt', '100', 50)).toBe(false);
      expect(check('gt', '100', '50')).toBe(false);
    });
  });

  describe('in', () => {
    it('holds when the field loosely equals any listed value', () => {
      // Act + Assert
      expect(check('in', ['instagram', 'facebook'], 'Facebook')).toBe(true);
      expect(check('in', ['instagram', 'facebook'], 'tiktok')).toBe(false);
      expect(check('in', [1, 2, 3], '2')).toBe(true);
      expect(check('in', ['instagram'])).toBe(false);
      expect(check('in', [], 'instagram')).toBe(false);
    });
  });

  describe('contains', () => {
    it('finds an item in a list field, loosely', () => {
      // Act + Assert
      expect(check('contains', 'opened-welcome', ['vip', 'Opened-Welcome'])).toBe(true);
      expect(check('contains', 'clicked', ['vip', 'Opened-Welcome'])).toBe(false);
      expect(check('contains', 3, ['1', '3'])).toBe(true);
    });

    it('finds a substring in a text field, case-insensitively', () => {
      // Act + Assert
      expect(check('contains', 'EXAMPLE.com', 'sarah@example.com')).toBe(true);
      expect(check('contains', 'gmail', 'sarah@example.com')).toBe(false);
    });

    it('is false for a missing field, a number or an object', () => {
      // Act + Assert
      expect(check('contains', 'x')).toBe(false);
      expect(check('contains', '4', 42)).toBe(false);
      expect(check('contains', 'a', { a: 1 })).toBe(false);
    });
  });

  describe('exists', () => {
    it('holds for present values, including 0 and false, and not for missing, null or blank ones', () => {
      // Act + Assert
      expect(check('exists', undefined, 'x')).toBe(true);
      expect(check('exists', undefined, 0)).toBe(true);
      expect(check('exists', undefined, false)).toBe(true);
      expect(check('exists', undefined, [])).toBe(true);
      expect(check('exists', undefined)).toBe(false);
      expect(check('exists', undefined, null)).toBe(false);
      expect(check('exists', undefined, '')).toBe(false);
    });

    it('takes true as the default and false as "is absent"', () => {
      // Act + Assert
      expect(check('exists', true, 'x')).toBe(true);
      expect(check('exists', false, 'x')).toBe(false);
      expect(check('exists', false)).toBe(true);
      expect(check('exists', false, '')).toBe(true);
    });
  });

  describe('matches', () => {
    it('tests the field against a regular expression, case-sensitively', () => {
      // Act + Assert
      expect(check('matches', '^\\+44\\d{10}$', '+447700900123')).toBe(true);
      expect(check('matches', '^\\+44\\d{10}$', '+15555550100')).toBe(false);
      expect(check('matches', '^sarah@', 'Sarah@example.com')).toBe(false);
      expect(check('matches', '^[Ss]arah@', 'Sarah@example.com')).toBe(true);
    });

    it('tests numbers by their text and is false for missing, null or list fields', () => {
      // Act + Assert
      expect(check('matches', '^4\\d$', 42)).toBe(true);
      expect(check('matches', '.*')).toBe(false);
      expect(check('matches', '.*', null)).toBe(false);
      expect(check('matches', 'vip', ['vip'])).toBe(false);
    });

    it('gives the same answer when the same pattern is evaluated again', () => {
      // Act
      const first = check('matches', '^a+$', 'aaa');
      const again = check('matches', '^a+$', 'aaa');
      const other = check('matches', '^a+$', 'aab');

      // Assert
      expect([first, again, other]).toEqual([true, true, false]);
    });
  });

  describe('all, any and not', () => {
    const hot = cmp('lead.score', 'gte', 40);
    const instagram = cmp('lead.source', 'eq', 'instagram');
    const unsubscribed = cmp('lead.tags', 'contains', 'unsubscribed');

    it('combines comparisons', () => {
      // Act + Assert
      expect(evaluate({ all: [hot, instagram] }, context)).toBe(true);
      expect(evaluate({ all: [hot, unsubscribed] }, context)).toBe(false);
      expect(evaluate({ any: [unsubscribed, instagram] }, context)).toBe(true);
      expect(evaluate({ any: [unsubscribed, cmp('lead.score', 'lt', 0)] }, context)).toBe(false);
      expect(evaluate({ not: unsubscribed }, context)).toBe(true);
      expect(evaluate({ not: hot }, context)).toBe(false);
    });

    it('nests several levels deep', () => {
      // Arrange
      const condition: Condition = {
        all: [
          { any: [cmp('event.data.formId', 'eq', 'trial'), cmp('event.data.formId', 'eq', 'pass')] },
          { not: { any: [unsubscribed, cmp('lead.email', 'exists', false)] } },
          { not: { not: cmp('nodes.check.result', 'eq', true) } },
        ],
      };

      // Act + Assert
      expect(evaluate(condition, context)).toBe(true);
      expect(evaluate(condition, { ...context, lead: { ...lead, tags: ['unsubscribed'] } })).toBe(false);
    });

    it('never throws on missing fields, whatever the operator', () => {
      // Arrange
      const ops = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'contains', 'matches'];
      const empty: ConditionContext = {};

      // Act
      const results = ops.map((op) =>
        evaluate(cmp('lead.missing.deeper', op, op === 'matches' ? '.' : 1), empty),
      );

      // Assert
      expect(results).toEqual([false, true, false, false, false, false, false, false]);
      expect(evaluate(cmp('event.data.x', 'in', [1]), empty)).toBe(false);
      expect(evaluate(cmp('nodes.n.out', 'exists'), empty)).toBe(false);
    });
  });
});

describe('conditionSchema', () => {
  const parses = (input: unknown) => conditionSchema.safeParse(input).success;

  it('accepts every operator with a fitting value', () => {
    // Arrange
    const valid = [
      { field: 'lead.source', op: 'eq', value: 'instagram' },
      { field: 'lead.source', op: 'neq', value: null },
      { field: 'lead.score', op: 'gt', value: 1 },
      { field: 'lead.joinedAt', op: 'gte', value: '2024-01-01' },
      { field: 'lead.score', op: 'lt', value: 1 },
      { field: 'lead.score', op: 'lte', value: 1 },
      { field: 'lead.source', op: 'in', value: ['a', 'b'] },
      { field: 'lead.tags', op: 'contains', value: 'vip' },
      { field: 'lead.email', op: 'exists' },
      { field: 'lead.email', op: 'exists', value: false },
      { field: 'lead.phone', op: 'matches', value: '^\\+44' },
    ];

    // Act
    const failing = valid.filter((condition) => !parses(condition));

    // Assert
    expect(failing).toEqual([]);
  });

  it.each([
    ['in without a list', { field: 'lead.source', op: 'in', value: 'instagram' }],
    ['eq with a list', { field: 'lead.source', op: 'eq', value: ['a'] }],
    ['eq without a value', { field: 'lead.source', op: 'eq' }],
    ['gt with a boolean', { field: 'lead.score', op: 'gt', value: true }],
    ['exists with a string', { field: 'lead.email', op: 'exists', value: 'yes' }],
    ['matches with a number', { field: 'lead.phone', op: 'matches', value: 44 }],
    ['an unknown operator', { field: 'lead.score', op: 'between', value: 1 }],
    ['a field outside lead/event/nodes/execution', { field: 'org.name', op: 'eq', value: 'x' }],
    ['a field with a trailing dot', { field: 'lead.', op: 'eq', value: 'x' }],
    ['an unknown key', { field: 'lead.x', op: 'eq', value: 1, caseSensitive: true }],
    ['an empty all', { all: [] }],
    [
      'all and any in one object',
      { all: [{ field: 'lead.x', op: 'exists' }], any: [{ field: 'lead.x', op: 'exists' }] },
    ],
  ])('rejects %s', (_label, input) => {
    // Act + Assert
    expect(parses(input)).toBe(false);
  });

  it.each(['(unclosed', '[a-', '*start', 'a{2,1}', '\\p{NotAProperty}'])(
    'rejects the invalid pattern %j',
    (value) => {
      // Act
      const result = Comparison.safeParse({ field: 'lead.phone', op: 'matches', value });

      // Assert
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['value']);
      expect(result.error?.issues[0]?.message).toMatch(/^invalid regular expression/);
    },
  );

  it('rejects a pattern longer than the limit and accepts one at the limit', () => {
    // Arrange
    const atLimit = 'a'.repeat(MAX_PATTERN_LENGTH);
    const tooLong = 'a'.repeat(MAX_PATTERN_LENGTH + 1);

    // Act
    const accepted = Comparison.safeParse({ field: 'lead.x', op: 'matches', value: atLimit });
    const rejected = Comparison.safeParse({ field: 'lead.x', op: 'matches', value: tooLong });

    // Assert
    expect(accepted.success).toBe(true);
    expect(rejected.error?.issues.map((issue) => issue.message)).toEqual([
      `pattern longer than ${MAX_PATTERN_LENGTH} characters`,
    ]);
  });

  it('accepts nested all/any/not', () => {
    // Arrange
    const nested = {
      any: [
        {
          not: {
            all: [
              { field: 'lead.x', op: 'exists' },
              { field: 'event.type', op: 'eq', value: 'x' },
            ],
          },
        },
      ],
    };

    // Act + Assert
    expect(parses(nested)).toBe(true);
  });
});

describe('regular expressions from tenants', () => {
  it('rejects a pattern with nested quantifiers when the workflow is saved', () => {
    const parsed = Comparison.safeParse({ field: 'lead.firstName', op: 'matches', value: '^(a+)+$' });

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('exponential');
  });
});

describe('time_based conditions', () => {
  const now = Date.parse('2026-06-13T09:00:00Z');

  it('says a lead joined more than 30 days ago', () => {
    const joinedLongAgo = { lead: { joinedAt: '2026-04-01' } };
    const joinedLastWeek = { lead: { joinedAt: '2026-06-06' } };
    const condition = { time_based: { field: 'lead.joinedAt', op: 'before' as const, offsetDays: -30 } };

    expect(evaluate(condition, joinedLongAgo, { now, zone: 'UTC' })).toBe(true);
    expect(evaluate(condition, joinedLastWeek, { now, zone: 'UTC' })).toBe(false);
    expect(evaluate(condition, { lead: {} }, { now, zone: 'UTC' })).toBe(false);
  });

  it('is rejected without either a window/weekdays or a field with op', () => {
    expect(conditionSchema.safeParse({ time_based: { offsetDays: 3 } }).success).toBe(false);
    expect(conditionSchema.safeParse({ time_based: { field: 'lead.joinedAt' } }).success).toBe(false);
    expect(conditionSchema.safeParse({ time_based: { weekdays: ['sat'] } }).success).toBe(true);
  });
});
