import { describe, expect, it } from 'vitest';
import { createBreakers } from '../../src/actions/breakers.js';
import { NonRetryableError, RetryableError, RetryAfterError } from '../../src/shared/errors.js';

const fail = () => Promise.reject(new RetryableError('503'));
const ok = () => Promise.resolve('sent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const p = { orgId: 'org_a', endpoint: 'p' };
const q = { orgId: 'org_a', endpoint: 'q' };

describe('circuit breakers', () => {
  it('open after consecutive failures; the opening failure and later calls become circuit_open delays', async () => {
    // Arrange
    const breakers = createBreakers({ threshold: 3, halfOpenAfterMs: 200 });

    // Act
    const first = await breakers.run(p, fail).catch((e: unknown) => e);
    await breakers.run(p, fail).catch(() => undefined);
    const opening = await breakers.run(p, fail).catch((e: unknown) => e);
    let called = false;
    const refused = await breakers
      .run(p, async () => {
        called = true;
        return 'x';
      })
      .catch((e: unknown) => e);

    // Assert
    expect(first).toBeInstanceOf(RetryableError);
    expect(opening).toBeInstanceOf(RetryAfterError);
    expect((opening as RetryAfterError).code).toBe('circuit_open');
    expect(refused).toBeInstanceOf(RetryAfterError);
    expect((refused as RetryAfterError).delayMs).toBeGreaterThan(0);
    expect((refused as RetryAfterError).delayMs).toBeLessThanOrEqual(400);
    expect(called).toBe(false);
    expect(breakers.state(p)).toBe('open');
    expect(breakers.snapshot()).toEqual([{ orgId: 'org_a', endpoint: 'p', state: 'open', openings: 1 }]);
  });

  it('keeps at most maxBreakers, dropping the oldest closed ones and keeping open ones', async () => {
    // Arrange
    const breakers = createBreakers({ threshold: 1, halfOpenAfterMs: 60_000, maxBreakers: 3 });
    const at = (endpoint: string) => ({ orgId: 'org_a', endpoint });

    // Act: one opens, then five others are called once each
    await breakers.run(at('down'), fail).catch(() => undefined);
    for (const endpoint of ['e1', 'e2', 'e3', 'e4', 'e5']) await breakers.run(at(endpoint), ok);

    // Assert
    const kept = breakers.snapshot().map((b) => [b.endpoint, b.state]);
    expect(kept).toEqual([
      ['down', 'open'],
      ['e4', 'closed'],
      ['e5', 'closed'],
    ]);
  });

  it('lets one probe through after the half-open delay; its success closes the breaker', async () => {
    // Arrange
    const breakers = createBreakers({ threshold: 1, halfOpenAfterMs: 50 });
    await breakers.run(p, fail).catch(() => undefined);

    // Act
    await sleep(60);
    const probe = await breakers.run(p, ok);

    // Assert
    expect(probe).toBe('sent');
    expect(breakers.state(p)).toBe('closed');
  });

  it('does not count 4xx answers or 429s as failures, and keeps providers apart', async () => {
    // Arrange
    const breakers = createBreakers({ threshold: 2, halfOpenAfterMs: 1000 });

    // Act
    for (let i = 0; i < 5; i += 1) {
      await breakers.run(p, () => Promise.reject(new NonRetryableError('400'))).catch(() => undefined);
      await breakers.run(p, () => Promise.reject(new RetryAfterError('429', 10))).catch(() => undefined);
    }
    await breakers.run(q, fail).catch(() => undefined);
    await breakers.run(q, fail).catch(() => undefined);

    // Assert
    expect(breakers.state(p)).toBe('closed');
    expect(breakers.state(q)).toBe('open');
  });

  it("keeps organizations apart: one's failures at an endpoint do not open another's breaker for it", async () => {
    // Arrange
    const breakers = createBreakers({ threshold: 2, halfOpenAfterMs: 60_000 });
    const endpoint = 'webhook:https://hooks.example';
    const orgA = { orgId: 'org_a', endpoint };
    const orgB = { orgId: 'org_b', endpoint };

    // Act
    for (let i = 0; i < 3; i += 1) await breakers.run(orgA, fail).catch(() => undefined);
    const sent = await breakers.run(orgB, ok);

    // Assert
    expect(breakers.state(orgA)).toBe('open');
    expect(sent).toBe('sent');
    expect(breakers.state(orgB)).toBe('closed');
  });
});
