// Cold start of each Lambda handler: bundle it as deployed (esbuild, minified, the shared plugins), then measure the
// bundle's size and, in fresh Node processes, the time to import it (module initialisation) and to answer a first
// request against a local Redis (initialisation + connecting), as deployed (without --enable-source-maps). Writes
// bench/results/cold-start.json.
// Run: npm run bench:cold [-- --runs 9]
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { median } from './util.js';

const require = createRequire(import.meta.url);
const { deployedBuildOptions } = require('../esbuild-plugins.cjs') as { deployedBuildOptions: BuildOptions };

const handlers = {
  ingest: { entry: 'handlers/http/ingest.ts', event: 'http' },
  eventbridge: { entry: 'handlers/eventbridge/handler.ts', event: 'sqs' },
  api: { entry: 'handlers/http/lambda.ts', event: 'http' },
} as const;

/** Targets of the serverless-ingest issue, for the ingest functions. */
const TARGET_BYTES = 1_000_000;
const TARGET_INIT_MS = 150;

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
const outRoot = path.resolve('bench/results/cold-start');

const httpEvent = {
  version: '2.0',
  routeKey: '$default',
  rawPath: '/healthz',
  rawQueryString: '',
  headers: { host: 'localhost' },
  requestContext: { http: { method: 'GET', path: '/healthz' } },
  isBase64Encoded: false,
};

/** Runs in a fresh process: import the bundle, then call the handler once. Prints {initMs, firstMs}. */
const probe = `
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = await import(process.env.BUNDLE);
const initMs = performance.now() - t0;
const cpu = process.cpuUsage(c0);
const initCpuMs = (cpu.user + cpu.system) / 1000;
let firstMs = null, firstError = null;
if (process.env.WITH_REDIS === '1') {
  const event = process.env.EVENT_KIND === 'sqs' ? { Records: [] } : ${JSON.stringify(httpEvent)};
  const t1 = performance.now();
  try { await mod.handler(event); firstMs = performance.now() - t1; } catch (e) { firstError = String(e && e.message || e); }
}
process.stdout.write(JSON.stringify({ initMs, initCpuMs, firstMs, firstError }));
process.exit(0);
`;

function redisAnswers(): boolean {
  try {
    execFileSync('redis-cli', ['-u', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'ping'], {
      stdio: 'pipe',
    });
    return true;
  } catch {
    return false;
  }
}

const withRedis = redisAnswers();

/** Calibration: the CPU a bare Node spends booting here (some 30-40 ms on an idle laptop); load inflates every figure. */
const bootCpuMs = median(
  Array.from({ length: 5 }, () => {
    const out = execFileSync(
      process.execPath,
      ['-e', 'const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000))'],
      { encoding: 'utf8' },
    );
    return Number(out);
  }),
)!;
const results: Record<string, unknown> = {};

for (const [name, handler] of Object.entries(handlers)) {
  const outfile = path.join(outRoot, name, 'index.mjs');
  mkdirSync(path.dirname(outfile), { recursive: true });
  await build({ ...deployedBuildOptions, entryPoints: [handler.entry], outfile, logLevel: 'error' });
  const bytes = statSync(outfile).size;
  const gzipBytes = gzipSync(readFileSync(outfile)).length;
  const samples: { initMs: number; initCpuMs: number; firstMs: number | null; firstError: string | null }[] =
    [];
  for (let i = 0; i < runs; i += 1) {
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      env: {
        ...process.env,
        BUNDLE: `file://${outfile}`,
        EVENT_KIND: handler.event,
        WITH_REDIS: withRedis ? '1' : '0',
        QUEUE_PREFIX: 'bench-cold',
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
      },
      encoding: 'utf8',
    });
    samples.push(JSON.parse(output));
  }
  const first = samples.map((s) => s.firstMs).filter((ms): ms is number => ms !== null);
  results[name] = {
    entry: handler.entry,
    bytes,
    gzipBytes,
    initMs: { median: median(samples.map((s) => s.initMs)), runs: samples.map((s) => s.initMs) },
    initCpuMs: { median: median(samples.map((s) => s.initCpuMs)), runs: samples.map((s) => s.initCpuMs) },
    ...(first.length > 0
      ? { firstRequestMs: { median: median(first), runs: first } }
      : { firstRequestMs: samples[0]?.firstError ?? 'skipped: no Redis' }),
  };
}

const ingestNames = ['ingest', 'eventbridge'];
const summary = Object.entries(results).map(([name, r]) => {
  const result = r as {
    bytes: number;
    gzipBytes: number;
    initMs: { median: number };
    initCpuMs: { median: number };
    firstRequestMs: unknown;
  };
  const targeted = ingestNames.includes(name);
  return {
    handler: name,
    'size (bytes)': result.bytes,
    'gzip (bytes)': result.gzipBytes,
    'init median (ms)': Number(result.initMs.median.toFixed(1)),
    'init CPU median (ms)': Number(result.initCpuMs.median.toFixed(1)),
    'first request median (ms)':
      typeof result.firstRequestMs === 'object' && result.firstRequestMs
        ? Number((result.firstRequestMs as { median: number }).median.toFixed(1))
        : String(result.firstRequestMs),
    'meets targets': targeted
      ? result.bytes <= TARGET_BYTES && result.initMs.median <= TARGET_INIT_MS
        ? 'yes'
        : 'NO'
      : 'n/a (management API)',
  };
});
console.table(summary);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${cpus().length} cores; a bare Node boot costs ${bootCpuMs.toFixed(0)} ms CPU here`,
);
if (withRedis) {
  // The probes created the queues' meta keys under QUEUE_PREFIX bench-cold; leave nothing behind.
  const keys = execFileSync('redis-cli', ['--scan', '--pattern', 'bench-cold:*'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  if (keys.length > 0) execFileSync('redis-cli', ['del', ...keys], { stdio: 'ignore' });
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/cold-start.json',
  JSON.stringify(
    {
      measuredAt: new Date().toISOString(),
      node: process.version,
      machine: { cpus: cpus().length, loadAverage: loadavg(), nodeBootCpuMs: bootCpuMs },
      runs,
      targets: { bytes: TARGET_BYTES, initMs: TARGET_INIT_MS, appliesTo: ingestNames },
      results,
    },
    null,
    2,
  ),
);
console.log('written to bench/results/cold-start.json');
