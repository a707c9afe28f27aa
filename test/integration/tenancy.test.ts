import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer } from '../support/fake-http.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, executionsOf, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

describe('organizations never see or trigger each other', () => {
  let h: Harness;
  let server: FakeServer;
  let a: { apiKey: string; orgId: string };
  let b: { apiKey: string; orgId: string };
  let workflowId: string;
  let executionId: string;
  let deadLetterId: string;

  beforeAll(async () => {
    server = await startFakeServer();
    server.reply({ status: 400 });
    h = await startHarness({ env: { WEBHOOK_ALLOWLIST: '127.0.0.1' } });
    a = await h.createOrg('Gym A');
    b = await h.createOrg('Gym B');
    workflowId = await publishWorkflow(h, a.apiKey, {
      name: 'A only',
      settings: { enrollment: 'always' },
      nodes: [
        trigger(),
        { id: 'tag', type: 'add_tag', params: { tag: 'a-only' } },
        { id: 'hook', type: 'webhook_call', params: { url: `${server.url}/a` } },
      ],
      edges: chain('start', 'tag', 'hook'),
    });
    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'shared-id', email: 'a@example.com' } },
      a.apiKey,
    );
    executionId = (await settledExecution(h, a.apiKey, workflowId, ['failed'])).id;
    deadLetterId = (
      await eventually(async () => {
        const r = await h.call('GET', '/v1/dead-letter', undefined, a.apiKey);
        return r.body.entries[0];
      })
    ).id;
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  it("B cannot read A's workflows, versions, executions, leads or dead letters", async () => {
    const reads = [
      `/v1/workflows/${workflowId}`,
      `/v1/workflows/${workflowId}/versions/1`,
      `/v1/executions/${executionId}`,
      '/v1/leads/shared-id',
      `/v1/dead-letter/${deadLetterId}`,
    ];
    for (const path of reads) {
      const response = await h.call('GET', path, undefined, b.apiKey);
      expect(response.status, path).toBe(404);
    }
    expect((await h.call('GET', '/v1/workflows', undefined, b.apiKey)).body.workflows).toEqual([]);
    expect((await h.call('GET', '/v1/dead-letter', undefined, b.apiKey)).body.entries).toEqual([]);
    expect(
      (await h.call('GET', `/v1/workflows/${workflowId}/executions`, undefined, b.apiKey)).body.executions,
    ).toEqual([]);
  });

  it("B cannot change A's workflows, executions or dead letters", async () => {
    const writes: [string, string, unknown?][] = [
      ['PUT', `/v1/workflows/${workflowId}`, { name: 'hijack', nodes: [trigger()], edges: [] }],
      ['POST', `/v1/workflows/${workflowId}/publish`],
      ['POST', `/v1/workflows/${workflowId}/unpublish`],
      ['POST', `/v1/executions/${executionId}/cancel`],
      ['POST', `/v1/dead-letter/${deadLetterId}/retry`],
      ['DELETE', `/v1/dead-letter/${deadLetterId}`],
    ];
    for (const [method, path, body] of writes) {
      const response = await h.call(method, path, body, b.apiKey);
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    const workflow = await h.call('GET', `/v1/workflows/${workflowId}`, undefined, a.apiKey);
    expect(workflow.body).toMatchObject({ name: 'A only', publishedVersion: 1 });
    expect((await h.call('GET', `/v1/dead-letter/${deadLetterId}`, undefined, a.apiKey)).status).toBe(200);
  });

  it("B's events never start A's workflows, even for a lead with the same id", async () => {
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'shared-id' } }, b.apiKey);
    await new Promise((r) => setTimeout(r, 300));

    expect(await executionsOf(h, a.apiKey, workflowId)).toHaveLength(1);
    expect((await h.call('GET', '/v1/leads/shared-id', undefined, b.apiKey)).body.tags).toEqual([]);
    expect((await h.call('GET', '/v1/leads/shared-id', undefined, a.apiKey)).body.tags).toEqual(['a-only']);
  });
});
