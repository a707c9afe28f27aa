// The parent's end of bench/sender.ts: forks it with this process's loader flags (tsx) and sends it one request at a
// time over IPC.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { SenderReply, SenderRequest } from './sender.js';

export type Offered = Extract<SenderReply, { type: 'offered' }>;

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
  child.on('exit', (code, signal) => {
    exit = `bench sender exited (${signal ?? code})`;
    waiting?.reject(new Error(exit));
    waiting = undefined;
  });
  const request = (message: SenderRequest) =>
    new Promise<SenderReply>((resolve, reject) => {
      if (exit) return reject(new Error(exit));
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
      if (exit) return;
      const exited = once(child, 'exit');
      await request({ type: 'close' }).catch(() => child.kill());
      await exited;
    },
  };
}
