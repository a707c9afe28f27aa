// The nurture example of DESIGN.md on a real three-master Redis Cluster: every multi-key operation of the engine
// (Lua scripts, MULTI, BullMQ's scripts) must stay inside one hash slot, or this test fails with CROSSSLOT.
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptsBeforeMove } from '../../src/queue/job-marks.js';
import { startLocalCluster, type LocalCluster } from '../support/cluster.js';
import { eventually, nurtureDefinition, startHarness, type Harness } from '../support/harness.js';

/** Every error any job of the engine's queues met, even one a retry got past: `queue job: reason`. */
async function jobErrors(harness: Harness): Promise<string[]> {
  const perQueue = await Promise.all(
    [...harness.engine.queues.all].map(async ([name, queue]) => {
      const jobs = await queue.getJobs(['completed', 'failed', 'delayed', 'wait', 'active']);
      return jobs
        .filter((job) => job.failedReason || (job.stacktrace ?? []).length > 0)
        .map((job) => `${name} ${job.id}: ${job.failedReason ?? job.stacktrace?.[0]}`);
    }),
  );
  return perQueue.flat();
}

/** Runs a wait; if it fails, the error names the job errors that explain it (such as CROSSSLOT). */
async function explained<T>(harness: Harness, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    const errors = await jobErrors(harness).catch((e: Error) => [`could not list jobs: ${e.message}`]);
    throw new Error(`${(error as Error).message}\njob errors:\n${errors.join('\n') || '(none)'}`, {
      cause: error,
    });
  }
}

describe('the nurture example on a Redis Cluster', () => {
  let cluster: LocalCluster | undefined;
  let h: Harness | undefined;
  let apiKey: string;

  beforeAll(async () => {
    cluster = await startLocalCluster(3);
    h = await startHarness({ env: { REDIS_CLUSTER_NODES: cluster.nodes, ACTION_QUEUE_PARTITIONS: '3' } });
    ({ apiKey } = await h.createOrg());
  }, 60_000);

  afterAll(async () => {
    try {
      await h?.close();
    } finally {
      await cluster?.stop();
    }
  }, 60_000);

  it('runs every step with keys spread over the masters', async () => {
    const harness = h!;
    expect(harness.engine.redis).toBeInstanceOf(Cluster);

    const created = await harness.call('POST', '/v1/workflows', nurtureDefinition(), apiKey);
    expect(created.status).toBe(201);
    const published = await harness.call(
      'POST',
      `/v1/workflows/${created.body.id}/publish`,
      undefined,
      apiKey,
    );
    expect(published.status).toBe(200);

    const lead = {
      id: 'sarah',
      email: 'sarah@example.com',
      phone: '+447700900123',
      firstName: 'Sarah',
      source: 'instagram',
    };
    const accepted = await harness.call(
      'POST',
      '/v1/events',
      { id: 'evt-1', type: 'new_lead', lead },
      apiKey,
    );
    expect(accepted.status).toBe(202);

    const list = await explained(harness, () =>
      eventually(
        async () => {
          const r = await harness.call(
            'GET',
            `/v1/workflows/${created.body.id}/executions`,
            undefined,
            apiKey,
          );
          return r.body.executions.length > 0 ? r.body.executions : undefined;
        },
        10_000,
        'an execution',
      ),
    );
    const execution = await explained(harness, () =>
      eventually(
        async () => {
          const r = await harness.call('GET', `/v1/executions/${list[0].id}`, undefined, apiKey);
          if (r.body.status === 'failed') throw new Error(`execution failed: ${JSON.stringify(r.body)}`);
          return r.body.status === 'completed' ? r.body : undefined;
        },
        10_000,
        'the execution to complete',
      ),
    );

    expect(execution.steps.map((s: { nodeId: string }) => s.nodeId)).toEqual([
      'start',
      'welcome',
      'pause',
      'opened',
      'nudge',
      'tag',
    ]);
    expect(execution.steps.find((s: { nodeId: string }) => s.nodeId === 'opened').edge).toBe('false');
    const outbox = await harness.call('GET', '/v1/outbox', undefined, apiKey);
    expect(outbox.body.messages.map((m: { kind: string; to: string }) => [m.kind, m.to])).toEqual([
      ['sms', '+447700900123'],
      ['email', 'sarah@example.com'],
    ]);
    expect(outbox.body.messages[1].subject).toBe('Welcome, Sarah');
    const stored = await harness.call('GET', '/v1/leads/sarah', undefined, apiKey);
    expect(stored.body.tags).toEqual(['nurtured']);

    // No job failed, not even once before a successful retry (a CROSSSLOT error would leave a failed reason).
    expect(await jobErrors(harness)).toEqual([]);

    // The data really is sharded: more than one master holds keys of this run.
    const redis = harness.engine.redis as Cluster;
    const sizes = await Promise.all(redis.nodes('master').map((node) => node.dbsize()));
    expect(sizes.filter((size) => size > 0).length).toBeGreaterThan(1);
    // Every node's connection coalesces its writes (its socket's write is the engine's own, not the prototype's).
    for (const node of redis.nodes('all')) expect(Object.hasOwn(node.stream, 'write')).toBe(true);
  });

  it('moves the jobs of a retired partition after a restart with another count, each step in one slot', async () => {
    // Arrange: with 3 partitions, a node job held on its paused partition and a delayed job with an attempt made
    const before = await startHarness({
      env: { REDIS_CLUSTER_NODES: cluster!.nodes, ACTION_QUEUE_PARTITIONS: '3' },
    });
    const { orgId, apiKey: key } = await before.createOrg();
    const created = await before.call('POST', '/v1/workflows', nurtureDefinition(), key);
    await before.call('POST', `/v1/workflows/${created.body.id}/publish`, undefined, key);
    const partition = before.engine.queues.actionsFor(orgId);
    await partition.pause();
    const lead = {
      id: 'lee',
      email: 'lee@example.com',
      phone: '+447700900124',
      firstName: 'Lee',
      source: 'facebook',
    };
    await before.call('POST', '/v1/events', { id: 'evt-2', type: 'new_lead', lead }, key);
    await eventually(async () => ((await partition.getJobCounts('wait')).wait === 1 ? true : undefined));
    const later = {
      orgId,
      executionId: 'x_later',
      workflowId: 'wf',
      version: 1,
      nodeId: 'n',
      iteration: 0,
      arms: [],
    };
    await partition.add('n', later, { jobId: 'later', delay: 60_000 });
    await before.engine.redis.hset(partition.toKey('later'), 'atm', 1, 'ats', 1);
    await before.engine.close();

    // Act
    const after = await startHarness({
      env: { REDIS_CLUSTER_NODES: cluster!.nodes, ACTION_QUEUE_PARTITIONS: '1', QUEUE_PREFIX: before.prefix },
    });
    try {
      // Assert: the execution completes on `actions`, the delayed job waits there with the attempts it has left
      // (2 of 3, counting on from the one made), nothing failed
      const execution = await eventually(
        async () => {
          const r = await after.call('GET', `/v1/workflows/${created.body.id}/executions`, undefined, key);
          return r.body.executions.find(
            (e: { leadId: string; status: string }) => e.leadId === 'lee' && e.status === 'completed',
          );
        },
        15_000,
        'the execution to complete',
      );
      expect(execution.status).toBe('completed');
      const moved = (await after.engine.queues.actions[0]!.getJob('later'))!;
      expect([await moved.getState(), moved.opts.attempts, attemptsBeforeMove(moved)]).toEqual([
        'delayed',
        2,
        1,
      ]);
      expect(await after.engine.queues.byName(partition.name)!.getJobCounts('wait', 'delayed')).toEqual({
        wait: 0,
        delayed: 0,
      });
      expect(await jobErrors(after)).toEqual([]);
    } finally {
      await after.engine.close();
    }
  });
});
