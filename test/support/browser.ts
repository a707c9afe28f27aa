// Browser tests: the engine's real HTTP server (API and /ui) on a loopback port, and Debian's chromium driven by
// playwright-core. Screenshots go to test-artifacts/ (and to docs/screenshots/ with UPDATE_SCREENSHOTS=1).
import { copyFileSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createHttpServer } from '../../src/http/server.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a sandboxed CI container: no GPU, no network beyond the page's own requests. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Playwright gives every launch a fresh temporary profile, so no user-data-dir flag is needed. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true });
}

export interface Stack extends Harness {
  baseUrl: string;
}

/** An engine with workers on a random prefix of the real Redis, served over HTTP on a loopback port. */
export async function startStack(options: HarnessOptions = {}): Promise<Stack> {
  const harness = await startHarness(options);
  const server = createHttpServer(harness.api, harness.engine.config.MAX_BODY_BYTES);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...harness,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await harness.close();
    },
  };
}

export async function signIn(page: Page, baseUrl: string, token: string, path = '/ui/'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.fill('input[name="token"]', token);
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="who"]');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync('test-artifacts', { recursive: true });
  const path = `test-artifacts/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync('docs/screenshots', { recursive: true });
    copyFileSync(path, `docs/screenshots/${name}.png`);
  }
  return path;
}
