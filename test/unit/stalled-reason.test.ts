import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STALLED_TOO_OFTEN } from '../../src/queue/workers.js';

// The workers dead-letter a job BullMQ failed for stalling too often by its failure reason, compared exactly (a step's
// own error may mention stalling): the reason must be the one the installed BullMQ writes.
describe('the reason BullMQ gives a job that stalled too often', () => {
  it('is the one the workers look for', () => {
    const require = createRequire(import.meta.url);
    const commands = join(dirname(require.resolve('bullmq/package.json')), 'dist', 'cjs', 'commands');
    const script = readdirSync(commands).find((file) => file.startsWith('moveStalledJobsToWait'));
    expect(script).toBeDefined();
    const reasons = [...readFileSync(join(commands, script!), 'utf8').matchAll(/failedReason = "([^"]+)"/g)];
    expect(reasons.map((match) => match[1])).toEqual([STALLED_TOO_OFTEN]);
  });
});
