// The engine's queues, their prefixes and default job options. The one place that creates BullMQ queues.
import { Queue, type DefaultJobOptions } from 'bullmq';
import type { Config } from '../config/config.js';
import { fnv1a } from '../shared/ids.js';
import { repeatStrategy } from './schedules.js';
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
export function queuePrefix(config: Pick<Config, 'QUEUE_PREFIX'>, name: string): string {
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

/**
 * The `actions` queue split by organization into `actions-0..N-1` when `ACTION_QUEUE_PARTITIONS` > 1, so node jobs
 * spread over the shards of a cluster; one partition keeps the plain name `actions`.
 */
export function actionQueueNames(partitions: number): string[] {
  return partitions <= 1 ? ['actions'] : Array.from({ length: partitions }, (_, i) => `actions-${i}`);
}

export interface Queues extends Record<Exclude<QueueName, 'actions'>, Queue> {
  /** The action partitions; an organization's node jobs always go to the same one. */
  actions: Queue[];
  /** Every queue by its name, partitions included. */
  all: Map<string, Queue>;
  actionsFor(orgId: string): Queue;
}

export function createQueues(connection: RedisClient, config: Config): Queues {
  const options = defaultJobOptions(config);
  const open = (name: string) =>
    new Queue(name, {
      connection,
      prefix: queuePrefix(config, name),
      ...(name === 'scheduled' ? { settings: { repeatStrategy } } : {}),
      defaultJobOptions:
        name === 'dead-letter' ? { removeOnComplete: false, removeOnFail: false, attempts: 1 } : options,
    });
  const all = new Map<string, Queue>();
  for (const name of [
    ...queueNames.filter((n) => n !== 'actions'),
    ...actionQueueNames(config.ACTION_QUEUE_PARTITIONS),
  ]) {
    all.set(name, open(name));
  }
  const actions = actionQueueNames(config.ACTION_QUEUE_PARTITIONS).map((name) => all.get(name)!);
  const named = Object.fromEntries(
    queueNames.filter((n) => n !== 'actions').map((n) => [n, all.get(n)!]),
  ) as Record<Exclude<QueueName, 'actions'>, Queue>;
  return {
    ...named,
    actions,
    all,
    actionsFor: (orgId) => actions[fnv1a(orgId) % actions.length]!,
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.allSettled([...queues.all.values()].map((queue) => queue.close()));
}
