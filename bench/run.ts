// `npm run bench`: the engine against raw BullMQ on the same Redis — throughput, ingest, latency, Redis work per step.
// Every engine instance gets its own key prefix under one random run prefix; the baseline queues get another;
// both are deleted at the end. Sizes are environment knobs (see bench/options.ts and bench/README.md).
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname } from 'node:path';
import type { Redis } from 'ioredis';
import { installClientCounter } from './client-commands.js';
import { ingestThroughput } from './ingest.js';
import { latency } from './latency.js';
import { readOptions, type BenchOptions } from './options.js';
import { connect, deleteKeys } from './redis-stats.js';
import {
  commandsPerStep,
  P99_TARGET,
  ratios,
  render,
  THROUGHPUT_TARGET,
  type Measurements,
} from './report.js';
import { steadiness, type Steadiness } from './steadiness.js';
import { engineThroughput, rawThroughput, type ThroughputResult } from './throughput.js';
import { medianBy, now, round } from './util.js';

const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** The median round by runs/s (the upper one of the middle two for an even count). */
const medianRound = (results: ThroughputResult[]) => medianBy(results, (result) => result.unitsPerSecond)!;

/** Deletes one phase's keys as soon as it is done, so later phases run on a Redis of the same size. */
async function dropPhase(options: BenchOptions, probe: Redis, phase: string): Promise<void> {
  await deleteKeys(probe, `${options.enginePrefix}-${phase}:`);
  await deleteKeys(probe, `${options.rawPrefix}-${phase}:`);
}

async function throughput(
  options: BenchOptions,
  probe: Redis,
  startedAt: number,
): Promise<Measurements['throughput']> {
  if (options.warmup > 0) {
    log(`warm-up: ${options.warmup} chains and executions (not measured)`);
    await rawThroughput(options, probe, options.warmup, 'warmup');
    await engineThroughput(options, probe, options.warmup, 'warmup');
    await dropPhase(options, probe, 'warmup');
  }
  const raw: ThroughputResult[] = [];
  const engine: ThroughputResult[] = [];
  for (let n = 1; n <= options.rounds; n += 1) {
    if (n > 1 && now() - startedAt > options.budgetMs / 2) {
      log(
        `(a) skipping the last ${options.rounds - n + 1} round(s): half of the ${options.budgetMs / 1000} s budget is spent`,
      );
      break;
    }
    const phase = `tput${n}`;
    log(`(a) throughput round ${n}/${options.rounds}: ${options.executions} raw chains, then executions`);
    raw.push(await rawThroughput(options, probe, options.executions, phase));
    engine.push(await engineThroughput(options, probe, options.executions, phase));
    await dropPhase(options, probe, phase);
  }
  const rate = (results: ThroughputResult[]) => results.map((result) => result.unitsPerSecond);
  return {
    engine: medianRound(engine),
    raw: medianRound(raw),
    rounds: { engine: rate(engine), raw: rate(raw) },
  };
}

async function measure(options: BenchOptions, probe: Redis, startedAt: number): Promise<Measurements> {
  const tput = await throughput(options, probe, startedAt);

  log(`(b) ingest: ${options.ingestEvents} events per variant`);
  const ingest = await ingestThroughput(options, probe);
  await dropPhase(options, probe, 'ingest');

  const rate = options.latencyRate ?? tput.engine.unitsPerSecond * options.loadFraction;
  log(
    `(c) latency: ${round(rate)}/s for ${options.latencySeconds} s per side in ${options.latencySegments} turns`,
  );
  return { throughput: tput, ingest, latency: await latency(options, probe, rate) };
}

/** The commit measured, and whether the engine's sources had uncommitted changes at the time. */
function gitState(): { commit: string; dirty: boolean } | undefined {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: git('status', '--porcelain', 'src', 'handlers') !== '',
    };
  } catch {
    return undefined;
  }
}

/**
 * Load averages (1, 5, 15 min) against the core count, and how steady the cores are (see bench/steadiness.ts): other
 * work on the machine, or the machine's own slow spells, skew every number here.
 */
const machine = async () => ({
  cores: availableParallelism(),
  loadAverage: loadavg().map((load) => round(load, 2)),
  steadiness: await steadiness(STEADINESS_SECONDS),
});
type Machine = Awaited<ReturnType<typeof machine>>;

const STEADINESS_SECONDS = 3;

function describeSteadiness(when: string, s: Steadiness): string {
  const spacing = s.medianSpacingMs ? `, one every ${round(s.medianSpacingMs / 1000)} s` : '';
  return `${when}: ${round(s.slowShare * 100)}% of ${s.windowMs} ms windows at under half speed, ${s.spells} slow spell(s), longest ${s.longestSpellMs} ms${spacing}`;
}

async function save(
  options: BenchOptions,
  probe: Redis,
  m: Measurements,
  seconds: number,
  machineState: { before: Machine; after: Machine },
) {
  const server = await probe.info('server');
  const record = {
    finishedAt: new Date().toISOString(),
    durationSeconds: seconds,
    machine: machineState,
    git: gitState(),
    node: process.version,
    redis: /^redis_version:(\S+)/m.exec(server)?.[1],
    options,
    stepsCounted:
      'engine: the 3 nodes after the trigger (branch, add_tag, update_lead); raw: 3 jobs per chain',
    targets: { engineExecPerSecOverRawChainsPerSec: THROUGHPUT_TARGET, p99EngineOverRaw: P99_TARGET },
    ratios: ratios(m),
    commandsPerStep: {
      engine: commandsPerStep(m.throughput.engine),
      raw: commandsPerStep(m.throughput.raw),
    },
    measurements: m,
  };
  await mkdir(dirname(options.resultsPath), { recursive: true });
  await writeFile(options.resultsPath, `${JSON.stringify(record, null, 2)}\n`);
}

async function cleanUp(options: BenchOptions, probe: Redis): Promise<void> {
  const deleted =
    (await deleteKeys(probe, options.enginePrefix)) + (await deleteKeys(probe, options.rawPrefix));
  log(`deleted ${deleted} keys under ${options.enginePrefix}* and ${options.rawPrefix}*`);
}

async function main(): Promise<void> {
  const options = readOptions();
  installClientCounter();
  log(`machine steadiness: one busy thread per core for ${STEADINESS_SECONDS} s`);
  const before = await machine();
  const start = now();
  const probe = await connect(options.redisUrl);
  process.once('SIGINT', () => {
    log('interrupted; deleting this run’s keys');
    void cleanUp(options, probe).finally(() => process.exit(130));
  });
  log(
    `engine prefix ${options.enginePrefix}-*, baseline prefix ${options.rawPrefix}-*, concurrency ${options.concurrency}`,
  );
  try {
    const m = await measure(options, probe, start);
    const seconds = (now() - start) / 1000;
    const after = await machine();
    console.log(`\n${render(m, options.concurrency)}\n`);
    console.log(
      [
        'Machine steadiness (a busy thread per core; spells slow both sides, and set p99 on both)',
        describeSteadiness('  before', before.steadiness),
        describeSteadiness('  after', after.steadiness),
        '',
      ].join('\n'),
    );
    log(`machine: ${JSON.stringify({ before, after })}`);
    await save(options, probe, m, seconds, { before, after });
    log(`finished in ${round(seconds)} s; results in ${options.resultsPath}`);
  } finally {
    await cleanUp(options, probe);
    await probe.quit();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
