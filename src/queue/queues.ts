// The engine's queues, their prefixes and default job options. The one place that creates BullMQ queues.
import { Queue, type AdvancedRepeatOptions, type DefaultJobOptions } from 'bullmq';
import { MAX_ACTION_QUEUE_PARTITIONS, type Config } from '../config/config.js';
import { fnv1a } from '../shared/ids.js';
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

/** The action queues of every other partition count: they may still hold jobs from before a change of the count. */
export function retiredActionQueueNames(partitions: number): string[] {
  const current = new Set(actionQueueNames(partitions));
  return ['actions', ...actionQueueNames(MAX_ACTION_QUEUE_PARTITIONS)].filter((name) => !current.has(name));
}

/**
 * The states of a job that has not finished, as BullMQ keeps them (a list or sorted set each, deleted when empty); a
 * retired action queue holding none is drained. `waiting-children` is left out: the engine adds no flows.
 */
export const unfinishedStates = ['wait', 'prioritized', 'delayed', 'active'] as const;

/** Whether `name` is an action queue under some partition count (`actions`, `actions-0` … `actions-63`). */
export function isActionQueue(name: string): boolean {
  const index = /^actions-(0|[1-9]\d?)$/.exec(name)?.[1];
  return name === 'actions' || (index !== undefined && Number(index) < MAX_ACTION_QUEUE_PARTITIONS);
}

export interface Queues extends Record<Exclude<QueueName, 'actions'>, Queue> {
  /** The action partitions; an organization's node jobs always go to the same one. */
  actions: Queue[];
  /** Every queue by its name, partitions included. */
  all: Map<string, Queue>;
  actionsFor(orgId: string): Queue;
  /**
   * The action queues of other partition counts that hold jobs in `states` (default: unfinished ones). Nothing
   * consumes them: a worker moves their unfinished jobs to the current partitions (`./partitions.ts`). Asks one
   * EXISTS per retired queue of its state keys (they share the queue's slot), all sent at once, and opens only the
   * queues that hold jobs: opening a BullMQ queue costs a version check (INFO) and writes its meta.
   */
  retiredHolding(states?: readonly string[]): Promise<Queue[]>;
  /** A queue by name, retired action queues included (a dead-letter entry names the queue its job failed in). */
  byName(name: string): Queue | undefined;
  /** Closes every queue opened, retired ones included (the connection stays open). */
  close(): Promise<void>;
}

/** `settings`: BullMQ advanced settings per queue name (the scheduler's queue brings its repeat strategy). */
export function createQueues(
  connection: RedisClient,
  config: Config,
  settings: Record<string, AdvancedRepeatOptions> = {},
): Queues {
  const options = defaultJobOptions(config);
  const open = (name: string) =>
    new Queue(name, {
      connection,
      prefix: queuePrefix(config, name),
      ...(settings[name] ? { settings: settings[name] } : {}),
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
  const retired = new Map<string, Queue>();
  const openRetired = (name: string) => {
    if (!retired.has(name)) retired.set(name, open(name));
    return retired.get(name)!;
  };
  return {
    ...named,
    actions,
    all,
    actionsFor: (orgId) => actions[fnv1a(orgId) % actions.length]!,
    async retiredHolding(states = unfinishedStates) {
      const names = retiredActionQueueNames(config.ACTION_QUEUE_PARTITIONS);
      const held = await Promise.all(
        names.map((name) =>
          connection.exists(...states.map((state) => `${queuePrefix(config, name)}:${name}:${state}`)),
        ),
      );
      return names.filter((_, i) => (held[i] ?? 0) > 0).map(openRetired);
    },
    byName: (name) => all.get(name) ?? (isActionQueue(name) ? openRetired(name) : undefined),
    async close() {
      await Promise.allSettled([...all.values(), ...retired.values()].map((queue) => queue.close()));
    },
  };
}
