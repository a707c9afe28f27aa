// Counts the Redis commands this process sends (a Lua script call counts once) and the socket writes they leave in.
// INFO commandstats cannot tell a round trip from a command a script ran, and it counts every client on the Redis;
// this counter sees only this process, where the engine (or the baseline) runs. It wraps ioredis' one entry point,
// `Redis.prototype.sendCommand`, which direct calls, pipelines and scripts all pass through, and the sockets' own
// write entry points, which see each write the operating system is asked for however commands were batched.
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';

export interface ClientCounts {
  commands: Map<string, number>;
  /** Socket writes (system calls asked for) by this process: Redis is the only peer a benchmark process talks to. */
  writes: number;
}

const commands = new Map<string, number>();
let writes = 0;
const marker = Symbol.for('atlas.bench.counted');

export function installClientCounter(): void {
  const original = Redis.prototype.sendCommand;
  if (marker in original) return;
  const counted: typeof original = function (this: Redis, command, stream) {
    commands.set(command.name, (commands.get(command.name) ?? 0) + 1);
    return original.call(this, command, stream);
  };
  Redis.prototype.sendCommand = Object.assign(counted, { [marker]: true });
  const socket = Socket.prototype as Socket & Required<Pick<Socket, '_writev'>>;
  const write = socket._write;
  const writev = socket._writev;
  socket._write = function (this: Socket, ...args: Parameters<Socket['_write']>) {
    writes += 1;
    return write.apply(this, args);
  };
  socket._writev = function (this: Socket, ...args: Parameters<Required<Socket>['_writev']>) {
    writes += 1;
    return writev.apply(this, args);
  };
}

const timed = Symbol.for('atlas.bench.timed');

/**
 * Tells `onReply` each command's time from its send to its reply being handled in this process (so the event loop's
 * wait is in it), blocking reads excepted, through the same entry point as the counter.
 */
export function installRoundTripTimer(onReply: (ms: number) => void): void {
  const original = Redis.prototype.sendCommand;
  if (timed in original) return;
  const timing: typeof original = function (this: Redis, command, stream) {
    const sentAt = performance.now();
    const result = original.call(this, command, stream);
    if (command.name !== 'bzpopmin')
      command.promise?.then(
        () => onReply(performance.now() - sentAt),
        () => undefined,
      );
    return result;
  };
  Redis.prototype.sendCommand = Object.assign(timing, { [timed]: true });
}

export function clientCounts(): ClientCounts {
  return { commands: new Map(commands), writes };
}
