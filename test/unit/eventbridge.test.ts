import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromEventBridge, RecordRejected } from '../../src/events/eventbridge.js';
import { emfRecord, queueMetrics } from '../../src/observability/queue-metrics.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/events/eventbridge/${name}.json`, import.meta.url), 'utf8'));

describe('CRM domain events from EventBridge', () => {
  it('maps a Lead Created event to new_lead with the organization and lead of its detail', () => {
    // Act
    const { orgId, event } = fromEventBridge(fixture('lead-created'), ['atlas.crm']);

    // Assert
    expect(orgId).toBe('org_fixture');
    expect(event).toEqual({
      id: 'crm-lead-7f3a',
      type: 'new_lead',
      occurredAt: '2026-03-02T09:15:00Z',
      lead: { id: 'lead_42', email: 'sarah@example.com', firstName: 'Sarah', source: 'instagram' },
      data: { campaign: 'spring' },
    });
  });

  it('uses the EventBridge event id and time when the detail has none', () => {
    const raw = fixture('form-submitted');
    const { event } = fromEventBridge(raw, ['atlas.crm']);
    expect(event).toMatchObject({ id: `eb_${raw.id}`, type: 'form_submitted', occurredAt: raw.time });
  });

  it.each([
    ['malformed-detail', /invalid detail: detail\.orgId/],
    ['unknown-source', /source evil\.app is not allowed/],
    ['unknown-detail-type', /detail-type Lead Exploded maps to no event type/],
  ])('rejects %s with its reason', (name, reason) => {
    expect(() => fromEventBridge(fixture(name), ['atlas.crm'])).toThrow(RecordRejected);
    expect(() => fromEventBridge(fixture(name), ['atlas.crm'])).toThrow(reason);
  });
});

describe('queue metrics in CloudWatch embedded metric format', () => {
  it('sums the backlog of trigger and action partitions and reports the dead-letter depth', () => {
    const queue = (name: string, waiting: number, prioritized = 0, delayed = 0) => ({
      name,
      waiting,
      prioritized,
      delayed,
      active: 1,
      completed: 0,
      failed: 0,
      workers: 1,
    });
    const metrics = queueMetrics([
      queue('triggers', 5),
      queue('actions-0', 7, 2),
      queue('actions-1', 1),
      queue('wait', 100, 0, 40),
      queue('dead-letter', 3),
    ]);
    expect(metrics).toEqual({ Backlog: 15, DeadLetterDepth: 3, Delayed: 40, Active: 5 });

    const record = emfRecord(metrics, 'AtlasAutomations', 'prod', 1700000000000);
    expect(record._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: 'AtlasAutomations',
      Dimensions: [['Stage']],
      Metrics: ['Backlog', 'DeadLetterDepth', 'Delayed', 'Active'].map((Name) => ({ Name, Unit: 'Count' })),
    });
    expect(record).toMatchObject({ Stage: 'prod', Backlog: 15, DeadLetterDepth: 3 });
  });
});
