// What the debugger and the dead-letter browser call: search by lead, retry, replay, audit, filters, bulk actions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer } from '../support/fake-http.js';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, settledExecution, trigger, refusedStarts } from '../support/workflows.js';

const flow = (url: string) => ({
  name: 'Notify then tag',
  nodes: [
    trigger(),
    { id: 'mark', type: 'update_lead', params: { fields: { stage: 'new' } } },
    { id: 'notify', type: 'webhook_call', params: { url } },
    { id: 'tag', type: 'add_tag', params: { tag: 'notified' } },
  ],
  edges: chain('start', 'mark', 'notify', 'tag'),
});

describe('debugger API', () => {
  let h: Harness;
  let server: FakeServer;

  beforeAll(async () => {
    server = await startFakeServer();
    h = await startHarness({ env: { WEBHOOK_ALLOWLIST: '127.0.0.1', JOB_ATTEMPTS: '2' } });
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  it("finds a lead's executions by email, phone or lead id, for its own organization only", async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 200 });
    const workflowId = await publishWorkflow(h, apiKey, flow(`${server.url}/ok`));
    await h.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'crm-42', email: 'Sarah@Example.com', phone: '+44 7700 900123' } },
      apiKey,
    );
    const execution = await settledExecution(h, apiKey, workflowId);

    for (const query of ['email=sarah%40example.com', 'phone=%2B447700900123', 'leadId=crm-42']) {
      const found = await h.call('GET', `/v1/executions?${query}`, undefined, apiKey);
      expect(found.body.executions.map((e: any) => e.id)).toEqual([execution.id]);
    }
    const recent = await h.call('GET', '/v1/executions?status=completed', undefined, apiKey);
    expect(recent.body.executions.map((e: any) => e.id)).toEqual([execution.id]);
    expect(
      (await h.call('GET', '/v1/executions?email=nobody%40example.com', undefined, apiKey)).body.executions,
    ).toEqual([]);
    const other = await h.createOrg('Other');
    expect(
      (await h.call('GET', '/v1/executions?leadId=crm-42', undefined, other.apiKey)).body.executions,
    ).toEqual([]);
    const both = await h.call('GET', '/v1/executions?leadId=a&email=b%40c.de', undefined, apiKey);
    expect(both.status).toBe(400);
  });

  it('replays from a chosen node as a new execution linked to the first, with the earlier outputs', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 200 });
    const workflowId = await publishWorkflow(h, apiKey, flow(`${server.url}/replay`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-r' } }, apiKey);
    const first = await settledExecution(h, apiKey, workflowId);
    const calls = server.requests.filter((r) => r.url === '/replay').length;

    const replayed = await h.call(
      'POST',
      `/v1/executions/${first.id}/replay`,
      { fromNode: 'notify' },
      apiKey,
    );

    expect(replayed.status).toBe(201);
    expect(replayed.body).toMatchObject({ replayOf: first.id, fromNode: 'notify' });
    const second = await eventually(async () => {
      const r = await h.call('GET', `/v1/executions/${replayed.body.id}`, undefined, apiKey);
      return r.body.status === 'completed' ? r.body : undefined;
    });
    expect(second).toMatchObject({
      workflowId,
      version: 1,
      leadId: 'lead-r',
      replayOf: { executionId: first.id, nodeId: 'notify' },
    });
    expect(second.steps.map((s: any) => s.nodeId)).toEqual(['start', 'notify', 'tag']);
    expect(second.steps[0].note).toBe(`replay of ${first.id} from notify`);
    expect(server.requests.filter((r) => r.url === '/replay')).toHaveLength(calls + 1);
    const byLead = await h.call('GET', '/v1/executions?leadId=lead-r', undefined, apiKey);
    expect(byLead.body.executions.map((e: any) => e.id)).toEqual([second.id, first.id]);
    const audit = await h.call('GET', '/v1/audit', undefined, apiKey);
    expect(audit.body.entries[0]).toMatchObject({
      action: 'execution.replay',
      actor: 'org-api-key',
      target: first.id,
      detail: { fromNode: 'notify', newExecutionId: second.id },
    });

    const unknown = await h.call('POST', `/v1/executions/${first.id}/replay`, { fromNode: 'nope' }, apiKey);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.issues[0].path).toBe('fromNode');
    const other = await h.createOrg('Other');
    const foreign = await h.call(
      'POST',
      `/v1/executions/${first.id}/replay`,
      { fromNode: 'tag' },
      other.apiKey,
    );
    expect(foreign.status).toBe(404);
  });

  it('refuses to replay while the lead has a running execution of a once_active workflow, and enrols the replay', async () => {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Tag, wait a week, tag again',
      nodes: [
        trigger(),
        { id: 'tag', type: 'add_tag', params: { tag: 'welcomed' } },
        { id: 'pause', type: 'wait', params: { duration: 'P7D' } },
        { id: 'again', type: 'add_tag', params: { tag: 'a-week-on' } },
      ],
      edges: chain('start', 'tag', 'pause', 'again'),
    });
    const post = (id: string) =>
      h.call('POST', '/v1/events', { id, type: 'new_lead', lead: { id: 'lead-once' } }, apiKey);
    await post('first');
    const waiting = await settledExecution(h, apiKey, workflowId, ['waiting']);
    const replay = () => h.call('POST', `/v1/executions/${waiting.id}/replay`, { fromNode: 'tag' }, apiKey);

    const refused = await replay();

    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(`lead already has an active execution (${waiting.id})`);
    expect((await h.call('POST', `/v1/executions/${waiting.id}/cancel`, undefined, apiKey)).status).toBe(200);
    const replayed = await replay();
    expect(replayed.status).toBe(201);
    await eventually(async () => {
      const r = await h.call('GET', `/v1/executions/${replayed.body.id}`, undefined, apiKey);
      return r.body.status === 'waiting' ? true : undefined;
    });
    // The replay holds the lead now: a new event for it starts nothing.
    await post('second');
    await refusedStarts(h, waiting.orgId, workflowId);
    const listed = await h.call('GET', `/v1/workflows/${workflowId}/executions`, undefined, apiKey);
    expect(listed.body.executions.map((e: any) => e.id).sort()).toEqual(
      [waiting.id, replayed.body.id].sort(),
    );
  });

  it('retries the dead-lettered step of a failed execution, and says when there is nothing to retry', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 500 });
    const workflowId = await publishWorkflow(h, apiKey, flow(`${server.url}/flaky`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-f' } }, apiKey);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);
    await eventually(async () => {
      const r = await h.call('GET', `/v1/dead-letter?executionId=${failed.id}`, undefined, apiKey);
      return r.body.entries.length === 1 ? true : undefined;
    });

    server.reply({ status: 200 });
    const retried = await h.call('POST', `/v1/executions/${failed.id}/retry`, undefined, apiKey);
    expect(retried.status).toBe(202);
    expect(retried.body.retried).toEqual([expect.objectContaining({ nodeId: 'notify' })]);
    await settledExecution(h, apiKey, workflowId, ['completed']);
    const again = await h.call('POST', `/v1/executions/${failed.id}/retry`, undefined, apiKey);
    expect(again.status).toBe(409);
    const audit = await h.call('GET', '/v1/audit', undefined, apiKey);
    expect(audit.body.entries[0]).toMatchObject({ action: 'execution.retry', target: failed.id });
  });

  it('refuses to retry a failed execution while a replay of it holds the lead, and retries once it ended', async () => {
    const { apiKey } = await h.createOrg();
    server.reply({ status: 500 });
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Notify, then wait a week',
      nodes: [
        trigger(),
        { id: 'notify', type: 'webhook_call', params: { url: `${server.url}/held` } },
        { id: 'pause', type: 'wait', params: { duration: 'P7D' } },
      ],
      edges: chain('start', 'notify', 'pause'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-held' } }, apiKey);
    const failed = await settledExecution(h, apiKey, workflowId, ['failed']);
    await eventually(async () => {
      const r = await h.call('GET', `/v1/dead-letter?executionId=${failed.id}`, undefined, apiKey);
      return r.body.entries.length === 1 ? true : undefined;
    });
    server.reply({ status: 200 });
    const replayed = await h.call(
      'POST',
      `/v1/executions/${failed.id}/replay`,
      { fromNode: 'notify' },
      apiKey,
    );
    expect(replayed.status).toBe(201);
    await eventually(async () => {
      const r = await h.call('GET', `/v1/executions/${replayed.body.id}`, undefined, apiKey);
      return r.body.status === 'waiting' ? true : undefined;
    });

    const refused = await h.call('POST', `/v1/executions/${failed.id}/retry`, undefined, apiKey);

    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(
      `lead already has an active execution (${replayed.body.id})`,
    );
    const stillFailed = await h.call('GET', `/v1/executions/${failed.id}`, undefined, apiKey);
    expect(stillFailed.body.status).toBe('failed');
    await h.call('POST', `/v1/executions/${replayed.body.id}/cancel`, undefined, apiKey);
    const retried = await h.call('POST', `/v1/executions/${failed.id}/retry`, undefined, apiKey);
    expect(retried.status).toBe(202);
    await eventually(async () => {
      const r = await h.call('GET', `/v1/executions/${failed.id}`, undefined, apiKey);
      return r.body.status === 'waiting' ? true : undefined;
    });
  });

  it('filters dead letters and retries or discards them in bulk, refusing entries of other organizations', async () => {
    const { apiKey } = await h.createOrg();
    const other = await h.createOrg('Other');
    server.reply({ status: 404 });
    const workflowId = await publishWorkflow(h, apiKey, flow(`${server.url}/gone`));
    await publishWorkflow(h, other.apiKey, flow(`${server.url}/gone`));
    await h.call(
      'POST',
      '/v1/events',
      { events: [1, 2, 3].map((i) => ({ type: 'new_lead', lead: { id: `g${i}` } })) },
      apiKey,
    );
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'theirs' } }, other.apiKey);
    const mine = await eventually(async () => {
      const r = await h.call(
        'GET',
        `/v1/dead-letter?code=http_404&workflowId=${workflowId}&queue=actions`,
        undefined,
        apiKey,
      );
      return r.body.entries.length === 3 ? r.body.entries : undefined;
    });
    const theirs = await eventually(async () => {
      const r = await h.call('GET', '/v1/dead-letter', undefined, other.apiKey);
      return r.body.entries.length === 1 ? r.body.entries : undefined;
    });
    expect((await h.call('GET', '/v1/dead-letter?code=http_500', undefined, apiKey)).body.entries).toEqual(
      [],
    );
    expect((await h.call('GET', '/v1/dead-letter?queue=wait', undefined, apiKey)).body.entries).toEqual([]);

    const bulk = await h.call(
      'POST',
      '/v1/dead-letter/bulk',
      { action: 'discard', ids: [...mine.map((e: any) => e.id), theirs[0].id] },
      apiKey,
    );

    expect(bulk.status).toBe(200);
    expect(bulk.body.results.filter((r: any) => r.ok)).toHaveLength(3);
    expect(bulk.body.results.at(-1)).toMatchObject({
      id: theirs[0].id,
      ok: false,
      error: { code: 'not_found' },
    });
    expect((await h.call('GET', '/v1/dead-letter', undefined, apiKey)).body.entries).toEqual([]);
    expect((await h.call('GET', '/v1/dead-letter', undefined, other.apiKey)).body.entries).toHaveLength(1);
    const audit = await h.call('GET', '/v1/audit', undefined, apiKey);
    expect(audit.body.entries.filter((e: any) => e.action === 'dead-letter.discard')).toHaveLength(3);
    expect((await h.call('GET', '/v1/audit', undefined, other.apiKey)).body.entries).toEqual([]);
    const badBulk = await h.call('POST', '/v1/dead-letter/bulk', { action: 'explode', ids: [] }, apiKey);
    expect(badBulk.status).toBe(400);
  });

  it("answers ids that name BullMQ's own keys of the dead-letter queue as missing entries, alone and in bulk", async () => {
    // Arrange: a parked entry, so the queue's stream, lists and counters exist
    const { apiKey } = await h.createOrg();
    server.reply({ status: 404 });
    const workflowId = await publishWorkflow(h, apiKey, flow(`${server.url}/internal`));
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'k1' } }, apiKey);
    const [entry] = await eventually(async () => {
      const r = await h.call('GET', `/v1/dead-letter?workflowId=${workflowId}`, undefined, apiKey);
      return r.body.entries.length === 1 ? r.body.entries : undefined;
    });
    const dlq = h.engine.queues['dead-letter'];
    expect(await h.engine.redis.type(dlq.keys.events!)).toBe('stream');
    expect(await h.engine.redis.type(dlq.keys.wait!)).toBe('list');
    const ids = [
      'events',
      'wait',
      'id',
      'meta',
      'marker',
      `${entry.id}:logs`,
      'de:x',
      'actions.a:b',
      'nowhere.x',
    ];

    // Act
    const answers = [];
    for (const id of ids) {
      for (const token of [apiKey, ADMIN_TOKEN]) {
        answers.push(await h.call('GET', `/v1/dead-letter/${encodeURIComponent(id)}`, undefined, token));
        answers.push(await h.call('DELETE', `/v1/dead-letter/${encodeURIComponent(id)}`, undefined, token));
        answers.push(
          await h.call('POST', `/v1/dead-letter/${encodeURIComponent(id)}/retry`, undefined, token),
        );
      }
    }
    const bulk = await h.call('POST', '/v1/dead-letter/bulk', { action: 'discard', ids }, ADMIN_TOKEN);

    // Assert
    expect(answers.map((r) => [r.status, r.body.error?.code])).toEqual(answers.map(() => [404, 'not_found']));
    expect(bulk.status).toBe(200);
    expect(bulk.body.results).toEqual(
      ids.map((id) => ({
        id,
        ok: false,
        error: { code: 'not_found', message: `dead-letter entry ${id} not found` },
      })),
    );
    expect((await h.call('GET', `/v1/dead-letter/${entry.id}`, undefined, apiKey)).status).toBe(200);
    expect(await h.engine.redis.type(dlq.keys.events!)).toBe('stream');
  });

  it("records a cancel in the audit trail, and lets the admin read an organization's trail", async () => {
    const { orgId, apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Long wait',
      nodes: [
        trigger(),
        { id: 'pause', type: 'wait', params: { duration: 'P1D' } },
        { id: 'tag', type: 'add_tag', params: { tag: 'x' } },
      ],
      edges: chain('start', 'pause', 'tag'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-w' } }, apiKey);
    const waiting = await settledExecution(h, apiKey, workflowId, ['waiting']);

    expect((await h.call('POST', `/v1/executions/${waiting.id}/cancel`, undefined, apiKey)).status).toBe(200);

    const audit = await h.call('GET', `/v1/audit?orgId=${orgId}`, undefined, ADMIN_TOKEN);
    expect(audit.body.entries).toEqual([
      expect.objectContaining({ action: 'execution.cancel', target: waiting.id }),
    ]);
  });
});
