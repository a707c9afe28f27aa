// The dashboard's data: queue throughput buckets and workflow figures kept by the workers, and GET /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, trigger } from '../support/workflows.js';

const tagFlow = {
  name: 'Tag everyone',
  settings: { enrollment: 'always' },
  nodes: [
    trigger(),
    // A message goes through the actions queue (an internal first node would run inside the trigger job).
    { id: 'tag', type: 'send_email', params: { subject: 'Hi', body: 'Welcome' } },
    { id: 'done', type: 'add_tag', params: { tag: 'done' } },
  ],
  edges: chain('start', 'tag', 'done'),
};

describe('metrics', () => {
  let h: Harness;
  let org: { orgId: string; apiKey: string };
  let workflowId: string;

  beforeAll(async () => {
    h = await startHarness();
    org = await h.createOrg();
    workflowId = await publishWorkflow(h, org.apiKey, tagFlow);
    const events = Array.from({ length: 20 }, (_, i) => ({
      type: 'new_lead',
      lead: { id: `lead-${i}`, email: `lead-${i}@example.com` },
    }));
    await h.call('POST', '/v1/events', { events }, org.apiKey);
    await eventually(async () => {
      const r = await h.call('GET', '/v1/metrics/workflows', undefined, org.apiKey);
      return r.body.workflows[0]?.completed === 20 ? true : undefined;
    }, 20_000);
  });
  afterAll(() => h.close());

  it('counts processed jobs per queue in 10 s buckets with their mean processing time', async () => {
    const response = await eventually(async () => {
      const r = await h.call('GET', '/v1/metrics/queues?window=300', undefined, ADMIN_TOKEN);
      const actions = r.body.queues.find((q: any) => q.name === 'actions');
      return actions.processed.completed >= 20 ? r : undefined;
    });

    expect(response.body).toMatchObject({ window: 300, bucketSeconds: 10 });
    const actions = response.body.queues.find((q: any) => q.name === 'actions');
    const triggers = response.body.queues.find((q: any) => q.name === 'triggers');
    expect(actions.series.t).toHaveLength(actions.series.completed.length);
    expect(actions.series.t.length).toBeGreaterThanOrEqual(30);
    expect(actions.series.completed.reduce((a: number, b: number) => a + b, 0)).toBe(20);
    expect(triggers.series.completed.reduce((a: number, b: number) => a + b, 0)).toBe(20);
    expect(actions.series.avgMs.some((ms: number | null) => ms !== null && ms >= 0)).toBe(true);
    expect(actions).toMatchObject({ waiting: 0, active: 0, workers: 1 });
  });

  it('reports per workflow started, completed and step latency percentiles', async () => {
    const response = await h.call('GET', '/v1/metrics/workflows', undefined, org.apiKey);

    expect(response.body.workflows).toEqual([
      expect.objectContaining({
        id: workflowId,
        name: 'Tag everyone',
        started: 20,
        completed: 20,
        failed: 0,
        exited: 0,
        active: 0,
        stepLatency: expect.objectContaining({ count: 40 }),
      }),
    ]);
    const { p50, p95, p99 } = response.body.workflows[0].stepLatency;
    expect(p50).toBeGreaterThanOrEqual(0);
    expect(p95).toBeGreaterThanOrEqual(p50);
    expect(p99).toBeGreaterThanOrEqual(p95);
  });

  it('keeps organizations apart and makes the admin name one', async () => {
    const other = await h.createOrg('Other');
    expect((await h.call('GET', '/v1/metrics/workflows', undefined, other.apiKey)).body.workflows).toEqual(
      [],
    );
    const peek = await h.call('GET', `/v1/metrics/workflows?orgId=${org.orgId}`, undefined, other.apiKey);
    expect(peek.status).toBe(404);
    const admin = await h.call('GET', '/v1/metrics/workflows', undefined, ADMIN_TOKEN);
    expect(admin.status).toBe(400);
    expect(admin.body.error.issues[0].path).toBe('orgId');
    const named = await h.call('GET', `/v1/metrics/workflows?orgId=${org.orgId}`, undefined, ADMIN_TOKEN);
    expect(named.body.workflows[0].completed).toBe(20);
    expect((await h.call('GET', '/v1/metrics/queues?window=5', undefined, ADMIN_TOKEN)).status).toBe(400);
    // Queue figures count every organization's jobs: an organization's key sees none of them.
    const queues = await h.call('GET', '/v1/metrics/queues', undefined, org.apiKey);
    expect(queues.status).toBe(403);
    expect(queues.body).not.toHaveProperty('queues');
  });

  it('serves Prometheus text to the admin token only', async () => {
    expect((await h.call('GET', '/metrics')).status).toBe(401);
    expect((await h.call('GET', '/metrics', undefined, org.apiKey)).status).toBe(403);
    const response = await h.call('GET', '/metrics', undefined, ADMIN_TOKEN);

    expect(response.status).toBe(200);
    expect(response.headers?.['content-type']).toContain('text/plain');
    const text = response.body as string;
    expect(text).toMatch(/^atlas_queue_processed_total\{queue="actions",outcome="completed"\} (\d+)$/m);
    expect(Number(/queue="actions",outcome="completed"\} (\d+)/.exec(text)![1])).toBeGreaterThanOrEqual(20);
    expect(text).toContain(
      `atlas_workflow_executions_total{org="${org.orgId}",workflow="${workflowId}",status="completed"} 20`,
    );
    expect(text).toMatch(/atlas_queue_jobs\{queue="actions",state="waiting"\} 0/);
    expect(text).toMatch(
      new RegExp(
        `atlas_step_latency_seconds\\{org="${org.orgId}",workflow="${workflowId}",quantile="0.99"\\}`,
      ),
    );
    expect(text).toContain('# TYPE atlas_queue_processed_total counter');
  });
});

describe('metrics with METRICS_PUBLIC', () => {
  it('serves GET /metrics without a token', async () => {
    const h = await startHarness({ workers: false, env: { METRICS_PUBLIC: 'true' } });
    try {
      const response = await h.call('GET', '/metrics');
      expect(response.status).toBe(200);
      expect(response.body).toContain('atlas_queue_jobs');
    } finally {
      await h.close();
    }
  });
});
