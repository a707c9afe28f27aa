// The web app in Debian's chromium against the real engine (API, workers, Redis): the debugger shows a failed step
// and its retry, the dashboard shows throughput, the dead-letter browser acts in bulk, and bad keys see nothing.
import { writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, signIn, startStack, type Stack } from '../support/browser.js';
import { startFakeServer, type FakeServer } from '../support/fake-http.js';
import { ADMIN_TOKEN, eventually } from '../support/harness.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

const webhookFlow = (url: string) => ({
  name: 'Welcome to the CRM',
  nodes: [
    trigger(),
    { id: 'notify', type: 'webhook_call', params: { url, body: { lead: '{{ lead.id }}' } } },
    { id: 'welcome', type: 'send_sms', params: { body: 'Welcome, {{ lead.firstName }}!' } },
    { id: 'tag', type: 'add_tag', params: { tag: 'welcomed' } },
  ],
  edges: chain('start', 'notify', 'welcome', 'tag'),
});

const burstFlow = {
  name: 'Tag new leads',
  settings: { enrollment: 'always' },
  nodes: [
    trigger(),
    { id: 'hello', type: 'send_email', params: { subject: 'Hi', body: 'Welcome to the gym' } },
    { id: 'tag', type: 'add_tag', params: { tag: 'new' } },
  ],
  edges: chain('start', 'hello', 'tag'),
};

describe('the web app', () => {
  let stack: Stack;
  let server: FakeServer;
  let browser: Browser;
  let org: { orgId: string; apiKey: string };
  const pages: Page[] = [];

  const newPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    pages.push(page);
    return page;
  };

  beforeAll(async () => {
    server = await startFakeServer();
    stack = await startStack({ env: { WEBHOOK_ALLOWLIST: '127.0.0.1', JOB_ATTEMPTS: '2' } });
    browser = await launchChromium();
  });
  // Every test has its own organization, so one test's workflows never start on another's events.
  beforeEach(async () => {
    org = await stack.createOrg('Iron Temple Gym');
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await server?.close();
  });

  it('opens a failed execution found by email, shows the failed node and its error, retries it to completion', async () => {
    server.reply({ status: 500, body: { error: 'crm down' } });
    const workflowId = await publishWorkflow(stack, org.apiKey, webhookFlow(`${server.url}/crm`));
    await stack.call(
      'POST',
      '/v1/events',
      {
        type: 'new_lead',
        lead: { id: 'lead-sarah', email: 'Sarah@Example.com', phone: '+447700900123', firstName: 'Sarah' },
      },
      org.apiKey,
    );
    const failed = await settledExecution(stack, org.apiKey, workflowId, ['failed']);

    const page = await newPage();
    await signIn(page, stack.baseUrl, org.apiKey);
    await page.fill('[data-testid="search-input"]', 'sarah@example.com');
    await page.press('[data-testid="search-input"]', 'Enter');
    await page.waitForSelector(`a[href="/ui/executions/${failed.id}"]`);
    await screenshot(page, 'executions');
    await page.click(`a[href="/ui/executions/${failed.id}"]`);
    await page.waitForSelector('[data-testid="debugger"][data-ready="true"]');

    const notify = page.locator('.react-flow__node [data-node-id="notify"]');
    await expect.poll(() => notify.getAttribute('data-status')).toBe('dead-lettered');
    expect(await notify.textContent()).toContain('http_500');
    expect(await page.locator('[data-node-id="welcome"]').first().getAttribute('data-status')).toBe(
      'skipped',
    );
    expect(await page.textContent('[data-testid="execution-error"]')).toContain('http_500');
    const errors = await page.locator('[data-testid="step-error"]').allTextContents();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('http_500');
    await screenshot(page, 'debugger-failed');

    server.reply({ status: 200, body: { received: true } });
    await page.click('[data-testid="retry-button"]');
    await page.click('[data-testid="confirm-button"]');
    await page.waitForSelector('[data-testid="debugger"][data-status="completed"]', { timeout: 20_000 });
    await expect
      .poll(() => page.locator('.react-flow__node [data-node-id="tag"]').getAttribute('data-status'))
      .toBe('done');
    expect(await notify.getAttribute('data-status')).toBe('done');
    expect(await page.textContent('[data-testid="execution-audit"]')).toContain('execution.retry');
    expect(server.requests.filter((r) => r.url === '/crm')).toHaveLength(3);
    await screenshot(page, 'debugger-retried');

    await page.click('nav >> text=Audit trail');
    await page.waitForSelector('[data-testid="audit"]');
    expect(await page.textContent('[data-testid="audit"]')).toContain(failed.id);
    await screenshot(page, 'audit');
  });

  it('replays a completed execution from a chosen node as a new, linked execution', async () => {
    server.reply({ status: 200 });
    const workflowId = await publishWorkflow(stack, org.apiKey, {
      ...webhookFlow(`${server.url}/replay`),
      name: 'Replayable',
    });
    await stack.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'lead-replay', phone: '+447700900456', firstName: 'Ann' } },
      org.apiKey,
    );
    const first = await settledExecution(stack, org.apiKey, workflowId, ['completed']);

    const page = await newPage();
    await signIn(page, stack.baseUrl, org.apiKey, `/ui/executions/${first.id}`);
    await page.waitForSelector('[data-testid="debugger"][data-ready="true"]');
    await page.selectOption('[data-testid="replay-node"]', 'welcome');
    await page.click('[data-testid="replay-button"]');
    await page.click('[data-testid="confirm-button"]');
    await page.waitForURL(
      (url) => url.pathname.startsWith('/ui/executions/') && !url.pathname.endsWith(first.id),
    );
    await page.waitForSelector('[data-testid="debugger"][data-status="completed"]', { timeout: 20_000 });

    expect(await page.textContent('.exec-header')).toContain(`Replay of ${first.id}`);
    expect(
      await page.locator('.react-flow__node [data-node-id="notify"]').getAttribute('data-status'),
    ).not.toBe('done');
    expect(await page.locator('.react-flow__node [data-node-id="welcome"]').getAttribute('data-status')).toBe(
      'done',
    );
    expect(server.requests.filter((r) => r.url === '/replay')).toHaveLength(1);
    const audit = await stack.call('GET', '/v1/audit', undefined, org.apiKey);
    expect(audit.body.entries[0]).toMatchObject({ action: 'execution.replay', target: first.id });
  });

  it('shows non-zero throughput and workflow figures on the dashboard after a burst of events', async () => {
    const workflowId = await publishWorkflow(stack, org.apiKey, burstFlow);
    const events = Array.from({ length: 60 }, (_, i) => ({
      type: 'new_lead',
      lead: { id: `burst-${i}`, email: `burst-${i}@example.com` },
    }));
    expect((await stack.call('POST', '/v1/events', { events }, org.apiKey)).status).toBe(202);
    await eventually(async () => {
      const r = await stack.call('GET', '/v1/metrics/workflows', undefined, org.apiKey);
      const row = r.body.workflows.find((w: any) => w.id === workflowId);
      return row?.completed === 60 ? row : undefined;
    }, 30_000);

    // The organization sees its workflows' figures, and no queue figures (they count every organization's jobs).
    const page = await newPage();
    await signIn(page, stack.baseUrl, org.apiKey, '/ui/dashboard');
    const row = page.locator(`[data-workflow="${workflowId}"]`);
    await row.waitFor();
    expect(await row.locator('[data-testid="wf-started"]').textContent()).toBe('60');
    expect(await page.locator('[data-testid="queues-admin-only"]').count()).toBe(1);
    expect(await page.locator('[data-testid="queues"]').count()).toBe(0);
    expect(await page.locator('[data-testid="dashboard"] select').count()).toBe(0);

    // The operator sees the queues' throughput.
    const admin = await newPage();
    await signIn(admin, stack.baseUrl, ADMIN_TOKEN, '/ui/dashboard');
    await admin.waitForSelector('[data-testid="dashboard"] .u-wrap');
    const processed = Number(await admin.textContent('[data-testid="processed-actions"]'));
    const rate = Number(await admin.textContent('[data-testid="rate-actions"]'));
    expect(processed).toBeGreaterThanOrEqual(60);
    expect(rate).toBeGreaterThan(0);
    await screenshot(admin, 'dashboard');
  });

  it('draws a workflow version with node types, parameters and edge labels', async () => {
    const workflowId = await publishWorkflow(stack, org.apiKey, {
      name: 'Nurture',
      nodes: [
        trigger(),
        {
          id: 'welcome',
          type: 'send_email',
          params: { subject: 'Welcome, {{ lead.firstName }}', body: 'Hi' },
        },
        { id: 'pause', type: 'wait', params: { duration: 'P1D' } },
        {
          id: 'opened',
          type: 'branch',
          params: { condition: { field: 'lead.tags', op: 'contains', value: 'opened-welcome' } },
        },
        { id: 'nudge', type: 'send_sms', params: { body: 'Your free class is waiting' } },
        { id: 'tag', type: 'add_tag', params: { tag: 'nurtured' } },
      ],
      edges: [
        ...chain('start', 'welcome', 'pause', 'opened'),
        { from: 'opened', to: 'tag', when: 'true' },
        { from: 'opened', to: 'nudge', when: 'false' },
        { from: 'nudge', to: 'tag' },
      ],
    });
    const page = await newPage();
    await signIn(page, stack.baseUrl, org.apiKey, `/ui/workflows/${workflowId}`);
    await page.waitForSelector('.react-flow__node [data-node-id="nudge"]');
    expect(await page.locator('.react-flow__node').count()).toBe(6);
    expect(await page.locator('.react-flow__edge-text').allTextContents()).toEqual(
      expect.arrayContaining(['true', 'false']),
    );
    expect(await page.textContent('[data-node-id="welcome"]')).toContain('Welcome, {{ lead.firstName }}');
    await page.click('.react-flow__node [data-node-id="pause"]');
    expect(await page.textContent('.side')).toContain('P1D');
    await screenshot(page, 'workflow');
  });

  it('filters dead letters by error code, inspects one, and discards them in bulk', async () => {
    server.reply({ status: 404 });
    await publishWorkflow(stack, org.apiKey, { ...webhookFlow(`${server.url}/gone`), name: 'Gone endpoint' });
    await stack.call(
      'POST',
      '/v1/events',
      { events: [1, 2, 3].map((i) => ({ type: 'new_lead', lead: { id: `gone-${i}` } })) },
      org.apiKey,
    );
    await eventually(async () => {
      const r = await stack.call('GET', '/v1/dead-letter?code=http_404', undefined, org.apiKey);
      return r.body.entries.length === 3 ? true : undefined;
    }, 20_000);

    const page = await newPage();
    await signIn(page, stack.baseUrl, org.apiKey, '/ui/dead-letter');
    await page.fill('input[aria-label="Error code"]', 'http_404');
    await expect.poll(() => page.locator('[data-testid="dead-letter-table"] tbody tr').count()).toBe(3);
    await page.locator('[data-testid="dead-letter-table"] tbody tr').first().getByText('Inspect').click();
    expect(await page.textContent('[data-testid="dead-letter-inspector"]')).toContain('http_404');
    await screenshot(page, 'dead-letters');

    await page.check('input[aria-label="Select all"]');
    await page.click('[data-testid="bulk-discard"]');
    await page.click('[data-testid="confirm-button"]');
    await page.waitForSelector('text=The dead-letter queue is empty for these filters.');
    const left = await stack.call('GET', '/v1/dead-letter?code=http_404', undefined, org.apiKey);
    expect(left.body.entries).toEqual([]);
    const audit = await stack.call('GET', '/v1/audit', undefined, org.apiKey);
    expect(audit.body.entries.filter((e: any) => e.action === 'dead-letter.discard')).toHaveLength(3);
  });

  it('shows nothing to a wrong key, and a not-found page for unknown ids and for another organization', async () => {
    const page = await newPage();
    await page.goto(`${stack.baseUrl}/ui/executions`);
    await page.fill('input[name="token"]', 'atl_not-a-real-key');
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="sign-in-error"]');
    expect(await page.locator('[data-testid="who"]').count()).toBe(0);
    expect(await page.locator('table').count()).toBe(0);

    await publishWorkflow(stack, org.apiKey, burstFlow);
    await stack.call(
      'POST',
      '/v1/events',
      { type: 'new_lead', lead: { id: 'private', email: 'p@example.com' } },
      org.apiKey,
    );
    const [theirs] = await eventually(async () => {
      const found = (await stack.call('GET', '/v1/executions', undefined, org.apiKey)).body.executions;
      return found.length > 0 ? found : undefined;
    });
    const other = await stack.createOrg('Other Gym');
    await signIn(page, stack.baseUrl, other.apiKey, `/ui/executions/${theirs.id}`);
    await page.waitForSelector('[data-testid="not-found"]');
    expect(await page.textContent('[data-testid="not-found"]')).toContain(
      `Execution ${theirs.id} was not found`,
    );

    await page.goto(`${stack.baseUrl}/ui/workflows`);
    await page.waitForSelector('text=No workflows yet');
    await page.goto(`${stack.baseUrl}/ui/executions/x_doesnotexist`);
    await page.waitForSelector('[data-testid="not-found"]');
    await page.goto(`${stack.baseUrl}/ui/no/such/page`);
    expect(await page.textContent('[data-testid="not-found"]')).toContain('/no/such/page');
    await screenshot(page, 'not-found');
  });

  it('opens an execution of 200 steps (time logged, see bench/debugger-open.ts for the measurement)', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `n${i + 1}`);
    const workflowId = await publishWorkflow(stack, org.apiKey, {
      name: 'Two hundred steps',
      nodes: [trigger(), ...ids.map((id) => ({ id, type: 'add_tag', params: { tag: id } }))],
      edges: chain('start', ...ids),
    });
    await stack.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'lead-long' } }, org.apiKey);
    const execution = await settledExecution(stack, org.apiKey, workflowId, ['completed']);
    expect(execution.steps).toHaveLength(201);

    const page = await newPage();
    await signIn(page, stack.baseUrl, org.apiKey);
    const started = Date.now();
    await page.goto(`${stack.baseUrl}/ui/executions/${execution.id}`);
    await page.waitForSelector('[data-testid="debugger"][data-ready="true"]', { timeout: 30_000 });
    const openedMs = Date.now() - started;
    expect(await page.locator('[data-testid="step"]').count()).toBe(201);
    // A graph this large draws the nodes in view (it opens on the start of the chain) and the rest as it is panned.
    expect(await page.locator('.react-flow__node [data-node-id="start"]').getAttribute('data-status')).toBe(
      'done',
    );
    expect(await page.locator('.react-flow__node [data-status="done"]').count()).toBeGreaterThan(3);
    console.log(
      `debugger opened an execution of 201 steps in ${openedMs} ms (navigation to graph and timeline drawn)`,
    );
    writeFileSync(
      'test-artifacts/debugger-200-steps.json',
      JSON.stringify({ steps: 201, openedMs }, null, 2),
    );
  });
});
