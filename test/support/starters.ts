// The trigger side of the harness's engine, composed as the engine composes it, with its queueing (and the inline run's
// end) replaced: for tests of what a trigger job leaves behind when it is cut short.
import type { NewExecution } from '../../src/engine/executions.js';
import { createStarter } from '../../src/engine/start.js';
import { createNodeRunner, type NodeRunnerDeps } from '../../src/nodes/runner.js';
import type { Harness } from './harness.js';

export interface TestStarterOptions {
  /** What queueing node jobs does, for the start and its inline run; nothing by default. */
  enqueue?: NodeRunnerDeps['enqueue'];
  /** Runs the first node inline when it can, as the trigger worker does; without, first nodes are queued. */
  inline?: boolean;
  /** Records an execution's end; the engine's own by default. */
  finalize?: NodeRunnerDeps['finalize'];
}

export function testStarter(h: Harness, options: TestStarterOptions = {}) {
  const { redis, keys, executions, workflows, leads, lifecycle, waiters } = h.engine;
  const enqueue = options.enqueue ?? (async () => {});
  const runNodeJob = createNodeRunner({
    executions,
    workflows,
    leads,
    waiters,
    org: h.engine.orgSettings,
    actions: h.engine.actions,
    enqueue,
    finalize: options.finalize ?? ((state, finalizeOptions) => lifecycle.finalize(state, finalizeOptions)),
  });
  return createStarter({
    redis,
    keys,
    executions,
    workflows,
    leads,
    lifecycle,
    waiters,
    ...(options.inline
      ? {
          runInline: async (job, known) => {
            await runNodeJob(job, { attemptsMade: 0, maxAttempts: 3, inline: true }, known);
            return true;
          },
          inlineNode: () => true,
        }
      : {}),
    enqueue,
    removeTimers: async () => {},
  });
}

/** Builds one lead's `new_lead` events as the trigger worker gets them. */
export const eventsFor =
  (orgId: string, leadId: string, now = new Date().toISOString()) =>
  (id: string, data?: Record<string, unknown>) => ({
    id,
    orgId,
    type: 'new_lead' as const,
    occurredAt: now,
    receivedAt: now,
    lead: { id: leadId },
    ...(data ? { data } : {}),
  });

/**
 * What `executions.create` takes for an execution that has run only its trigger (`start`, version 1), planning `next`
 * (each node at its first iteration, outside any parallel arm).
 */
export function afterTrigger(
  execution: Pick<NewExecution, 'id' | 'orgId' | 'workflowId' | 'leadId' | 'event' | 'provisionalSeconds'>,
  next: string[],
  startedAt = new Date().toISOString(),
): NewExecution {
  return {
    version: 1,
    triggerNodeId: 'start',
    triggerStep: {
      nodeId: 'start',
      type: 'trigger',
      status: 'completed',
      attempt: 1,
      startedAt,
      durationMs: 0,
    },
    plan: next.map((nodeId) => ({ nodeId, arms: [] })),
    ...execution,
  };
}
