import { describe, expect, it } from 'vitest';
import { composeEmail, textToHtml } from '../../src/actions/email-content.js';

describe('composeEmail', () => {
  it('adds one-click List-Unsubscribe headers (RFC 8058), with a mailto when given', () => {
    // Act
    const email = composeEmail({
      subject: 'Hi',
      text: 'Hello',
      unsubscribeUrl: 'https://atlas.test/v1/u/tok',
      unsubscribeMailto: 'leave@gym.test',
    });

    // Assert
    expect(email.headers).toEqual({
      'List-Unsubscribe': '<https://atlas.test/v1/u/tok>, <mailto:leave@gym.test?subject=unsubscribe>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });

  it('derives an escaped HTML part from the text when there is none', () => {
    // Act
    const email = composeEmail({ subject: 'Hi', text: 'Tom & <Jerry>\nline two\n\nnext paragraph' });

    // Assert
    expect(email.html).toContain('<p>Tom &amp; &lt;Jerry&gt;<br>line two</p>');
    expect(email.html).toContain('<p>next paragraph</p>');
    expect(textToHtml('x')).toMatch(/^<!doctype html>/);
  });

  it('rewrites http(s) links for click tracking, except the unsubscribe link, and adds the open pixel', () => {
    // Act
    const email = composeEmail({
      subject: 'Hi',
      text: 'x',
      html: '<html><body><a href="https://gym.test/a?x=1&amp;y=2">A</a> <a href=\'http://gym.test/b\'>B</a> <a href="mailto:x@y.z">M</a> <a href="https://atlas.test/v1/u/tok">U</a></body></html>',
      unsubscribeUrl: 'https://atlas.test/v1/u/tok',
      tracking: {
        openUrl: 'https://atlas.test/v1/t/o/open',
        clickUrl: (url) => `https://atlas.test/c?u=${encodeURIComponent(url)}`,
      },
    });

    // Assert
    expect(email.html).toContain('href="https://atlas.test/c?u=https%3A%2F%2Fgym.test%2Fa%3Fx%3D1%26y%3D2"');
    expect(email.html).toContain("href='https://atlas.test/c?u=http%3A%2F%2Fgym.test%2Fb'");
    expect(email.html).toContain('href="mailto:x@y.z"');
    expect(email.html).toContain('href="https://atlas.test/v1/u/tok"');
    expect(email.html).toMatch(/<img src="https:\/\/atlas\.test\/v1\/t\/o\/open"[^>]*><\/body>/);
  });

  it('adds no tracking when tracking is off', () => {
    // Act
    const email = composeEmail({ subject: 'Hi', text: 'x', html: '<a href="https://gym.test">A</a>' });

    // Assert
    expect(email.html).toBe('<a href="https://gym.test">A</a>');
    expect(email.headers).toEqual({});
  });
});
