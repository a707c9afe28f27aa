// Replaying an execution from a chosen node: a new execution on the same version, linked to the first, that starts
// at that node with the outputs of the nodes before it. Effects run again (new execution, new idempotency keys). The
// workflow's `once_active` rule holds for replays too: a lead with a running execution of the workflow is refused.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../queue/redis.js';
import { HttpError, notFound } from '../shared/errors.js';
import type { Keys } from '../shared/keys.js';
import type { WorkflowStore } from '../workflows/store.js';
import type { ExecutionStore, PlannedJob } from './executions.js';
import { nodeJobId, type NodeJobSpec } from './jobs.js';
import { createEnrolment } from './enrolment.js';
import { planNext, type CompiledWorkflow } from './plan.js';

export interface ReplayDeps {
  redis: RedisClient;
  keys: Keys;
  executions: ExecutionStore;
  workflows: Pick<WorkflowStore, 'getVersion'>;
  /** Enqueues the first node job of the new execution. */
  enqueue(jobs: NodeJobSpec[]): Promise<void>;
  now?: () => number;
}

export interface ReplayResult {
  id: string;
  replayOf: string;
  fromNode: string;
}

/** Nodes reachable from `start` (itself included): their outputs are recomputed by the replay, not copied. */
function downstream(workflow: CompiledWorkflow, start: string): Set<string> {
  const seen = new Set<string>([start]);
  const queue = [start];
  while (queue.length > 0) {
    for (const edge of workflow.outgoing.get(queue.shift()!) ?? []) {
      if (!seen.has(edge.to)) {
        seen.add(edge.to);
        queue.push(edge.to);
      }
    }
  }
  return seen;
}

export function createReplayer(deps: ReplayDeps) {
  const { redis, keys, executions } = deps;
  const clock = deps.now ?? Date.now;
  const enrol = createEnrolment({ redis, keys, executions, now: clock });

  return async function replay(orgId: string, executionId: string, fromNode: string): Promise<ReplayResult> {
    const original = await executions.load(executionId);
    if (!original || original.orgId !== orgId) throw notFound(`execution ${executionId}`);
    const entry = await deps.workflows.getVersion(orgId, original.workflowId, original.version);
    if (!entry) throw notFound(`version ${original.version} of workflow ${original.workflowId}`);
    const workflow = entry.compiled;
    const node = workflow.nodes.get(fromNode);
    if (!node) {
      throw new HttpError(
        400,
        'validation_failed',
        `node ${fromNode} is not in version ${original.version}`,
        [{ path: 'fromNode', message: `no node "${fromNode}" in version ${original.version}` }],
      );
    }

    // A node inside a parallel arm is replayed in the arm it ran in (its join then sees only that arm).
    const steps = await executions.steps(executionId, 0, 100_000);
    const arms = steps.findLast((step) => step.nodeId === fromNode)?.arms ?? [];
    const plan: PlannedJob[] =
      node.type === 'trigger'
        ? planNext(workflow, node, {}, []).map((next) => ({ nodeId: next.nodeId, arms: [...next.arms] }))
        : [{ nodeId: fromNode, arms: [...arms] }];

    const id = `x_${randomBytes(18).toString('base64url')}`;
    // The lead entered a `once_ever` workflow with the original already; a replay re-runs that entry.
    const mode = workflow.definition.settings.enrollment === 'once_active' ? 'once_active' : 'always';
    const refused = await enrol(orgId, original.workflowId, mode, original.leadId, id);
    if (refused) {
      throw new HttpError(
        409,
        'conflict',
        `cannot replay: ${refused}; cancel it or let it end, then replay (workflow enrolment is once_active)`,
      );
    }
    const startedAt = new Date(clock()).toISOString();
    await executions.create({
      id,
      orgId,
      workflowId: original.workflowId,
      version: original.version,
      leadId: original.leadId,
      triggerNodeId: original.triggerNodeId,
      event: original.event,
      triggerStep: {
        nodeId: original.triggerNodeId,
        type: 'trigger',
        status: 'completed',
        attempt: 1,
        startedAt,
        durationMs: 0,
        output: { replayOf: executionId, fromNode },
        note: `replay of ${executionId} from ${fromNode}`,
      },
      plan,
      replayOf: { executionId, nodeId: fromNode },
    });

    const recompute = downstream(workflow, fromNode);
    const outputs = Object.entries(await executions.outputs(executionId)).filter(
      ([nodeId]) => !recompute.has(nodeId),
    );
    if (outputs.length > 0) {
      await redis.hset(
        keys.execution(id).outputs,
        Object.fromEntries(outputs.map(([nodeId, output]) => [nodeId, JSON.stringify(output ?? null)])),
      );
    }
    await deps.enqueue(
      plan.map((next) => {
        const data = {
          orgId,
          executionId: id,
          workflowId: original.workflowId,
          version: original.version,
          nodeId: next.nodeId,
          iteration: 0,
          arms: next.arms,
        };
        return { data, jobId: nodeJobId(data) };
      }),
    );
    return { id, replayOf: executionId, fromNode };
  };
}
export type Replayer = ReturnType<typeof createReplayer>;
