// A throwaway local Redis Cluster (three masters, no replicas) for tests: started from PATH, destroyed after.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LocalCluster {
  ports: number[];
  /** `host:port,host:port,...`, the value of REDIS_CLUSTER_NODES. */
  nodes: string;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` ports whose cluster bus ports (port + 10000) are free as well. */
async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 9_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const checks = await Promise.all(ports.flatMap((p) => [portFree(p), portFree(p + 10_000)]));
    if (checks.every(Boolean)) return ports;
  }
  throw new Error('no free ports for a local Redis Cluster');
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  });
  return stdout;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`local Redis Cluster: timed out waiting for ${what}`);
}

/** Starts `masters` redis-server processes in cluster mode, joins them and waits for cluster_state:ok. */
export async function startLocalCluster(masters = 3): Promise<LocalCluster> {
  const ports = await freePorts(masters);
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const output: string[] = [];

  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const port of ports) {
      const dir = mkdtempSync(join(tmpdir(), `atlas-cluster-${port}-`));
      dirs.push(dir);
      // prettier-ignore
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'),
        '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d: Buffer) => output.push(`[${port}] ${d.toString()}`));
      child.stderr?.on('data', (d: Buffer) => output.push(`[${port}] ${d.toString()}`));
      child.once('error', (error) => output.push(`[${port}] ${error.message}`));
      children.push(child);
    }
    await until(
      async () => (await Promise.all(ports.map((p) => cli(p, 'PING')))).every((r) => r.trim() === 'PONG'),
      10_000,
      'redis-server to answer PING',
    );
    // prettier-ignore
    await run('redis-cli', [
      '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas', '0', '--cluster-yes',
    ], { timeout: 30_000 });
    await until(
      async () =>
        (await Promise.all(ports.map((p) => cli(p, 'CLUSTER', 'INFO')))).every((info) =>
          /cluster_state:ok/.test(info),
        ),
      30_000,
      'cluster_state:ok on every node',
    );
  } catch (error) {
    await stop();
    const log = output.join('').slice(-4_000);
    throw new Error(`${(error as Error).message}${log ? `\nredis-server output:\n${log}` : ''}`, {
      cause: error,
    });
  }

  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), stop };
}
