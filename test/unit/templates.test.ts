import { describe, expect, it } from 'vitest';
import { render, type TemplateScope } from '../../src/actions/templates.js';
import { NonRetryableError } from '../../src/shared/errors.js';

const scope: TemplateScope = {
  lead: { firstName: 'Sarah', lastName: 'Connor', membership: { plan: 'Gold' } },
  event: { type: 'form_submitted', data: { formId: 'trial' } },
  nodes: { hook: { status: 200, body: { bookingUrl: 'https://book.example.com/abc' } } },
};

/** The error that rendering throws. */
function renderError(template: string, field = 'welcome.params.subject'): NonRetryableError {
  try {
    render(template, scope, field);
  } catch (error) {
    return error as NonRetryableError;
  }
  throw new Error(`expected ${JSON.stringify(template)} to fail`);
}

describe('render', () => {
  it('fills lead fields', () => {
    // Act
    const text = render(
      'Welcome, {{ lead.firstName }} {{ lead.lastName }}!',
      scope,
      'welcome.params.subject',
    );

    // Assert
    expect(text).toBe('Welcome, Sarah Connor!');
  });

  it('fills nested lead fields, event data and earlier node outputs', () => {
    // Act
    const text = render(
      '{{ lead.membership.plan }} / {{ event.data.formId }} / {{ nodes.hook.body.bookingUrl }}',
      scope,
      'n.params.body',
    );

    // Assert
    expect(text).toBe('Gold / trial / https://book.example.com/abc');
  });

  it('applies filters and tags', () => {
    // Act
    const text = render(
      '{{ lead.firstName | upcase }}{% if lead.membership %} ({{ lead.membership.plan }}){% endif %}',
      scope,
      'f',
    );

    // Assert
    expect(text).toBe('SARAH (Gold)');
  });

  it('returns text without template syntax unchanged', () => {
    // Act + Assert
    expect(render('Your first class is free.', scope, 'f')).toBe('Your first class is free.');
  });

  it('fails with a non-retryable template_error naming the field when a variable is missing', () => {
    // Act
    const error = renderError('Hi {{ lead.nickname }}', 'welcome.params.subject');

    // Assert
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.code).toBe('template_error');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('welcome.params.subject');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('fails rather than half-filling when a nested variable is missing', () => {
    // Act
    const error = renderError('Plan: {{ lead.contract.plan }}');

    // Assert
    expect(error.code).toBe('template_error');
  });

  it('fails with template_error on a syntax error or an unknown filter', () => {
    // Act
    const unclosed = renderError('Hi {{ lead.firstName');
    const unknownFilter = renderError('Hi {{ lead.firstName | shout }}');
    const unclosedTag = renderError('{% if lead.firstName %}Hi');

    // Assert
    expect([unclosed.code, unknownFilter.code, unclosedTag.code]).toEqual([
      'template_error',
      'template_error',
      'template_error',
    ]);
  });
});

describe('template safety', () => {
  it.each([
    `{% include 'package.json' %}`,
    `{% render 'src/config/config.ts' %}`,
    `{% layout '.git/config' %}x`,
  ])('never reads a file of the host: %s', (template) => {
    expect(() => render(template, { lead: {}, event: {}, nodes: {} }, 'n.params.body')).toThrow(
      NonRetryableError,
    );
  });

  it('stops a template that loops for too long', () => {
    expect(() =>
      render('{% for i in (1..30000000) %}{% endfor %}', { lead: {}, event: {}, nodes: {} }, 'n.params.body'),
    ).toThrow(/template in n.params.body failed/);
  });
});
