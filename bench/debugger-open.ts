// How fast the debugger opens an execution of 200 steps: from navigation to the graph (every node measured) and the
// timeline drawn, in Debian's chromium against the real engine and Redis. `npm run bench:ui` (RUNS=7 by default).
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launchChromium, startStack } from '../test/support/browser.js';
import { eventually } from '../test/support/harness.js';
import { chain, publishWorkflow, trigger } from '../test/support/workflows.js';
import { ensureUi } from '../scripts/ensure-ui.mjs';
import { median } from './util.js';

const RUNS = Number(process.env.RUNS ?? 7);
const STEPS = 200;

ensureUi();
const stack = await startStack({ env: { LOG_LEVEL: 'silent' } });
const browser = await launchChromium();
try {
  const { apiKey } = await stack.createOrg('Bench Gym');
  const ids = Array.from({ length: STEPS }, (_, i) => `n${i + 1}`);
  const workflowId = await publishWorkflow(stack, apiKey, {
    name: `${STEPS} steps`,
    nodes: [trigger(), ...ids.map((id) => ({ id, type: 'add_tag', params: { tag: id } }))],
    edges: chain('start', ...ids),
  });
  await stack.call('POST', '/v1/events', { type: 'new_lead', lead: { id: 'bench-lead' } }, apiKey);
  const execution = await eventually(async () => {
    const list = await stack.call('GET', `/v1/workflows/${workflowId}/executions`, undefined, apiKey);
    const first = list.body.executions[0];
    return first?.status === 'completed' ? first : undefined;
  }, 30_000);
  const detail = await stack.call('GET', `/v1/executions/${execution.id}`, undefined, apiKey);
  const url = `${stack.baseUrl}/ui/executions/${execution.id}`;

  /** Milliseconds from navigation start (the page's own clock) to graph and timeline drawn. */
  const open = async (page: Page) => {
    const wall = Date.now();
    await page.goto(url);
    await page.waitForSelector('[data-testid="debugger"][data-ready="true"]', { timeout: 60_000 });
    const inPage = Number(await page.evaluate('performance.now()'));
    const rows = await page.locator('[data-testid="step"]').count();
    if (rows !== STEPS + 1) throw new Error(`timeline shows ${rows} steps, expected ${STEPS + 1}`);
    return { ms: Math.round(inPage), wallMs: Date.now() - wall };
  };

  const cold: number[] = [];
  const warm: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.addInitScript(`sessionStorage.setItem('atlas.token', ${JSON.stringify(apiKey)})`);
    const page = await context.newPage();
    cold.push((await open(page)).ms); // new context: empty HTTP cache, bundle downloaded and parsed
    warm.push((await open(page)).ms); // same tab again: bundle from cache
    await context.close();
  }
  const stats = (values: number[]) => {
    return { median: median(values)!, min: Math.min(...values), max: Math.max(...values) };
  };
  const result = {
    steps: detail.body.steps.length,
    nodes: STEPS + 1,
    runs: RUNS,
    coldMs: stats(cold),
    warmMs: stats(warm),
    measuredAt: new Date().toISOString(),
  };
  console.log(
    `debugger, execution of ${result.steps} steps: cold median ${result.coldMs.median} ms ` +
      `(min ${result.coldMs.min}, max ${result.coldMs.max}); warm median ${result.warmMs.median} ms ` +
      `(min ${result.warmMs.min}, max ${result.warmMs.max}); ${RUNS} runs`,
  );
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/debugger-open.json', `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await browser.close();
  await stack.close();
}
