import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/actions/limits.js';
import { startHarness, type Harness } from '../support/harness.js';

describe('the limiter script (real Redis, a controlled clock)', () => {
  let h: Harness;
  let clock = 1_000_000;
  let limiter: ReturnType<typeof createLimiter>;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    limiter = createLimiter(h.engine.redis, h.engine.keys, {
      rates: { send_sms: { limit: 2, windowMs: 1000 } },
      caps: { sms: { limit: 3, windowMs: 10_000 } },
      now: () => clock,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const acquire = (orgId: string, key: string, leadId?: string) =>
    limiter.acquire({
      orgId,
      actionType: 'send_sms',
      key,
      ...(leadId ? { leadId, channel: 'sms' as const } : {}),
    });

  it('reserves slots in arrival order at exactly the limit', async () => {
    // Act
    const decisions = [];
    for (const key of ['a', 'b', 'c', 'd', 'e']) decisions.push(await acquire('org-rate', key));

    // Assert
    expect(decisions.map((d) => d.at - clock)).toEqual([0, 0, 1000, 1000, 2000]);
    expect(decisions.map((d) => d.reason ?? 'go')).toEqual([
      'go',
      'go',
      'rate_limited',
      'rate_limited',
      'rate_limited',
    ]);
  });

  it('a step keeps its slot when it comes back or is retried, and goes at its time', async () => {
    // Arrange
    await acquire('org-keep', 'x');
    await acquire('org-keep', 'y');
    const waiting = await acquire('org-keep', 'z');

    // Act
    const early = await acquire('org-keep', 'z');
    clock += 1000;
    const onTime = await acquire('org-keep', 'z');
    const again = await acquire('org-keep', 'z');

    // Assert
    expect(waiting.delayMs).toBe(1000);
    expect(early.at).toBe(waiting.at);
    expect(onTime).toMatchObject({ delayMs: 0, at: waiting.at });
    expect(again.delayMs).toBe(0);
  });

  it('caps a lead across keys, waiting for the oldest to leave the window, without counting a retry twice', async () => {
    // Arrange: three messages to one lead, spaced so the rate limit never binds
    const sent = [];
    for (const key of ['m1', 'm2', 'm3']) {
      sent.push(await acquire('org-cap', key, 'lead-1'));
      clock += 2000;
    }

    // Act
    const retried = await acquire('org-cap', 'm3', 'lead-1');
    const fourth = await acquire('org-cap', 'm4', 'lead-1');
    const otherLead = await acquire('org-cap', 'm5', 'lead-2');

    // Assert
    expect(sent.every((d) => d.delayMs === 0)).toBe(true);
    expect(retried.delayMs).toBe(0);
    expect(fourth).toMatchObject({ reason: 'frequency_cap', at: sent[0]!.at + 10_000 });
    expect(otherLead.delayMs).toBe(0);
  });

  it('keeps organizations apart', async () => {
    // Act
    await acquire('org-a', '1');
    await acquire('org-a', '2');
    const b = await acquire('org-b', '1');

    // Assert
    expect(b.delayMs).toBe(0);
  });
});
