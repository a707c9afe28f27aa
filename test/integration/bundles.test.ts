// The deployed artefacts, not the sources: the ingest Lambda bundle and the worker container bundle, built with the
// shared esbuild plugins (which rewrite BullMQ's Lua scripts and module graph), run a workflow end to end on Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import type { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, withBody, withHeader } from '../support/fixtures.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

const { deployedBuildOptions } = createRequire(import.meta.url)('../../esbuild-plugins.cjs') as {
  deployedBuildOptions: BuildOptions;
};

const options = { ...deployedBuildOptions, logLevel: 'error' } satisfies BuildOptions;

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    ...options,
    entryPoints: [entry],
    outfile,
  });
}

describe('bundled ingest handler and worker', () => {
  let h: Harness;
  let dir: string;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    dir = mkdtempSync(path.join(tmpdir(), 'atlas-bundles-'));
    await Promise.all([
      bundle('handlers/http/ingest.ts', path.join(dir, 'ingest.mjs')),
      bundle('handlers/worker/main.ts', path.join(dir, 'worker.mjs')),
    ]);
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: h.prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      JOB_BACKOFF_MS: '50',
    };
    Object.assign(process.env, env);
    worker = spawn(process.execPath, [path.join(dir, 'worker.mjs')], { env, stdio: 'ignore' });
  }, 60_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts an event through the bundled handler and the bundled worker runs its workflow to the end', async () => {
    // Arrange
    const { apiKey } = await h.createOrg('Bundle Gym');
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'bundle',
      nodes: [
        trigger(),
        { id: 'pause', type: 'wait', params: { duration: 'PT0.1S' } },
        { id: 'tag', type: 'add_tag', params: { tag: 'bundled' } },
      ],
      edges: chain('start', 'pause', 'tag'),
    });
    const { handler } = await import(pathToFileURL(path.join(dir, 'ingest.mjs')).href);
    const body = JSON.stringify({ id: 'bundle-1', type: 'new_lead', lead: { id: 'lead_b' } });
    const request = withHeader(
      withBody({ ...fixture('generic', 'form-submitted', { orgId: 'x' }), rawPath: '/v1/events' }, body),
      'authorization',
      `Bearer ${apiKey}`,
    );

    // Act
    const response = await handler(request);

    // Assert
    expect(response.statusCode).toBe(202);
    const execution = await settledExecution(h, apiKey, workflowId, ['completed'], 20_000);
    expect(execution.steps.map((step: any) => step.nodeId)).toEqual(['start', 'pause', 'tag']);
    expect((await h.engine.leads.get(execution.orgId, 'lead_b'))?.tags).toEqual(['bundled']);
  });
});

describe("BullMQ's Lua scripts after the bundler strips their comments", () => {
  it('every script still compiles on Redis and keeps its code lines in order', async () => {
    const require = createRequire(import.meta.url);
    const { minifyLuaModule } = require('../../esbuild-plugins.cjs') as {
      minifyLuaModule(source: string): string;
    };
    const dir = path.join(path.dirname(require.resolve('bullmq/package.json')), 'dist', 'esm', 'scripts');
    const { Redis } = await import('ioredis');
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const { readdirSync } = await import('node:fs');
    const contentOf = (source: string) => /const content = `([\s\S]*?)`;/.exec(source)?.[1];
    let checked = 0;
    try {
      for (const file of readdirSync(dir).filter((name) => /-\d+\.js$/.test(name))) {
        const original = contentOf(readFileSync(path.join(dir, file), 'utf8'));
        const minified = contentOf(minifyLuaModule(readFileSync(path.join(dir, file), 'utf8')));
        expect(minified, file).toBeDefined();
        // Besides block comments (`]] local rcall = …` keeps its code), only whole lines go: what is left is the
        // original's lines, trimmed, in their order.
        const lines = original!
          .replace(/--\[(=*)\[[\s\S]*?\]\1\]/g, '')
          .split('\n')
          .map((line) => line.trim());
        let at = 0;
        for (const line of minified!.trim().split('\n')) {
          at = lines.indexOf(line, at);
          expect(at, `${file}: ${line}`).toBeGreaterThanOrEqual(0);
          at += 1;
        }
        expect(minified!.length, file).toBeLessThan(original!.length);
        await expect(redis.script('LOAD', minified!), file).resolves.toMatch(/^[0-9a-f]{40}$/);
        checked += 1;
      }
    } finally {
      redis.disconnect();
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe("ioredis's command methods, gathered one prototype up by the bundler", () => {
  it('the rewrite finds the loop of the installed ioredis', () => {
    // Arrange
    const require = createRequire(import.meta.url);
    const { fastCommanderModule } = require('../../esbuild-plugins.cjs') as {
      fastCommanderModule(source: string): string;
    };
    const source = readFileSync(require.resolve('ioredis/built/utils/Commander.js'), 'utf8');

    // Act
    const rewritten = fastCommanderModule(source);

    // Assert
    expect(rewritten).not.toBe(source);
    expect(rewritten).not.toMatch(/Commander\.prototype\[commandName/);
  });

  it('a bundled client still sends commands, Buffer variants, pipelines, transactions and scripts', async () => {
    // Arrange
    const dir = mkdtempSync(path.join(tmpdir(), 'atlas-ioredis-'));
    const outfile = path.join(dir, 'client.mjs');
    await build({
      ...options,
      stdin: { contents: "export { Redis } from 'ioredis';", resolveDir: process.cwd(), loader: 'js' },
      outfile,
    });
    const { Redis } = (await import(pathToFileURL(outfile).href)) as { Redis: typeof IORedis };
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const key = `bundle-ioredis-${randomBytes(6).toString('hex')}`;
    redis.defineCommand('atlasEcho', { numberOfKeys: 0, lua: 'return ARGV[1]' });

    try {
      // Act
      await redis.set(key, 'v');
      const value = await redis.get(key);
      const buffer = await redis.getBuffer(key);
      const piped = await redis.pipeline().incr(`${key}:n`).incr(`${key}:n`).exec();
      const multi = await redis.multi().incr(`${key}:n`).get(`${key}:n`).exec();
      const called = await redis.call('ECHO', 'hi');
      const scripted = await (redis as unknown as { atlasEcho(arg: string): Promise<string> }).atlasEcho(
        'lua',
      );

      // Assert
      expect(value).toBe('v');
      expect(Buffer.isBuffer(buffer) && buffer.toString()).toBe('v');
      expect(piped?.map(([, result]) => result)).toEqual([1, 2]);
      expect(multi?.map(([, result]) => result)).toEqual([3, '3']);
      expect(called).toBe('hi');
      expect(scripted).toBe('lua');
    } finally {
      await redis.del(key, `${key}:n`);
      redis.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cron-parser in the bundles', () => {
  const bundled = async (entry: string) => {
    const result = await build({ ...options, entryPoints: [entry], write: false, metafile: true });
    return {
      text: result.outputFiles[0]!.text,
      inputs: Object.keys(result.metafile.inputs),
    };
  };

  it('is a stub in the ingest functions, which create no job schedulers, and luxon goes with it', async () => {
    for (const entry of ['handlers/http/ingest.ts', 'handlers/eventbridge/handler.ts']) {
      // Act
      const { text, inputs } = await bundled(entry);

      // Assert
      expect(text, entry).toContain('cron-parser is not bundled in the ingest functions');
      expect(
        inputs.filter((input) => /[\\/]luxon[\\/]/.test(input)),
        entry,
      ).toEqual([]);
    }
  });

  it('is the real one in the management API and the scheduler, which create job schedulers', async () => {
    for (const entry of ['handlers/http/lambda.ts', 'handlers/scheduler/main.ts']) {
      // Act
      const { text, inputs } = await bundled(entry);

      // Assert
      expect(text, entry).not.toContain('cron-parser is not bundled');
      expect(
        inputs.some((input) => /[\\/]cron-parser[\\/]dist[\\/]CronExpressionParser\.js$/.test(input)),
        entry,
      ).toBe(true);
    }
  });
});
