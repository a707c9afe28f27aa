// The static route that serves the built web app at /ui (ensured built by the integration setup).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

describe('GET /ui', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(() => h.close());

  it('serves the app without a key, revalidated, with a strict content security policy', async () => {
    const response = await h.call('GET', '/ui');

    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    expect(response.headers?.['content-security-policy']).toContain("script-src 'self'");
    expect(response.body).toContain('<div id="root"></div>');
  });

  it('answers any page of the app with index.html, so the app shows the page or its not-found page', async () => {
    const index = (await h.call('GET', '/ui')).body;
    for (const path of ['/ui/', '/ui/executions/x_unknown', '/ui/no/such/page'])
      expect((await h.call('GET', path)).body).toBe(index);
  });

  it('serves hashed assets with their type and a year of caching, and nothing outside the build', async () => {
    const script = readdirSync('ui/dist/assets').find((name) => name.endsWith('.js'))!;
    const asset = await h.call('GET', `/ui/assets/${script}`);

    expect(asset.status).toBe(200);
    expect(asset.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
    });
    for (const path of ['/ui/assets/missing.js', '/ui/assets/..%2F..%2Fpackage.json', '/ui/assets/x.exe'])
      expect((await h.call('GET', path)).status).toBe(404);
  });

  it('says how to build the app when it is missing', async () => {
    const empty = await startHarness({
      workers: false,
      env: { UI_DIR: mkdtempSync(join(tmpdir(), 'no-ui-')) },
    });
    try {
      const response = await empty.call('GET', '/ui/executions');
      expect(response.status).toBe(503);
      expect(response.body).toContain('npm run build:ui');
    } finally {
      await empty.close();
    }
  });
});
