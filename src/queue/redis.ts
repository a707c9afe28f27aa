// Redis connections: one node or a cluster, chosen by configuration. The only module that creates ioredis clients.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnections {
  /** For the engine's own commands; auto-pipelined so concurrent jobs share round trips. */
  commands: RedisClient;
  /** For BullMQ queues and workers (they duplicate it for blocking reads). */
  queues: RedisClient;
  close(): Promise<void>;
}

function create(config: Config, autoPipeline: boolean): RedisClient {
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    enableAutoPipelining: autoPipeline,
    ...(config.REDIS_PASSWORD ? { password: config.REDIS_PASSWORD } : {}),
    ...(config.REDIS_TLS ? { tls: {} } : {}),
  };
  if (config.REDIS_CLUSTER_NODES.length > 0) {
    const nodes = config.REDIS_CLUSTER_NODES.map((node) => {
      const [host, port] = node.split(':');
      return { host: host!, port: Number(port) };
    });
    return new Cluster(nodes, {
      enableAutoPipelining: autoPipeline,
      redisOptions: options,
      ...(config.REDIS_TLS ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    });
  }
  return new Redis(config.REDIS_URL, options);
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
  const commands = create(config, true);
  const queues = create(config, false);
  await Promise.all([ready(commands), ready(queues)]);
  return {
    commands,
    queues,
    async close() {
      await Promise.allSettled([commands.quit(), queues.quit()]);
    },
  };
}
