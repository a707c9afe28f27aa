// The EventBridge Lambda handler driven by SQS-batched and direct EventBridge fixtures against a real Redis.
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerJobId } from '../../src/events/ingest.js';
import { fixture } from '../support/fixtures.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

describe('eventbridge handler: CRM domain events into the triggers queue', () => {
  let h: Harness;
  let handler: (event: unknown) => Promise<SQSBatchResponse | { accepted: number }>;
  let orgId: string;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    Object.assign(process.env, {
      NODE_ENV: 'test',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: h.prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      EVENTBRIDGE_SOURCES: 'atlas.crm',
    });
    ({ handler } = (await import('../../handlers/eventbridge/handler.js')) as any);
    ({ orgId } = await h.createOrg('EventBridge Gym'));
  });
  afterAll(() => h.close());

  it('ingests the valid records of an SQS batch and reports each failed one by message id', async () => {
    // Arrange
    const batch = fixture('sqs', 'crm-events-batch');
    for (const record of batch.Records) record.body = record.body.replaceAll('org_fixture', orgId);

    // Act
    const result = (await handler(batch)) as SQSBatchResponse;

    // Assert
    expect(result.batchItemFailures).toEqual(
      expect.arrayContaining([
        { itemIdentifier: '2e1424d4-f796-459a-8184-9c92662be6da' },
        { itemIdentifier: '4a6c1f2d-5b3e-4c7a-9d8e-0f1a2b3c4d5e' },
      ]),
    );
    expect(result.batchItemFailures).toHaveLength(2);
    const created = await h.engine.queues.triggers.getJob(triggerJobId(orgId, 'crm-lead-7f3a'));
    expect(created?.data).toMatchObject({ orgId, type: 'new_lead', lead: { id: 'lead_42' } });
    const tagged = await h.engine.queues.triggers.getJob(
      triggerJobId(orgId, 'eb_3f2e1d0c-b9a8-4765-8432-10fedcba9876'),
    );
    expect(tagged?.data).toMatchObject({ type: 'lead_tagged', lead: { tags: ['vip'] } });
    expect(
      await h.engine.queues.triggers.getJob(triggerJobId('org_doesnotexist', 'crm-lead-other')),
    ).toBeUndefined();
  });

  it('accepts a redelivered record once (the event id is the idempotency key)', async () => {
    const batch = fixture('sqs', 'crm-events-batch');
    const record = { ...batch.Records[0], body: batch.Records[0].body.replaceAll('org_fixture', orgId) };
    const before = await h.engine.queues.triggers.getJobCounts('waiting');
    const result = (await handler({ Records: [record] })) as SQSBatchResponse;
    expect(result.batchItemFailures).toEqual([]);
    expect(await h.engine.queues.triggers.getJobCounts('waiting')).toEqual(before);
  });

  it('on a direct invocation, answers the count or throws with the reason so Lambda retries it', async () => {
    const direct = fixture('eventbridge', 'form-submitted', { orgId: 'x' });
    direct.detail.orgId = orgId;
    expect(await handler(direct)).toEqual({ accepted: 1 });
    await expect(handler(fixture('eventbridge', 'malformed-detail'))).rejects.toThrow(
      /invalid detail: detail\.orgId/,
    );
    await expect(handler(fixture('eventbridge', 'unknown-source'))).rejects.toThrow(/not allowed/);
  });
});
