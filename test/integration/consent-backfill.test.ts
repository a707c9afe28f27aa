// The upgrade step for deployments that ran the old Twilio webhook: its `consent_<channel>` lead fields are applied
// through the consent store and deleted (src/consent/backfill.ts), on a real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillReplyConsent, type OrgBackfill } from '../../src/consent/backfill.js';
import { startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

const repliedAt = '2026-11-20T10:00:00.000Z';

describe('consent backfill of the old webhook fields', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  /** A lead as the old webhook left it: created from the phone number, its reply in `consent_<channel>`. */
  async function leadWithOldReply(
    orgId: string,
    phone: string,
    channel: 'sms' | 'whatsapp',
    consent: boolean,
    fields: Record<string, unknown> = {},
  ): Promise<string> {
    const leadId = (await h.engine.leads.upsert(orgId, { phone, ...fields }))!;
    await h.engine.leads.setFields(orgId, leadId, {
      [`consent_${channel}`]: consent,
      [`consent_${channel}_updatedAt`]: repliedAt,
    });
    return leadId;
  }

  const backfill = () => backfillReplyConsent(h.engine);
  const reportOf = (reports: OrgBackfill[], orgId: string) => reports.find((r) => r.orgId === orgId)!;

  /** The organization's lead hashes, suppression lists and date indexes, as stored. */
  async function leadData(orgId: string): Promise<Record<string, unknown>> {
    const redis = h.engine.redis;
    const snapshot: Record<string, unknown> = {};
    for (const pattern of [`${h.prefix}:{l.${orgId}.*`, `${h.prefix}:{o.${orgId}}:*`]) {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of found) {
          const type = await redis.type(key);
          if (type === 'hash') snapshot[key] = await redis.hgetall(key);
          if (type === 'set') snapshot[key] = (await redis.smembers(key)).sort();
        }
      } while (cursor !== '0');
    }
    return snapshot;
  }

  it('opts out the numbers whose "Stop." the old webhook only wrote down: the next send_whatsapp is skipped', async () => {
    // Arrange
    const { orgId, apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'WhatsApp',
      nodes: [trigger(), { id: 'wa', type: 'send_whatsapp', params: { body: 'Hi' } }],
      edges: chain('start', 'wa'),
    });
    const waPhone = '+447700900901';
    const smsPhone = '+447700900902';
    const waLead = await leadWithOldReply(orgId, waPhone, 'whatsapp', false);
    const smsLead = await leadWithOldReply(orgId, smsPhone, 'sms', false);
    const datedBefore = await h.engine.redis.smembers(
      h.engine.keys.dateIndex(orgId, 'consent_whatsapp_updatedAt', '2026-11-20'),
    );

    // Act
    const report = reportOf(await backfill(), orgId);
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { phone: waPhone } }, apiKey);
    const next = await settledExecution(h, apiKey, workflowId);

    // Assert
    expect(report).toMatchObject({
      leadsScanned: 2,
      leadsMigrated: 2,
      outcomes: { sms: { opted_out: 1 }, whatsapp: { opted_out: 1 } },
    });
    expect(next.steps.find((s: any) => s.nodeId === 'wa')).toMatchObject({
      status: 'skipped',
      output: { reason: 'the lead opted out of whatsapp (whatsappConsent is false)' },
    });
    const sms = await h.engine.leads.get(orgId, smsLead);
    expect(await h.engine.consent.refusal(orgId, 'sms', sms, smsPhone, undefined)).toBe(
      'the lead opted out of sms (smsConsent is false)',
    );
    expect(await h.engine.consent.isSuppressed(orgId, 'sms', smsPhone)).toBe(true);
    expect(await h.engine.consent.isSuppressed(orgId, 'whatsapp', waPhone)).toBe(true);
    expect(await h.engine.leads.get(orgId, waLead)).toMatchObject({
      whatsappConsent: false,
      whatsappConsentSource: 'whatsapp_reply_backfill',
      whatsappConsentAt: repliedAt,
    });
    expect(await h.engine.leads.get(orgId, waLead)).not.toHaveProperty('consent_whatsapp');
    expect(sms).not.toHaveProperty('consent_sms');
    expect(sms).not.toHaveProperty('consent_sms_updatedAt');
    expect(datedBefore).toEqual([waLead]);
    expect(
      await h.engine.redis.smembers(
        h.engine.keys.dateIndex(orgId, 'consent_whatsapp_updatedAt', '2026-11-20'),
      ),
    ).toEqual([]);
  });

  it('keeps a lead that says smsConsent: false opted out when its old field says it opted in', async () => {
    // Arrange
    const { orgId } = await h.createOrg();
    const phone = '+447700900903';
    const leadId = await leadWithOldReply(orgId, phone, 'sms', true, { smsConsent: false });

    // Act
    const report = reportOf(await backfill(), orgId);

    // Assert
    expect(report.outcomes.sms).toMatchObject({ kept_opted_out: 1, opted_in: 0 });
    const lead = await h.engine.leads.get(orgId, leadId);
    expect(lead).toMatchObject({ smsConsent: false });
    expect(lead).not.toHaveProperty('consent_sms');
    expect(await h.engine.consent.refusal(orgId, 'sms', lead, phone, undefined)).toBe(
      'the lead opted out of sms (smsConsent is false)',
    );
  });

  it('changes nothing when run a second time', async () => {
    // Arrange
    const { orgId } = await h.createOrg();
    await leadWithOldReply(orgId, '+447700900904', 'sms', false);
    await leadWithOldReply(orgId, '+447700900905', 'whatsapp', true);
    await leadWithOldReply(orgId, '+447700900906', 'sms', true, { smsConsent: false });
    const first = reportOf(await backfill(), orgId);
    const afterFirst = await leadData(orgId);

    // Act
    const second = reportOf(await backfill(), orgId);

    // Assert
    expect(first.leadsMigrated).toBe(3);
    expect(second.leadsScanned).toBe(3);
    expect(second.leadsMigrated).toBe(0);
    const counted = Object.values(second.outcomes).flatMap((counts) => Object.values(counts));
    expect(counted.filter((count) => count !== 0)).toEqual([]);
    expect(await leadData(orgId)).toEqual(afterFirst);
  });

  it('leaves leads without the old fields as they were', async () => {
    // Arrange
    const { orgId } = await h.createOrg();
    await h.engine.leads.upsert(orgId, { phone: '+447700900907', smsConsent: true, birthday: '1990-04-01' });
    await h.engine.leads.upsert(orgId, { email: 'member@example.com', whatsappConsent: false });
    const before = await leadData(orgId);

    // Act
    const report = reportOf(await backfill(), orgId);

    // Assert
    expect(report).toMatchObject({ leadsScanned: 2, leadsMigrated: 0 });
    expect(await leadData(orgId)).toEqual(before);
  });
});
