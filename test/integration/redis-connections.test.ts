// The engine's Redis connections coalesce the commands issued in one run of JavaScript into one socket write, on a
// real Redis, and keep doing so after a reconnect.
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { connectRedis, type RedisConnections } from '../../src/queue/redis.js';
import { eventually } from '../support/harness.js';

/** Counts the writes a connection's current socket hands to the operating system (one per `_write` or `_writev`). */
function countWrites(redis: Redis): { readonly count: number } {
  const stream = redis.stream as Writable;
  const counter = { count: 0 };
  const write = stream._write.bind(stream);
  const writev = stream._writev?.bind(stream);
  stream._write = (...args) => {
    counter.count += 1;
    write(...args);
  };
  if (writev)
    stream._writev = (...args) => {
      counter.count += 1;
      writev(...args);
    };
  return counter;
}

describe('Redis connections', () => {
  const prefix = `t${randomBytes(5).toString('hex')}`;
  let connections: RedisConnections;
  let redis: Redis;

  beforeAll(async () => {
    connections = await connectRedis(
      loadConfig({ NODE_ENV: 'test', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
    );
    redis = connections.commands as Redis;
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await connections.close();
  });

  const keysOf = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${prefix}:${tag}:${i}`);

  it('sends the commands of one run in one write, each answered in order', async () => {
    const writes = countWrites(redis);
    const keys = keysOf(20, 'same-run');
    await Promise.all(keys.map((key, i) => redis.set(key, String(i))));
    expect(writes.count).toBe(1);
    expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual(keys.map((_, i) => String(i)));
    expect(writes.count).toBe(2);
  });

  it('writes a command by the next tick, without waiting for a later turn of the event loop', async () => {
    const writes = countWrites(redis);
    const [key] = keysOf(1, 'sequential');
    const first = redis.incr(key!);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(writes.count).toBe(1);
    await first;
    for (let i = 1; i < 5; i += 1) await redis.incr(key!);
    expect(writes.count).toBe(5);
    expect(await redis.get(key!)).toBe('5');
  });

  it('writes a batch early once it holds a megabyte', async () => {
    const writes = countWrites(redis);
    const keys = keysOf(3, 'large');
    const value = 'v'.repeat(600 * 1024);
    await Promise.all(keys.map((key) => redis.set(key, value)));
    expect(writes.count).toBe(2);
    expect((await redis.strlen(keys[2]!)) as number).toBe(value.length);
  });

  it('coalesces on the new socket after a reconnect', async () => {
    const before = redis.stream;
    redis.disconnect(true);
    await eventually(async () => (redis.status === 'ready' && redis.stream !== before) || undefined);
    const writes = countWrites(redis);
    const keys = keysOf(10, 'reconnected');
    await Promise.all(keys.map((key) => redis.set(key, 'x')));
    expect(writes.count).toBe(1);
  });

  it('applies to the connection BullMQ uses too', async () => {
    const queues = connections.queues as Redis;
    const writes = countWrites(queues);
    await Promise.all(keysOf(5, 'queues').map((key) => queues.set(key, '1')));
    expect(writes.count).toBe(1);
  });
});
