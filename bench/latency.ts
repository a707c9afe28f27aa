// (c) Event-to-completion latency at a steady offered load, for the engine and for the raw chain at the same load.
// The two sides take turns in short segments, so a burst of other work on the machine does not land on one side only.
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import {
  benchEvent,
  startEngine,
  STEPS_PER_EXECUTION,
  type BenchEvent,
  type EngineUnderTest,
} from './engine.js';
import type { BenchOptions } from './options.js';
import { JOBS_PER_CHAIN, startRawChain } from './raw-chain.js';
import { meter } from './redis-stats.js';
import { startSender, type Offered, type RemoteSender } from './remote-sender.js';
import {
  countdown,
  cpuMsSince,
  now,
  offerLoad,
  percentiles,
  pool,
  toMonotonic,
  type Percentiles,
} from './util.js';

export interface LatencyResult {
  side: 'engine' | 'raw';
  /** Where the sends ran: a process of their own (as the ingest function does in production) or this one. */
  sender: BenchOptions['latencySender'];
  offeredPerSecond: number;
  sent: number;
  /** Completions per second over the segments, each from its first send to its last completion. */
  achievedPerSecond: number;
  /** Latest any send left after its due time (the sender's own lag, counted in the latencies). */
  senderLagMaxMs: number;
  /** Completions fell behind the offered load (achieved < 95% of offered): the latencies include a growing backlog. */
  saturated: boolean;
  /** This process's CPU per run: the workers, and the sends (for the engine, the HTTP ingest) when they run inline. */
  nodeCpuMsPerRun: number;
  /** The sender process's CPU per run (its HTTP ingest for the engine, `queue.add` for the baseline). */
  senderCpuMsPerRun?: number;
  /**
   * Share of the side's turns its event loop was busy (`performance.eventLoopUtilization`). Near 1, every round trip
   * waits behind other work, and a burst leaves a backlog that takes long to clear.
   */
  eventLoopBusy: number;
  /** Due time of the send → completion seen by the worker in this process. */
  latencyMs: Percentiles;
  /**
   * The same, per turn, in the order the side took them. A turn a slow spell of the machine missed shows the side's
   * own tail; one it hit shows the spell (see bench/steadiness.ts).
   */
  segmentsMs: Pick<Percentiles, 'count' | 'p50' | 'p99' | 'max'>[];
  /** Redis work per step at this load, putting the start on the queue included, by either process (see `CommandUsage`). */
  perStep: { sent: number; writes: number; commands: number; redisCpuUs: number };
  /** Engine only: where the time went, from the execution's own timestamps (millisecond resolution). */
  breakdownMs?: { sendToStarted: Percentiles; startedToFinished: Percentiles };
}

/** Both sides run three steps per run: the engine's three nodes, the baseline's three jobs. */
const STEPS_PER_RUN = STEPS_PER_EXECUTION;
if (STEPS_PER_RUN !== JOBS_PER_CHAIN) throw new Error('the engine and the baseline must count steps alike');

/** The sender process starts each turn's first send this long after it is asked, so it does not start late. */
const SENDER_LEAD_MS = 20;

/** One side under load: sends run `i` and reports each completion with the due time of its send. */
interface Side {
  name: LatencyResult['side'];
  /** Notes run `i`'s due time, before it is sent (inline, right before its `send`). */
  expect(i: number, dueAt: number): void;
  /** Sends run `i` from this process, right after its `expect`. */
  send(i: number): Promise<void>;
  /** The process that sends the runs instead, unless they are sent inline. */
  remote?: RemoteSender;
  /** Registers the one completion callback; called once per run. */
  subscribe(completed: (dueAt: number) => void): void;
  extras(): Promise<Partial<LatencyResult>>;
  /** Forgets the runs sent so far (after the warm-up). */
  forget?(): void;
  close(): Promise<void>;
}

/** A side's measurements, summed over its segments; `current` counts the completions of the running segment. */
interface Turn {
  side: Side;
  sent: number;
  seconds: number;
  nodeCpuMs: number;
  senderCpuMs: number;
  /** Event-loop time busy and idle over the segments (ms). */
  loopActiveMs: number;
  loopIdleMs: number;
  senderLagMaxMs: number;
  latencies: number[];
  /** Where each segment's latencies start in `latencies`. */
  segmentStarts: number[];
  /** Redis work summed over the segments. */
  sentCommands: number;
  writes: number;
  commands: number;
  redisCpuMs: number;
  current?: ReturnType<typeof countdown>;
}

/** Splits each execution's latency at its `startedAt` (the trigger job ran) using the stored state. */
async function breakdown(sut: EngineUnderTest, sentAt: Map<string, number>) {
  const toStarted: number[] = [];
  const toFinished: number[] = [];
  const entries = [...sentAt.entries()];
  await pool(entries.length, 50, async (i) => {
    const [executionId, dueAt] = entries[i]!;
    const state = await sut.engine.executions.load(executionId);
    if (!state?.finishedAt) return;
    const started = Date.parse(state.startedAt);
    toStarted.push(started - (performance.timeOrigin + dueAt));
    toFinished.push(Date.parse(state.finishedAt) - started);
  });
  return { sendToStarted: percentiles(toStarted), startedToFinished: percentiles(toFinished) };
}

/** The side's sender process when the sends run in one; a sender that fails to start closes the side it was for. */
async function senderFor(
  options: BenchOptions,
  init: Parameters<typeof startSender>[0],
  closeSide: () => Promise<void>,
): Promise<RemoteSender | undefined> {
  if (options.latencySender !== 'process') return undefined;
  return startSender(init).catch(async (error: unknown) => {
    await closeSide();
    throw error;
  });
}

async function engineSide(options: BenchOptions): Promise<Side> {
  const sut = await startEngine(options, 'latency');
  await sut.startWorkers();
  const remote = await senderFor(options, { type: 'init', side: 'engine', options, target: sut.target }, () =>
    sut.close(),
  );
  const pending = new Map<string, number>();
  const sentAt = new Map<string, number>();
  let noted: { i: number; event: BenchEvent } | undefined;
  return {
    name: 'engine',
    expect(i, dueAt) {
      const event = benchEvent('latency', i);
      const executionId = sut.executionId(event.id);
      pending.set(executionId, dueAt);
      sentAt.set(executionId, dueAt);
      noted = { i, event };
    },
    async send(i) {
      // Sent inline right after it is noted: the event is built once, as the baseline's first job is.
      await sut.postEvents(noted?.i === i ? noted.event : benchEvent('latency', i));
    },
    remote,
    subscribe(completed) {
      sut.onFinished((state) => {
        const dueAt = pending.get(state.id);
        if (dueAt === undefined || state.status !== 'completed') return;
        pending.delete(state.id);
        completed(dueAt);
      });
    },
    extras: async () => ({ breakdownMs: await breakdown(sut, sentAt) }),
    forget: () => sentAt.clear(),
    async close() {
      await remote?.close();
      await sut.close();
    },
  };
}

async function rawSide(options: BenchOptions): Promise<Side> {
  const chain = await startRawChain(options, 'latency');
  const remote = await senderFor(options, { type: 'init', side: 'raw', options, phase: 'latency' }, () =>
    chain.close(),
  );
  const dueAt: number[] = [];
  return {
    name: 'raw',
    expect(i, due) {
      dueAt[i] = due;
    },
    send: (i) => chain.add(i),
    remote,
    subscribe(completed) {
      chain.start((i) => completed(dueAt[i]!));
    },
    extras: async () => ({}),
    async close() {
      await remote?.close();
      await chain.close();
    },
  };
}

/** Clears what a turn has measured (after its unmeasured warm-up). */
function reset(turn: Turn): void {
  Object.assign(turn, {
    sent: 0,
    seconds: 0,
    nodeCpuMs: 0,
    senderCpuMs: 0,
    loopActiveMs: 0,
    loopIdleMs: 0,
    senderLagMaxMs: 0,
    latencies: [],
    segmentStarts: [],
    sentCommands: 0,
    writes: 0,
    commands: 0,
    redisCpuMs: 0,
  });
}

function prepare(side: Side): Turn {
  const turn = { side } as Turn;
  reset(turn);
  side.subscribe((dueAt) => {
    turn.latencies.push(now() - dueAt);
    turn.current?.tick();
  });
  return turn;
}

/**
 * Sends runs `first..first+count-1` at `rate` per second, inline or through the side's sender process; resolves with
 * the first send's due time once all are sent. The sender process's Redis commands are not in this process's counts,
 * so it reports them.
 */
async function offer(
  side: Side,
  first: number,
  count: number,
  rate: number,
): Promise<Omit<Offered, 'type'> & { start: number }> {
  if (!side.remote) {
    const start = now();
    const send = (i: number, dueAt: number) => {
      side.expect(first + i, dueAt);
      return side.send(first + i);
    };
    const { lagMaxMs } = await offerLoad(rate, count, send, { start });
    return { start, lagMaxMs, cpuMs: 0, sent: 0, writes: 0 };
  }
  const start = now() + SENDER_LEAD_MS;
  const offered = side.remote.offer({ first, count, rate, startAtMonotonicMs: toMonotonic(start) });
  // Noted after the request went out, so this loop does not eat into the lead; no completion can arrive meanwhile.
  for (let i = 0; i < count; i += 1) side.expect(first + i, start + (i * 1000) / rate);
  return { ...(await offered), start };
}

/** Offers `rate` runs per second to one side, runs `first..first+count-1`, and waits until each completed. */
async function segment(
  turn: Turn,
  probe: Redis,
  first: number,
  count: number,
  rate: number,
  timeoutMs: number,
) {
  turn.current = countdown(count);
  turn.segmentStarts.push(turn.latencies.length);
  const redis = await meter(probe);
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const sender = await offer(turn.side, first, count, rate);
  await turn.current.wait(`${turn.side.name} runs at steady load`, timeoutMs);
  turn.seconds += (now() - sender.start) / 1000;
  turn.nodeCpuMs += cpuMsSince(cpu);
  turn.senderCpuMs += sender.cpuMs;
  const { active, idle } = performance.eventLoopUtilization(loop);
  turn.loopActiveMs += active;
  turn.loopIdleMs += idle;
  const usage = await redis.stop();
  turn.sentCommands += usage.sent + sender.sent;
  turn.writes += usage.writes + sender.writes;
  turn.commands += usage.total;
  turn.redisCpuMs += usage.redisCpuMs;
  turn.senderLagMaxMs = Math.max(turn.senderLagMaxMs, sender.lagMaxMs);
  turn.sent += count;
}

async function summary(turn: Turn, rate: number, options: BenchOptions): Promise<LatencyResult> {
  const achievedPerSecond = turn.sent / turn.seconds;
  const steps = turn.sent * STEPS_PER_RUN;
  return {
    side: turn.side.name,
    sender: options.latencySender,
    offeredPerSecond: rate,
    sent: turn.sent,
    achievedPerSecond,
    senderLagMaxMs: turn.senderLagMaxMs,
    saturated: achievedPerSecond < 0.95 * rate,
    nodeCpuMsPerRun: turn.nodeCpuMs / turn.sent,
    ...(turn.side.remote ? { senderCpuMsPerRun: turn.senderCpuMs / turn.sent } : {}),
    eventLoopBusy: turn.loopActiveMs / (turn.loopActiveMs + turn.loopIdleMs),
    latencyMs: percentiles(turn.latencies),
    segmentsMs: turn.segmentStarts.map((start, i) => {
      const { count, p50, p99, max } = percentiles(turn.latencies.slice(start, turn.segmentStarts[i + 1]));
      return { count, p50, p99, max };
    }),
    perStep: {
      sent: turn.sentCommands / steps,
      writes: turn.writes / steps,
      commands: turn.commands / steps,
      redisCpuUs: (turn.redisCpuMs * 1000) / steps,
    },
    ...(await turn.side.extras()),
  };
}

/**
 * Both sides at `rate` runs per second for `latencySeconds` each, in `latencySegments` turns ordered
 * engine-raw, raw-engine, ... so that neither side always runs first. Each side first runs an unmeasured turn of
 * `latencyWarmupSeconds` at the same rate: both are new instances (the engine's code is closures made per instance,
 * which V8 profiles and optimizes afresh), and the measurement is of the steady state.
 */
export async function latency(
  options: BenchOptions,
  probe: Redis,
  rate: number,
): Promise<{ engine: LatencyResult; raw: LatencyResult }> {
  const { latencySegments: segments, phaseTimeoutMs } = options;
  const perSegment = Math.max(1, Math.round((rate * options.latencySeconds) / segments));
  const sides: Side[] = [];
  try {
    sides.push(await engineSide(options));
    sides.push(await rawSide(options));
    const [engine, raw] = sides.map(prepare) as [Turn, Turn];
    const warmup = Math.round(rate * options.latencyWarmupSeconds);
    if (warmup > 0) {
      for (const turn of [engine, raw]) {
        await segment(turn, probe, segments * perSegment, warmup, rate, phaseTimeoutMs);
        reset(turn);
        turn.side.forget?.();
      }
    }
    for (let s = 0; s < segments; s += 1) {
      for (const turn of s % 2 === 0 ? [engine, raw] : [raw, engine])
        await segment(turn, probe, s * perSegment, perSegment, rate, phaseTimeoutMs);
    }
    return { engine: await summary(engine, rate, options), raw: await summary(raw, rate, options) };
  } finally {
    await Promise.all(sides.map((side) => side.close()));
  }
}
