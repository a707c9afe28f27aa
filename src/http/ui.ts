// Serves the built web app at /ui: hashed assets cached for a year, index.html revalidated, and every other /ui/*
// path answered with index.html so the app's own router shows the page (or its not-found page).
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { Context } from './access.js';
import type { Route } from './router.js';
import type { ApiResponse } from './types.js';

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

const htmlHeaders = {
  'content-type': contentTypes['.html']!,
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // React Flow and uPlot position elements with inline styles; scripts and connections stay same-origin.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/** Asset names are content-hashed by the build, so a cached copy never goes stale. */
const assets = new Map<string, string>();

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function serve(root: string, rest: string): Promise<ApiResponse> {
  const base = resolve(root);
  if (rest.startsWith('assets/')) {
    const path = resolve(base, rest);
    const ext = extname(path);
    if (!path.startsWith(base + sep) || !contentTypes[ext] || !/^assets\/[A-Za-z0-9._-]+$/.test(rest)) {
      return { status: 404, headers: { 'content-type': contentTypes['.txt']! }, body: `no asset ${rest}` };
    }
    let text = assets.get(path);
    if (text === undefined) {
      text = await readText(path);
      if (text === undefined)
        return { status: 404, headers: { 'content-type': contentTypes['.txt']! }, body: `no asset ${rest}` };
      assets.set(path, text);
    }
    return {
      status: 200,
      headers: {
        'content-type': contentTypes[ext]!,
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      },
      body: text,
    };
  }
  const index = await readText(resolve(base, 'index.html'));
  if (index === undefined) {
    return {
      status: 503,
      headers: { 'content-type': contentTypes['.txt']! },
      body: 'The web app is not built: run `npm run build:ui` (npm start does it for you).',
    };
  }
  return { status: 200, headers: htmlHeaders, body: index };
}

export const uiRoutes: Route<Context>[] = [
  {
    method: 'GET',
    pattern: '/ui',
    public: true,
    handle: (_request, _params, { engine }) => serve(engine.config.UI_DIR, ''),
  },
  {
    method: 'GET',
    pattern: '/ui/*rest',
    public: true,
    handle: (_request, { rest }, { engine }) => serve(engine.config.UI_DIR, rest ?? ''),
  },
];
