// For the local stack and tests: find a Redis, or start one from PATH with its data in a local folder.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';

export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

export const installHint =
  'Redis is not running and redis-server is not on PATH. Install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL.';

/**
 * Makes sure a Redis answers on host:port: uses the one running, else starts `redis-server` with its data under
 * `dir`. Returns a stop function for a server it started (undefined when one was already running).
 */
export async function ensureLocalRedis(port = 6379, dir = '.local/redis'): Promise<(() => void) | undefined> {
  if (await redisAnswers('127.0.0.1', port)) return undefined;
  if (spawnSync('redis-server', ['--version']).error) throw new Error(installHint);
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', folder, '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
      detached: false,
    },
  );
  for (let i = 0; i < 50; i += 1) {
    if (await redisAnswers('127.0.0.1', port)) return () => child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`started redis-server on port ${port} but it does not answer`);
}
