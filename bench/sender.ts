// The load generator of (c) in a process of its own, as production has it: events reach the engine through the ingest
// function (a Lambda in AWS), not through the worker containers, so the sends do not share the workers' event loop.
// The engine's sender is the ingest function's own composition (`createIngestServices`, `createIngestApi`); the
// baseline's is a BullMQ queue adding first jobs. The parent (bench/latency.ts) forks this file and drives it over IPC.
import { clientCounts, installClientCounter } from './client-commands.js';
import { benchEvent } from './bench-event.js';
import type { BenchOptions } from './options.js';
import { startRawChain } from './raw-chain.js';
import { growth, sum } from './redis-stats.js';
import { cpuMsSince, fromMonotonic, offerLoad } from './util.js';
import { loadConfig } from '../src/config/config.js';
import { createIngestApi } from '../src/http/ingest-routes.js';
import { createIngestServices } from '../src/ingest-app.js';
import { createLogger } from '../src/observability/logger.js';

/** What the engine's sender needs: where the engine under test keeps its keys, and the organization's API key. */
export interface EngineTarget {
  prefix: string;
  apiKey: string;
}

export type SenderRequest =
  | { type: 'init'; side: 'engine'; options: BenchOptions; target: EngineTarget }
  | { type: 'init'; side: 'raw'; options: BenchOptions; phase: string }
  /** Sends runs `first..first+count-1` at `rate` per second, the first due at `startAtMonotonicMs` (see `toMonotonic`). */
  | { type: 'offer'; first: number; count: number; rate: number; startAtMonotonicMs: number }
  | { type: 'close' };

export type SenderReply =
  | { type: 'ready' }
  | { type: 'offered'; lagMaxMs: number; cpuMs: number; sent: number; writes: number }
  | { type: 'closed' }
  | { type: 'failed'; error: string };

interface Sender {
  send(i: number): Promise<void>;
  close(): Promise<void>;
}

async function engineSender(options: BenchOptions, target: EngineTarget): Promise<Sender> {
  const config = loadConfig({
    ...process.env,
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: target.prefix,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const services = await createIngestServices(config, createLogger(config.LOG_LEVEL));
  const api = createIngestApi(services);
  const headers = { authorization: `Bearer ${target.apiKey}`, 'content-type': 'application/json' };
  return {
    async send(i) {
      const body = JSON.stringify(benchEvent('latency', i));
      const response = await api({ method: 'POST', path: '/v1/events', query: {}, headers, body });
      if (response.status !== 202)
        throw new Error(`post events: ${response.status} ${JSON.stringify(response.body)}`);
    },
    close: () => services.close(),
  };
}

async function rawSender(options: BenchOptions, phase: string): Promise<Sender> {
  const chain = await startRawChain(options, phase);
  return { send: (i) => chain.add(i), close: () => chain.close() };
}

function reply(message: SenderReply): void {
  process.send!(message);
}

installClientCounter();
let sender: Sender | undefined;

async function handle(request: SenderRequest): Promise<void> {
  switch (request.type) {
    case 'init':
      sender =
        request.side === 'engine'
          ? await engineSender(request.options, request.target)
          : await rawSender(request.options, request.phase);
      return reply({ type: 'ready' });
    case 'offer': {
      const active = sender;
      if (!active) throw new Error('offer before init');
      const before = clientCounts();
      const cpu = process.cpuUsage();
      const start = fromMonotonic(request.startAtMonotonicMs);
      const { lagMaxMs } = await offerLoad(
        request.rate,
        request.count,
        (i) => active.send(request.first + i),
        {
          start,
        },
      );
      const after = clientCounts();
      return reply({
        type: 'offered',
        lagMaxMs,
        cpuMs: cpuMsSince(cpu),
        sent: sum(growth(before.commands, after.commands, {})),
        writes: after.writes - before.writes,
      });
    }
    case 'close':
      await sender?.close();
      reply({ type: 'closed' });
      return process.disconnect();
  }
}

process.on('message', (request: SenderRequest) => {
  handle(request).catch((error: unknown) =>
    reply({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});

// The benchmark stopped (or died) without closing this sender: its Redis connections would keep it running.
process.on('disconnect', () => process.exit(0));

if (!process.send) {
  console.error('bench/sender.ts is started by bench/latency.ts, which drives it over IPC');
  process.exit(2);
}
