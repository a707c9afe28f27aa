// The benchmark's own Redis connection: INFO commandstats and cpu snapshots, their deltas, and key cleanup.
import { Redis } from 'ioredis';
import { clientCounts, type ClientCounts } from './client-commands.js';

/** A ready client; BullMQ under ESM wants one with maxRetriesPerRequest: null. */
export async function connect(url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  if (redis.status === 'ready') return redis;
  await new Promise<void>((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('error', reject);
  });
  return redis;
}

interface Snapshot {
  calls: Map<string, number>;
  /** Redis server CPU (user + system), milliseconds. */
  cpuMs: number;
  client: ClientCounts;
}

export interface CommandUsage {
  /** Server side (INFO commandstats): every command Redis ran, those inside Lua scripts included, any client. */
  total: number;
  /** Script invocations (EVALSHA, EVAL, FCALL): each is one command sent that runs many inside. */
  scripts: number;
  /** Server-side commands by calls, most first. */
  byCommand: [string, number][];
  redisCpuMs: number;
  /** Client side: commands this process sent (a script call counts once). */
  sent: number;
  /** Client side: socket writes those commands left in (pipelines and auto-pipelines batch them). */
  writes: number;
  sentByCommand: [string, number][];
}

async function snapshot(redis: Redis): Promise<Snapshot> {
  const info = await redis.info('commandstats', 'cpu');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  const cpu = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return { calls, cpuMs: (cpu('used_cpu_user') + cpu('used_cpu_sys')) * 1000, client: clientCounts() };
}

const scriptCommands = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);

/** Per-command growth from `before` to `after`, minus the benchmark's `own` commands and its INFO calls. */
export function growth(before: Map<string, number>, after: Map<string, number>, own: Record<string, number>) {
  const entries: [string, number][] = [];
  for (const [name, calls] of after) {
    if (name === 'info') continue; // the measurement itself
    const delta = calls - (before.get(name) ?? 0) - (own[name] ?? 0);
    if (delta > 0) entries.push([name, delta]);
  }
  return entries.sort((a, b) => b[1] - a[1]);
}

export const sum = (entries: [string, number][]) => entries.reduce((total, [, calls]) => total + calls, 0);

function usage(before: Snapshot, after: Snapshot, own: Record<string, number>): CommandUsage {
  const byCommand = growth(before.calls, after.calls, own);
  const sentByCommand = growth(before.client.commands, after.client.commands, own);
  const ownWrites = sum(Object.entries(own)) + 1; // polls, and the INFO that took `before`
  return {
    total: sum(byCommand),
    scripts: sum(byCommand.filter(([name]) => scriptCommands.has(name))),
    byCommand,
    redisCpuMs: after.cpuMs - before.cpuMs,
    sent: sum(sentByCommand),
    writes: after.client.writes - before.client.writes - ownWrites,
    sentByCommand,
  };
}

/**
 * Starts counting Redis commands server-wide. `stop(own)` returns the delta, minus `own` commands the benchmark
 * itself issued (such as progress polls). Anything else running on the same Redis is counted too.
 */
export async function meter(redis: Redis) {
  const before = await snapshot(redis);
  return {
    async stop(own: Record<string, number> = {}): Promise<CommandUsage> {
      return usage(before, await snapshot(redis), own);
    },
  };
}

/** Divides every count of a usage by `per` (steps, executions, events). */
export function perUnit(usage: CommandUsage, per: number) {
  return {
    total: usage.total / per,
    scripts: usage.scripts / per,
    redisCpuMs: usage.redisCpuMs / per,
    sent: usage.sent / per,
    writes: usage.writes / per,
    top: usage.byCommand.slice(0, 10).map(([name, calls]) => ({ command: name, calls: calls / per })),
    topSent: usage.sentByCommand.slice(0, 10).map(([name, calls]) => ({ command: name, calls: calls / per })),
  };
}
export type PerUnit = ReturnType<typeof perUnit>;

/** Deletes every key under `prefix`; returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
