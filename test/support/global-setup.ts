// Integration tests need a real Redis: use the one answering on 127.0.0.1:6379, or start redis-server.
import { ensureLocalRedis } from '../../src/dev/local-redis.js';
import { ensureUi } from '../../scripts/ensure-ui.mjs';

let stop: (() => void) | undefined;

export async function setup(): Promise<void> {
  ensureUi();
  if (!process.env.REDIS_URL) stop = await ensureLocalRedis(6379, '.local/redis-test');
}

export async function teardown(): Promise<void> {
  stop?.();
}
