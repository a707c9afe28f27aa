import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/shared/errors.js';
import { createNodeRunner } from '../../src/nodes/runner.js';
import { createHttpClient } from '../../src/actions/http-client.js';
import { createWebhookAction } from '../../src/actions/webhook.js';
import { startFakeServer, type FakeServer } from '../support/fake-http.js';
import { startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

describe('the effect ledger', () => {
  let h: Harness;
  let server: FakeServer;

  beforeAll(async () => {
    server = await startFakeServer();
    h = await startHarness({ env: { WEBHOOK_ALLOWLIST: '127.0.0.1' } });
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  it('never repeats an effect when the step is retried after the effect succeeded', async () => {
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Once',
      nodes: [trigger(), { id: 'hook', type: 'webhook_call', params: { url: `${server.url}/once` } }],
      edges: chain('start', 'hook'),
    });
    const { engine } = h;
    // The node workers must not take the job: this test runs it by hand, with a store whose first commit fails.
    await engine.queues.actionsFor(orgId).pause();
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'once' } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId, ['running']);
    let commits = 0;
    const flaky = {
      ...engine.executions,
      commit: async (...args: Parameters<typeof engine.executions.commit>) => {
        commits += 1;
        if (commits === 1) throw new RetryableError('redis went away');
        return engine.executions.commit(...args);
      },
    };
    const run = createNodeRunner({
      executions: flaky,
      workflows: engine.workflows,
      leads: engine.leads,
      waiters: engine.waiters,
      org: engine.orgSettings,
      actions: {
        webhook_call: createWebhookAction({
          http: createHttpClient({ allowlist: ['127.0.0.1'], timeoutMs: 5000 }),
        }),
      },
      enqueue: async () => {},
      finalize: engine.lifecycle.finalize,
    });
    const job = {
      orgId,
      executionId: execution.id,
      workflowId,
      version: 1,
      nodeId: 'hook',
      iteration: 0,
      arms: [],
    };

    await expect(run(job, { attemptsMade: 0, maxAttempts: 3 })).rejects.toThrow('redis went away');
    const second = await run(job, { attemptsMade: 1, maxAttempts: 3 });

    expect(second.status).toBe('completed');
    expect(server.requests.filter((r) => r.url === '/once')).toHaveLength(1);
    const steps = (await h.call('GET', `/v1/executions/${execution.id}`, undefined, apiKey)).body.steps;
    expect(steps.at(-1)).toMatchObject({
      nodeId: 'hook',
      status: 'completed',
      effect: 'replayed',
      attempt: 2,
    });
    expect(server.requests[0]!.headers['idempotency-key']).toBe(`${execution.id}:hook:0`);
  });
});
