// The trigger side: match an accepted event to published workflows, apply the enrolment rule, start executions.
import type { EngineEvent } from '../events/schema.js';
import type { LeadStore } from '../leads/store.js';
import { stableId } from '../shared/ids.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { matchTriggers, type TriggerMatch } from '../triggers/match.js';
import type { WorkflowStore } from '../workflows/store.js';
import { terminalStatuses, type ExecutionStore, type PlannedJob } from './executions.js';
import { nodeJobId, type NodeJobSpec } from './jobs.js';
import { createLeadIndex } from './lead-index.js';
import { planNext } from './plan.js';

export interface StartDeps {
  redis: RedisClient;
  keys: Keys;
  executions: ExecutionStore;
  workflows: Pick<WorkflowStore, 'published' | 'getVersion'>;
  leads: Pick<LeadStore, 'upsert' | 'get'>;
  /** Enqueues the first node jobs of new executions. Must ignore a job id it already holds. */
  enqueue(jobs: NodeJobSpec[]): Promise<void>;
  now?: () => number;
}

export interface StartResult {
  matched: number;
  started: string[];
  skipped: { workflowId: string; reason: string }[];
}

/** Executions are named by their cause, so a retried trigger job finds the execution it already created. */
export function executionIdFor(orgId: string, eventId: string, workflowId: string): string {
  return `x_${stableId(orgId, eventId, workflowId)}`;
}

export function createStarter(deps: StartDeps) {
  const clock = deps.now ?? Date.now;
  const { redis, keys } = deps;
  const leadIndex = createLeadIndex(redis, keys);

  /** Applies the workflow's enrolment rule. Idempotent for the same execution id. */
  async function enrol(
    orgId: string,
    match: TriggerMatch,
    mode: string,
    leadId: string | null,
    executionId: string,
  ) {
    if (!leadId || mode === 'always') return undefined;
    if (mode === 'once_ever') {
      const first = await redis.sadd(keys.enrolled(orgId, match.workflowId), leadId);
      if (first === 1) return undefined;
      return (await deps.executions.load(executionId))
        ? undefined
        : 'lead already entered this workflow once';
    }
    const lock = keys.active(orgId, match.workflowId, leadId);
    const taken = await redis.set(lock, executionId, 'NX');
    if (taken === 'OK') return undefined;
    const holder = await redis.get(lock);
    return holder === executionId ? undefined : `lead already has an active execution (${holder})`;
  }

  async function start(
    event: EngineEvent,
    leadId: string | null,
    match: TriggerMatch,
  ): Promise<string | { reason: string }> {
    const entry = await deps.workflows.getVersion(event.orgId, match.workflowId, match.version);
    if (!entry) return { reason: `version ${match.version} missing` };
    const { compiled } = entry;
    const executionId = executionIdFor(event.orgId, event.id, match.workflowId);
    const refused = await enrol(
      event.orgId,
      match,
      compiled.definition.settings.enrollment,
      leadId,
      executionId,
    );
    if (refused) {
      await redis.hincrby(keys.stats(event.orgId), `${match.workflowId}:skipped`, 1);
      return { reason: refused };
    }

    const trigger = compiled.nodes.get(match.triggerNodeId)!;
    const plan: PlannedJob[] = planNext(compiled, trigger, {}, []).map((next) => ({
      nodeId: next.nodeId,
      arms: [...next.arms],
    }));
    const startedAt = new Date(clock()).toISOString();
    const created = await deps.executions.create({
      id: executionId,
      orgId: event.orgId,
      workflowId: match.workflowId,
      version: match.version,
      leadId,
      triggerNodeId: trigger.id,
      event: { id: event.id, type: event.type, occurredAt: event.occurredAt, data: event.data ?? {} },
      triggerStep: {
        nodeId: trigger.id,
        type: 'trigger',
        status: 'completed',
        attempt: 1,
        startedAt,
        durationMs: 0,
        output: { event: event.type, eventId: event.id },
      },
      plan,
    });
    if (!created) {
      const existing = await deps.executions.load(executionId);
      if (existing && terminalStatuses.has(existing.status)) {
        if (leadId)
          await deps.executions.releaseLock(keys.active(event.orgId, match.workflowId, leadId), executionId);
        return executionId;
      }
    } else {
      await Promise.all([
        redis.zadd(keys.executionsOf(event.orgId, match.workflowId), clock(), executionId),
        redis.hincrby(keys.stats(event.orgId), `${match.workflowId}:started`, 1),
        leadId ? leadIndex.addExecution(event.orgId, leadId, executionId, clock()) : undefined,
      ]);
    }
    const jobs = plan.map((next) => {
      const data = {
        orgId: event.orgId,
        executionId,
        workflowId: match.workflowId,
        version: match.version,
        nodeId: next.nodeId,
        iteration: 0,
        arms: next.arms,
      };
      return { data, jobId: nodeJobId(data) };
    });
    await deps.enqueue(jobs);
    return executionId;
  }

  return async function handleEvent(event: EngineEvent): Promise<StartResult> {
    const leadId = (await deps.leads.upsert(event.orgId, event.lead)) ?? null;
    const [workflows, lead] = await Promise.all([
      deps.workflows.published(event.orgId),
      leadId ? deps.leads.get(event.orgId, leadId) : Promise.resolve(undefined),
      leadIndex.remember(event.orgId, event.lead, leadId ?? undefined),
    ]);
    const matches = matchTriggers(workflows, event.type, { event, lead: lead ?? {} });
    const outcomes = await Promise.all(matches.map((match) => start(event, leadId, match)));
    const result: StartResult = { matched: matches.length, started: [], skipped: [] };
    outcomes.forEach((outcome, i) => {
      if (typeof outcome === 'string') result.started.push(outcome);
      else result.skipped.push({ workflowId: matches[i]!.workflowId, reason: outcome.reason });
    });
    return result;
  };
}
