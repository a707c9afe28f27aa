// Counts the Redis commands this process sends (a Lua script call counts once) and the socket writes they leave in.
// INFO commandstats cannot tell a round trip from a command a script ran, and it counts every client on the Redis;
// this counter sees only this process, where the engine (or the baseline) runs. It wraps ioredis' one entry point,
// `Redis.prototype.sendCommand`, which direct calls, pipelines, auto-pipelines and scripts all pass through.
import { Redis } from 'ioredis';

export interface ClientCounts {
  commands: Map<string, number>;
  /** Socket writes: one per command sent on its own, one per pipeline (or auto-pipeline) flush. */
  writes: number;
}

const commands = new Map<string, number>();
let writes = 0;
const pipelines = new WeakSet<object>();
const marker = Symbol.for('atlas.bench.counted');

export function installClientCounter(): void {
  const original = Redis.prototype.sendCommand;
  if (marker in original) return;
  const counted: typeof original = function (this: Redis, command, stream) {
    commands.set(command.name, (commands.get(command.name) ?? 0) + 1);
    if (!stream) writes += 1;
    else if (!pipelines.has(stream)) {
      pipelines.add(stream);
      writes += 1;
    }
    return original.call(this, command, stream);
  };
  Redis.prototype.sendCommand = Object.assign(counted, { [marker]: true });
}

export function clientCounts(): ClientCounts {
  return { commands: new Map(commands), writes };
}
