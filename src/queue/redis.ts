// Redis connections: one node or a cluster, chosen by configuration. The only module that creates ioredis clients.
import type { Writable } from 'node:stream';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnections {
  /** For the engine's own commands. */
  commands: RedisClient;
  /** For BullMQ queues and workers (they duplicate it for blocking reads). */
  queues: RedisClient;
  close(): Promise<void>;
}

const coalesced = Symbol('atlas.coalescedWrites');

/** A corked batch this large is written at once, so no flush (a reconnect replaying its queue) builds one huge write. */
const MAX_COALESCED_BYTES = 1 << 20;

/**
 * Sends the commands a connection is given close together in one socket write: the socket is corked at the first
 * command and uncorked on `process.nextTick`. Commands issued in promise reactions (an awaited reply going on to its
 * next command) share the write; from a bare callback (a timer, a socket event) the tick comes before that callback's
 * promise reactions, so they may take a second write. Concurrent jobs whose replies arrive together issue their next
 * commands in the same run, so they share a write. A write is one system call, and system calls are most of what a
 * busy worker spends on Redis. No command waits for a later turn of the event loop, unlike ioredis's auto-pipelining,
 * which defers every command to `setImmediate` (and builds a pipeline object per flush). Order is untouched: corking
 * only holds bytes back. The handshake ioredis writes as a socket connects goes out before the patch applies.
 */
function coalesceWrites(redis: Redis): void {
  const patch = () => {
    const stream = redis.stream as (Writable & { [coalesced]?: true }) | undefined;
    if (!stream || stream[coalesced]) return;
    stream[coalesced] = true;
    const write = stream.write;
    let corked = false;
    const flush = () => {
      corked = false;
      stream.uncork();
    };
    stream.write = function (this: Writable, ...args: Parameters<Writable['write']>) {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(flush);
      }
      const accepted = write.apply(this, args);
      if (stream.writableLength >= MAX_COALESCED_BYTES) {
        stream.uncork();
        stream.cork();
      }
      return accepted;
    } as Writable['write'];
  };
  // ioredis opens a new socket on every reconnect and announces each with 'connect'.
  redis.on('connect', patch);
  patch();
}

function create(config: Config): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
    ...(config.REDIS_TLS ? { tls: {} } : {}),
  };
  if (config.REDIS_CLUSTER_NODES.length > 0) {
    const nodes = config.REDIS_CLUSTER_NODES.map((node) => {
      const [host, port] = node.split(':');
      return { host: host!, port: Number(port) };
    });
    const cluster = new Cluster(nodes, {
      redisOptions: options,
      ...(config.REDIS_TLS ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    });
    cluster.on('+node', coalesceWrites);
    return cluster;
  }
  const redis = new Redis(config.REDIS_URL, options);
  coalesceWrites(redis);
  return redis;
}

async function ready(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      client.off('ready', onReady);
      reject(error);
    };
    const onReady = () => {
      client.off('error', onError);
      resolve();
    };
    client.once('ready', onReady);
    client.once('error', onError);
  });
}

/** Opens the engine's connections and waits until they are ready (BullMQ under ESM wants a ready client). */
export async function connectRedis(config: Config): Promise<RedisConnections> {
  const commands = create(config);
  const queues = create(config);
  await Promise.all([ready(commands), ready(queues)]);
  return {
    commands,
    queues,
    async close() {
      await Promise.allSettled([commands.quit(), queues.quit()]);
    },
  };
}
