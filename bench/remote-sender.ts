// The parent's end of bench/sender.ts: forks it with this process's loader flags (tsx) and sends it one request at a
// time over IPC.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { SenderReply, SenderRequest } from './sender.js';

export type Offered = Extract<SenderReply, { type: 'offered' }>;

/** How long a closing sender may take to close its connections and exit before it is killed. */
const CLOSE_TIMEOUT_MS = 5000;

export interface RemoteSender {
  offer(request: Omit<Extract<SenderRequest, { type: 'offer' }>, 'type'>): Promise<Offered>;
  close(): Promise<void>;
}

export async function startSender(init: Extract<SenderRequest, { type: 'init' }>): Promise<RemoteSender> {
  const child = fork(fileURLToPath(new URL('./sender.ts', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let waiting: { resolve(reply: SenderReply): void; reject(error: Error): void } | undefined;
  let exit: string | undefined;
  child.on('message', (reply: SenderReply) => {
    const waiter = waiting;
    waiting = undefined;
    if (reply.type === 'failed') waiter?.reject(new Error(`bench sender: ${reply.error}`));
    else waiter?.resolve(reply);
  });
  const gone = (why: string) => {
    exit ??= why;
    waiting?.reject(new Error(exit));
    waiting = undefined;
  };
  child.on('exit', (code, signal) => gone(`bench sender exited (${signal ?? code})`));
  child.on('error', (error) => gone(`bench sender: ${error.message}`));
  const request = (message: SenderRequest) =>
    new Promise<SenderReply>((resolve, reject) => {
      if (exit ?? !child.connected) return reject(new Error(exit ?? 'bench sender: not connected'));
      if (waiting) return reject(new Error('bench sender: one request at a time'));
      waiting = { resolve, reject };
      child.send(message);
    });

  try {
    await request(init);
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    offer: async (offer) => (await request({ type: 'offer', ...offer })) as Offered,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      const stuck = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      await request({ type: 'close' }).catch(() => child.kill());
      await exited;
      clearTimeout(stuck);
    },
  };
}
