// Turns the measurements into the printed tables, the ratios against the targets, and the JSON record.
import type { IngestResult } from './ingest.js';
import type { LatencyResult } from './latency.js';
import { perUnit, type CommandUsage } from './redis-stats.js';
import type { ThroughputResult } from './throughput.js';
import { median, round } from './util.js';

export interface Measurements {
  /** The median round of each side, and every round's runs/s. */
  throughput: {
    engine: ThroughputResult;
    raw: ThroughputResult;
    rounds: { engine: number[]; raw: number[] };
  };
  ingest: IngestResult[];
  latency: { engine: LatencyResult; raw: LatencyResult };
}

/** Target: engine executions/s ≥ 50% of raw chains/s (raw steps/s ÷ 3). */
export const THROUGHPUT_TARGET = 0.5;
/** Target: engine p99 ≤ 3× raw p99 at the same offered load. */
export const P99_TARGET = 3;

function merge(a: [string, number][], b: [string, number][]): [string, number][] {
  const calls = new Map(a);
  for (const [name, n] of b) calls.set(name, (calls.get(name) ?? 0) + n);
  return [...calls.entries()].sort((x, y) => y[1] - x[1]);
}

function combine(a: CommandUsage, b: CommandUsage): CommandUsage {
  return {
    total: a.total + b.total,
    scripts: a.scripts + b.scripts,
    byCommand: merge(a.byCommand, b.byCommand),
    redisCpuMs: a.redisCpuMs + b.redisCpuMs,
    sent: a.sent + b.sent,
    writes: a.writes + b.writes,
    sentByCommand: merge(a.sentByCommand, b.sentByCommand),
  };
}

/** Redis work per step: processing alone (workers), and end to end (with putting the starts on the queue). */
export function commandsPerStep(result: ThroughputResult) {
  return {
    stepsCounted: result.steps,
    processing: perUnit(result.process.usage, result.steps),
    endToEnd: perUnit(combine(result.preload.usage, result.process.usage), result.steps),
    nodeCpuMsPerStep: result.process.nodeCpuMs / result.steps,
  };
}

export function ratios(m: Measurements) {
  const engine = commandsPerStep(m.throughput.engine);
  const raw = commandsPerStep(m.throughput.raw);
  const throughput = m.throughput.engine.unitsPerSecond / m.throughput.raw.unitsPerSecond;
  const p99 = m.latency.engine.latencyMs.p99 / m.latency.raw.latencyMs.p99;
  const turnP99 = (l: LatencyResult) => median(l.segmentsMs.map((s) => s.p99)) ?? Number.NaN;
  return {
    engineExecPerSecOverRawChainsPerSec: throughput,
    throughputTargetMet: throughput >= THROUGHPUT_TARGET,
    p99EngineOverRaw: p99,
    p99TargetMet: p99 <= P99_TARGET,
    /** The same over each side's median turn p99: the typical turn, less swayed by a spell that hit one turn. */
    p99MedianTurnEngineOverRaw: turnP99(m.latency.engine) / turnP99(m.latency.raw),
    serverCommandsPerStepEngineOverRaw: engine.processing.total / raw.processing.total,
    serverCommandsPerStepEndToEndEngineOverRaw: engine.endToEnd.total / raw.endToEnd.total,
    sentCommandsPerStepEngineOverRaw: engine.processing.sent / raw.processing.sent,
    writesPerStepEngineOverRaw: engine.processing.writes / raw.processing.writes,
    redisCpuPerStepEngineOverRaw: engine.processing.redisCpuMs / raw.processing.redisCpuMs,
    nodeCpuPerStepEngineOverRaw: engine.nodeCpuMsPerStep / raw.nodeCpuMsPerStep,
  };
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(cells[0]!), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

const us = (ms: number) => round(ms * 1000, 0);
const yes = (met: boolean) => (met ? 'yes' : 'NO');

function throughputSection(m: Measurements, concurrency: number): string[] {
  const { engine, raw, rounds } = m.throughput;
  const range = (values: number[]) => values.map((v) => round(v, 0)).join(' / ');
  return [
    `(a) Throughput, worker concurrency ${concurrency}; median of ${rounds.engine.length} alternating rounds ` +
      '(engine steps = 3 nodes per execution, raw = 3 jobs per chain)',
    table(
      ['side', 'runs', 'seconds', 'runs/s', 'steps/s', 'runs/s of each round', 'preload s'],
      [
        ['engine (executions)', engine, rounds.engine] as const,
        ['raw BullMQ (chains)', raw, rounds.raw] as const,
      ].map(([label, t, each]) => [
        label,
        t.units,
        round(t.seconds, 2),
        round(t.unitsPerSecond),
        round(t.stepsPerSecond),
        range(each),
        round(t.preload.seconds, 2),
      ]),
    ),
  ];
}

function ingestSection(m: Measurements): string[] {
  return [
    '(b) Ingest: events accepted per second (engine: POST /v1/events through the handler; raw: the same payload)',
    table(
      ['variant', 'events', 'seconds', 'events/s', 'sent/event', 'redis cmds/event', 'node cpu µs/event'],
      m.ingest.map((i) => [
        i.variant,
        i.events,
        round(i.seconds, 2),
        round(i.eventsPerSecond),
        round(i.usage.sent / i.events, 2),
        round(i.usage.total / i.events, 2),
        us(i.nodeCpuMs / i.events),
      ]),
    ),
  ];
}

function latencySection(m: Measurements): string[] {
  const lines = [
    `(c) Event-to-completion latency (ms) at the same offered load; sends ${
      m.latency.engine.sender === 'process'
        ? 'from a process of their own (the ingest function apart from the workers, as deployed)'
        : "inline, on the workers' event loop (as the local stack runs)"
    }`,
    table(
      [
        'side',
        'offered/s',
        'achieved/s',
        'n',
        'p50',
        'p95',
        'p99',
        'max',
        'sender lag max',
        'node cpu µs/run',
        'sender cpu µs/run',
        'loop busy',
      ],
      [m.latency.engine, m.latency.raw].map((l) => [
        l.saturated ? `${l.side} (SATURATED)` : l.side,
        round(l.offeredPerSecond),
        round(l.achievedPerSecond),
        l.latencyMs.count,
        round(l.latencyMs.p50),
        round(l.latencyMs.p95),
        round(l.latencyMs.p99),
        round(l.latencyMs.max),
        round(l.senderLagMaxMs),
        us(l.nodeCpuMsPerRun),
        l.senderCpuMsPerRun === undefined ? 'inline' : us(l.senderCpuMsPerRun),
        round(l.eventLoopBusy, 2),
      ]),
    ),
  ];
  for (const l of [m.latency.engine, m.latency.raw])
    lines.push(
      `${l.side} p99 per turn: ${l.segmentsMs.map((segment) => round(segment.p99)).join(', ')} ` +
        `(lowest ${round(Math.min(...l.segmentsMs.map((segment) => segment.p99)))})`,
    );
  if (m.latency.engine.saturated || m.latency.raw.saturated)
    lines.push(
      'SATURATED: completions fell behind the offered load, so those latencies include a growing backlog.',
    );
  const b = m.latency.engine.breakdownMs;
  if (b)
    lines.push(
      `engine split at the execution's startedAt: send → started (ingest, triggers queue, the trigger job's ` +
        `first round trip) p50 ${round(b.sendToStarted.p50)} p99 ${round(b.sendToStarted.p99)}; ` +
        `started → finished (enrolment and the inline run, up to its commit) p50 ${round(b.startedToFinished.p50)} ` +
        `p99 ${round(b.startedToFinished.p99)}`,
    );
  return lines;
}

function commandsSection(m: Measurements): string[] {
  const sides = [m.throughput.engine, m.throughput.raw];
  const top = (entries: { command: string; calls: number }[]) =>
    entries.map((c) => `${c.command} ${round(c.calls, 2)}`).join(', ');
  return [
    "(d) Redis work per step while processing (sent/writes: the benchmark's processes; cmds: INFO commandstats, Lua-internal " +
      'commands included; e2e adds putting the starts on the queue)',
    table(
      [
        'side',
        'sent/step',
        'writes/step',
        'cmds/step',
        'scripts/step',
        'cmds/step e2e',
        'redis cpu µs/step',
        'node cpu µs/step',
      ],
      sides.map((t) => {
        const c = commandsPerStep(t);
        return [
          t.side,
          round(c.processing.sent, 2),
          round(c.processing.writes, 2),
          round(c.processing.total, 2),
          round(c.processing.scripts, 2),
          round(c.endToEnd.total, 2),
          us(c.processing.redisCpuMs),
          us(c.nodeCpuMsPerStep),
        ];
      }),
    ),
    table(
      [
        'at the steady load of (c), start included',
        'sent/step',
        'writes/step',
        'cmds/step',
        'redis cpu µs/step',
      ],
      [m.latency.engine, m.latency.raw].map((l) => [
        l.side,
        round(l.perStep.sent, 2),
        round(l.perStep.writes, 2),
        round(l.perStep.commands, 2),
        round(l.perStep.redisCpuUs, 0),
      ]),
    ),
    ...sides.map((t) => `sent per step, ${t.side}: ${top(commandsPerStep(t).processing.topSent)}`),
    ...sides.map((t) => `run by Redis per step, ${t.side}: ${top(commandsPerStep(t).processing.top)}`),
  ];
}

function ratioSection(m: Measurements): string[] {
  const r = ratios(m);
  return [
    'Ratios (engine ÷ raw)',
    table(
      ['ratio', 'value', 'target', 'met'],
      [
        [
          'executions/s ÷ raw chains/s',
          round(r.engineExecPerSecOverRawChainsPerSec, 2),
          `≥ ${THROUGHPUT_TARGET}`,
          yes(r.throughputTargetMet),
        ],
        [
          'p99 at the same offered load',
          round(r.p99EngineOverRaw, 2),
          `≤ ${P99_TARGET}`,
          yes(r.p99TargetMet),
        ],
        ["  median of the turns' p99", round(r.p99MedianTurnEngineOverRaw, 2), '-', '-'],
        ['redis cmds/step (commandstats)', round(r.serverCommandsPerStepEngineOverRaw, 2), '-', '-'],
        ['  end to end, with ingest', round(r.serverCommandsPerStepEndToEndEngineOverRaw, 2), '-', '-'],
        ['commands sent/step', round(r.sentCommandsPerStepEngineOverRaw, 2), '-', '-'],
        ['socket writes/step', round(r.writesPerStepEngineOverRaw, 2), '-', '-'],
        ['redis cpu/step', round(r.redisCpuPerStepEngineOverRaw, 2), '-', '-'],
        ['node cpu/step', round(r.nodeCpuPerStepEngineOverRaw, 2), '-', '-'],
      ],
    ),
  ];
}

export function render(m: Measurements, concurrency: number): string {
  return [
    throughputSection(m, concurrency),
    ingestSection(m),
    latencySection(m),
    commandsSection(m),
    ratioSection(m),
  ]
    .map((lines) => lines.join('\n'))
    .join('\n\n');
}
