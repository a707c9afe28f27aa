// The engine's queues, their prefixes and default job options. The one place that creates BullMQ queues.
import { createHash } from 'node:crypto';
import { Queue, type DefaultJobOptions } from 'bullmq';
import type { Config } from '../config/config.js';
import type { RedisClient } from './redis.js';

export const queueNames = [
  'triggers',
  'actions',
  'scheduled',
  'wait',
  'analytics',
  'cleanup',
  'dead-letter',
] as const;
export type QueueName = (typeof queueNames)[number];

/** Each queue gets its own hash tag, so its keys live in one cluster slot and queues spread over the cluster. */
export function queuePrefix(config: Pick<Config, 'QUEUE_PREFIX'>, name: QueueName): string {
  return `${config.QUEUE_PREFIX}:{q.${name}}`;
}

export function defaultJobOptions(
  config: Pick<Config, 'JOB_ATTEMPTS' | 'JOB_BACKOFF_MS'>,
): DefaultJobOptions {
  return {
    attempts: config.JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.JOB_BACKOFF_MS },
    removeOnComplete: { count: 1000, age: 3600 },
    removeOnFail: { count: 10_000, age: 14 * 24 * 3600 },
  };
}

export type Queues = Record<QueueName, Queue>;

export function createQueues(connection: RedisClient, config: Config): Queues {
  const options = defaultJobOptions(config);
  const entries = queueNames.map((name) => {
    const queue = new Queue(name, {
      connection,
      prefix: queuePrefix(config, name),
      defaultJobOptions:
        name === 'dead-letter' ? { removeOnComplete: false, removeOnFail: false, attempts: 1 } : options,
    });
    return [name, queue] as const;
  });
  return Object.fromEntries(entries) as Queues;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.allSettled(Object.values(queues).map((queue) => queue.close()));
}

/** Short, ':'-free hash for job ids built from values that may hold any character. */
export function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 24);
}
