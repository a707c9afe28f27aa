// The node runner: runs one node job, and the run of internal nodes after it, then records the steps and plans what is next.
import type { ActionContext, ActionHandler, ActionResult } from '../actions/types.js';
import {
  terminalStatuses,
  type ExecutionState,
  type ExecutionStore,
  type PlannedJob,
  type StepError,
  type StepRecord,
} from '../engine/executions.js';
import { jobKeyOf, nodeJobId, type NodeJobData, type NodeJobSpec } from '../engine/jobs.js';
import {
  armCount,
  armOf,
  pickVariant,
  planNext,
  type CompiledWorkflow,
  type NextStep,
} from '../engine/plan.js';
import type { Waiters } from '../engine/waiters.js';
import type { Lead, LeadStore } from '../leads/store.js';
import type { Organization } from '../orgs/store.js';
import { AtlasError, NonRetryableError, RetryAfterError, errorMessage } from '../shared/errors.js';
import { evaluate } from '../triggers/conditions.js';
import type { WorkflowStore } from '../workflows/store.js';
import {
  communicationActions,
  externalNodeTypes,
  runsInline,
  type NodeOf,
  type NodeType,
  type WorkflowNode,
} from '../workflows/schema.js';
import { runWait, sendWindowHold, timeoutJobId, zoneOf, type TimeResult } from './time-nodes.js';

/** Longest run of internal nodes one job executes before handing the rest to a new job. */
export const MAX_INLINE_RUN = 100;

export type ActionRegistry = { [T in NodeType]?: ActionHandler<T> };

export interface NodeRunnerDeps {
  executions: ExecutionStore;
  workflows: Pick<WorkflowStore, 'getVersion'>;
  leads: Pick<LeadStore, 'get' | 'writes'>;
  actions: ActionRegistry;
  waiters: Waiters;
  /** The organization's settings (time zone, send window), cached. */
  org(orgId: string): Promise<Organization | undefined>;
  /** Enqueues planned node jobs (delayed ones on the wait queue). Must ignore a job id it already holds. */
  enqueue(jobs: NodeJobSpec[]): Promise<void>;
  /**
   * Called once an execution has reached a final status (idempotent): ends its bookkeeping. `keysExpired` when its
   * completing commit already set the keys' expiry.
   */
  finalize(state: ExecutionState, options?: { keysExpired?: boolean }): Promise<void>;
  /** The retention expiry the commit that completes an execution sets on its keys. */
  expirySeconds?(orgId: string): Promise<number>;
  /** Decides a branch with `aiDecision` (the AI endpoint, with its fallback). Its answer is kept in the ledger. */
  decide?: (node: NodeOf<'branch'>, context: ActionContext) => Promise<ActionResult>;
  /** Told of the steps a job recorded (after they are in Redis), for latency metrics. Never fails the job. */
  observe?(job: NodeJobData, steps: readonly StepRecord[]): void;
  now?: () => number;
}

export interface AttemptInfo {
  /** Attempts already made before this one. */
  attemptsMade: number;
  maxAttempts: number;
  /**
   * The trigger job runs the first internal nodes itself, saving a queue hop. Then a failure records nothing and
   * throws `Deferred`: the starter enqueues the node job, which runs the same nodes again with retries and
   * dead-lettering (the internal nodes are idempotent, so running them twice changes nothing).
   */
  inline?: boolean;
}

/** Thrown by an inline run that hit a failure: the work goes to the node queue instead. */
export class Deferred extends Error {
  override name = 'Deferred';
}

/** A step failed. `final` means no attempt is left (or retrying cannot help): the job goes to the dead-letter queue. */
export class StepFailure extends AtlasError {
  override name = 'StepFailure';
  readonly final: boolean;
  readonly stepError: StepError;
  /**
   * A final failure whose end could not be recorded (finalize failed), with why: the worker logs it and records the
   * end once the job is parked.
   */
  readonly unrecordedEnd: { error: unknown } | undefined;
  constructor(cause: unknown, final: boolean, stepError: StepError, unrecordedEnd?: { error: unknown }) {
    super(stepError.message, { cause, code: stepError.code });
    this.final = final;
    this.stepError = stepError;
    this.unrecordedEnd = unrecordedEnd;
  }
}

export interface RunOutcome {
  outcome: 'committed' | 'duplicate' | 'missing' | 'stopped' | 'superseded';
  status?: string;
  steps?: number;
}

interface RanNode {
  result: TimeResult & { proceed?: boolean };
  effect?: 'recorded' | 'replayed';
}

const communication: ReadonlySet<string> = new Set(communicationActions);

interface RunContext extends ActionContext {
  conditionScope: Record<string, unknown>;
  workflow: CompiledWorkflow;
  org: Organization | undefined;
  zone: string;
}

export function toStepError(error: unknown): StepError {
  if (error instanceof AtlasError) {
    return { name: error.name, code: error.code, message: error.message, retryable: error.retryable };
  }
  return {
    name: error instanceof Error ? error.name : 'Error',
    code: 'internal_error',
    message: errorMessage(error),
    retryable: true,
  };
}

/** The ledger key of one effect: node, iteration and, inside parallel arms, the arm (a node two arms share). */
export function effectKeyOf(nodeId: string, iteration: number, arms: readonly string[]): string {
  return [nodeId, iteration, ...arms].join('.');
}

export function createNodeRunner(deps: NodeRunnerDeps) {
  const clock = deps.now ?? Date.now;
  const { executions } = deps;

  async function runNode(
    node: WorkflowNode,
    arms: string[],
    job: NodeJobData,
    context: RunContext,
    flags: { replaying: boolean; resuming: boolean },
  ): Promise<RanNode> {
    const effectKey = effectKeyOf(node.id, job.iteration, arms);
    switch (node.type) {
      case 'trigger':
        return { result: {} };
      case 'branch': {
        if (node.params.aiDecision) {
          const recorded = (await executions.effect(job.executionId, effectKey)) as ActionResult | undefined;
          if (recorded) return { result: recorded, effect: 'replayed' };
          if (!deps.decide)
            throw new NonRetryableError('no AI decider is configured', { code: 'action_unavailable' });
          const decided = await deps.decide(node, context);
          await executions.recordEffect(job.executionId, effectKey, decided);
          return { result: decided, effect: 'recorded' };
        }
        const passed = evaluate(node.params.condition!, context.conditionScope, {
          now: clock(),
          zone: context.zone,
        });
        return { result: { edge: String(passed), output: { result: passed } } };
      }
      case 'split': {
        const variant = pickVariant(node.params.variants, `${job.executionId}:${node.id}`);
        return { result: { edge: variant, output: { variant } } };
      }
      case 'wait':
        return {
          result: await runWait(node, {
            job,
            arms,
            resuming: flags.resuming,
            leadId: context.lead?.id ?? null,
            zone: context.zone,
            now: clock(),
            waiters: deps.waiters,
          }),
        };
      case 'parallel':
        return { result: { output: { arms: armCount(context.workflow, node.id) } } };
      case 'join': {
        const arm = armOf(arms, node.params.parallel);
        const expected = armCount(context.workflow, node.params.parallel);
        const proceed =
          arm === undefined ||
          (await executions.arriveAtJoin(job.executionId, `${node.id}.${job.iteration}`, arm, expected));
        return { result: { proceed, output: { arm: arm ?? null, proceed } } };
      }
      default: {
        const handler = deps.actions[node.type] as ActionHandler<typeof node.type> | undefined;
        if (!handler)
          throw new NonRetryableError(`no action is configured for ${node.type}`, {
            code: 'action_unavailable',
          });
        const external = externalNodeTypes.has(node.type);
        if (external || flags.replaying) {
          const recorded = (await executions.effect(job.executionId, effectKey)) as ActionResult | undefined;
          if (recorded) return { result: recorded, effect: 'replayed' };
        }
        if (communication.has(node.type)) {
          const hold = sendWindowHold(job, flags.resuming, context.org, context.zone, clock());
          if (hold) return { result: hold };
        }
        if (external) {
          // Look at the execution once more: a cancel or a goal may have ended it meanwhile. The action guard then
          // claims the effect in the ledger (src/actions/ledger.ts), so two deliveries of this job never both send.
          const status = await executions.status(job.executionId);
          if (status === 'cancelled' || status === 'exited')
            return { result: { note: `skipped: execution ${status}` } };
        }
        const result = await handler(node as never, { ...context, effectKey });
        if (external) {
          await executions.recordEffect(job.executionId, effectKey, result);
          return { result, effect: 'recorded' };
        }
        return { result };
      }
    }
  }

  async function finish(
    state: ExecutionState,
    status: string,
    plan: PlannedJob[],
    job: NodeJobData,
    keysExpired = false,
  ): Promise<void> {
    if (status === 'cancelled' || status === 'exited') return;
    if (plan.length > 0) {
      const specs = plan.map((next) => toSpec(job, next));
      const timers = specs.filter((spec) => spec.runAt !== undefined).map((spec) => spec.jobId);
      await executions.addTimers(job.executionId, timers);
      await deps.enqueue(specs);
    }
    if (status === 'completed') await deps.finalize({ ...state, status: 'completed' }, { keysExpired });
  }

  /**
   * Runs a node job. `known` is what the caller already holds of a brand-new execution (its state and lead), so the
   * trigger job's inline run reads nothing back.
   */
  return async function runNodeJob(
    job: NodeJobData,
    attempt: AttemptInfo,
    known?: { state: ExecutionState; lead: Lead | undefined },
  ): Promise<RunOutcome> {
    const [state, outputs, done] = known
      ? [known.state, {}, undefined]
      : await Promise.all([
          executions.load(job.executionId),
          executions.outputs(job.executionId),
          executions.planned(job.executionId, jobKeyOf(job)),
        ]);
    if (!state) return { outcome: 'missing' };
    if (state.status === 'cancelled' || state.status === 'exited') {
      return { outcome: 'stopped', status: state.status };
    }
    if (done) {
      // Delivered again after its steps were committed (a crash before the next jobs were added): only finish.
      await finish(state, state.status, done, job);
      return { outcome: 'duplicate', status: state.status };
    }

    const [version, lead, org, expireSeconds] = await Promise.all([
      deps.workflows.getVersion(job.orgId, job.workflowId, job.version),
      known
        ? Promise.resolve(known.lead)
        : state.leadId
          ? deps.leads.get(job.orgId, state.leadId)
          : Promise.resolve(undefined as Lead | undefined),
      deps.org(job.orgId),
      deps.expirySeconds?.(job.orgId),
    ]);
    const attemptNo = attempt.attemptsMade + 1;
    const leadWrites = lead ? deps.leads.writes(job.orgId, lead.id) : undefined;
    const steps: StepRecord[] = [];
    const newOutputs: Record<string, unknown> = {};
    const internalEffects: Record<string, unknown> = {};

    const fail = async (
      error: unknown,
      node: { id: string; type: string } | undefined,
      startedAt: number,
    ) => {
      if (attempt.inline) throw new Deferred(errorMessage(error), { cause: error });
      // The steps before the failing one are recorded as completed: their lead writes go first.
      await leadWrites?.flush();
      const stepError = toStepError(error);
      const delayed = error instanceof RetryAfterError;
      const final = !delayed && (!stepError.retryable || attemptNo >= attempt.maxAttempts);
      if (node) {
        steps.push({
          nodeId: node.id,
          type: node.type,
          status: 'failed',
          attempt: attemptNo,
          startedAt: new Date(startedAt).toISOString(),
          durationMs: clock() - startedAt,
          error: stepError,
          ...(delayed
            ? { note: `delayed ${error.delayMs} ms (${stepError.code}): ${stepError.message}` }
            : final
              ? {}
              : { note: 'will retry' }),
        });
      }
      const { status } = await executions.fail(
        job.executionId,
        { steps, effects: internalEffects, final, error: stepError, jobId: nodeJobId(job) },
        new Date(clock()).toISOString(),
      );
      deps.observe?.(job, steps);
      // The end is recorded as what the execution is now: failed, or ended otherwise meanwhile (a cancel, a goal, its own
      // commit before this job stalled). Whatever ended it otherwise records that end too; if it stopped first, this
      // records it (an end counts once however often it is recorded).
      if (final && terminalStatuses.has(status)) {
        // The failure is recorded: it stays final (parked, not retried) even if its end's bookkeeping fails here.
        const unrecorded = await deps.finalize({ ...state, status: status as ExecutionState['status'] }).then(
          () => undefined,
          (endError: unknown) => ({ error: endError }),
        );
        throw new StepFailure(error, final, stepError, unrecorded);
      }
      throw new StepFailure(error, final, stepError);
    };

    if (!version)
      return fail(
        new NonRetryableError(`workflow version ${job.workflowId}@${job.version} is missing`),
        undefined,
        clock(),
      );
    const workflow: CompiledWorkflow = version.compiled;
    const context: RunContext = {
      orgId: job.orgId,
      executionId: job.executionId,
      workflowId: job.workflowId,
      version: job.version,
      lead,
      event: state.event,
      nodes: { ...outputs },
      idempotencyKey: '',
      attempt: attemptNo,
      workflow,
      conditionScope: {},
      org,
      zone: zoneOf(lead, org),
      ...(leadWrites ? { leadWrites } : {}),
    };

    let current: NextStep = { nodeId: job.nodeId, arms: job.arms };
    let plan: PlannedJob[] = [];
    for (let hops = 0; ; hops += 1) {
      const node = workflow.nodes.get(current.nodeId);
      const startedAt = clock();
      if (!node)
        return fail(
          new NonRetryableError(`node ${current.nodeId} is not in version ${job.version}`),
          undefined,
          startedAt,
        );
      context.idempotencyKey = [`${job.executionId}:${node.id}:${job.iteration}`, ...current.arms].join(':');
      context.conditionScope = {
        lead: context.lead ?? {},
        event: state.event,
        nodes: context.nodes,
        execution: { id: job.executionId, workflowId: job.workflowId, version: job.version },
      };

      let ran: RanNode;
      try {
        ran = await runNode(node, [...current.arms], job, context, {
          replaying: attempt.attemptsMade > 0,
          resuming: hops === 0,
        });
      } catch (error) {
        return fail(error, node, startedAt);
      }
      const { result } = ran;
      if (result.superseded) return { outcome: 'superseded' };
      const delayedUntil = result.runAt !== undefined && result.runAt > clock() ? result.runAt : undefined;
      const step: StepRecord = {
        nodeId: node.id,
        type: node.type,
        status: delayedUntil ? 'waiting' : result.skipped ? 'skipped' : 'completed',
        attempt: attemptNo,
        startedAt: new Date(startedAt).toISOString(),
        durationMs: clock() - startedAt,
        ...(result.edge !== undefined ? { edge: result.edge } : {}),
        ...(result.output !== undefined ? { output: result.output } : {}),
        ...(current.arms.length > 0 ? { arms: [...current.arms] } : {}),
        ...(ran.effect ? { effect: ran.effect, idempotencyKey: context.idempotencyKey } : {}),
        ...(result.providerId ? { providerId: result.providerId } : {}),
        ...(result.testMode ? { testMode: true } : {}),
        ...(result.runAt !== undefined ? { until: new Date(result.runAt).toISOString() } : {}),
        ...(result.note
          ? { note: result.note }
          : result.proceed === false
            ? { note: 'waiting for the other arms' }
            : {}),
      };
      steps.push(step);
      if (result.output !== undefined) {
        newOutputs[node.id] = result.output;
        context.nodes[node.id] = result.output;
      }
      if (!externalNodeTypes.has(node.type) && !result.resumeAs) {
        internalEffects[effectKeyOf(node.id, job.iteration, current.arms)] = result;
      }

      if (delayedUntil && result.resumeAs) {
        // Come back to this same node later: a wait-for-event's timeout, a step held by the send window.
        plan = [{ nodeId: node.id, arms: [...current.arms], runAt: delayedUntil, ...result.resumeAs }];
        break;
      }
      const next = result.proceed === false ? [] : planNext(workflow, node, result, current.arms);
      if (delayedUntil) {
        // A wait with nothing after it still holds the execution (and the lead's enrolment) until it is over.
        plan =
          next.length > 0
            ? next.map((n) => ({ nodeId: n.nodeId, arms: [...n.arms], runAt: delayedUntil }))
            : [{ nodeId: node.id, arms: [...current.arms], runAt: delayedUntil, resume: 'elapsed' }];
        break;
      }
      const single = next.length === 1 ? next[0]! : undefined;
      const nextNode = single ? workflow.nodes.get(single.nodeId) : undefined;
      if (single && nextNode && node.type !== 'parallel' && runsInline(nextNode) && hops < MAX_INLINE_RUN) {
        current = single;
        continue;
      }
      plan = next.map((n) => ({ nodeId: n.nodeId, arms: [...n.arms] }));
      break;
    }

    const delayedDelta = plan.filter((p) => p.runAt !== undefined).length - (job.delayed ? 1 : 0);
    const waitingUntil = plan.reduce<number | undefined>(
      (min, p) => (p.runAt && (!min || p.runAt < min) ? p.runAt : min),
      undefined,
    );
    await leadWrites?.flush();
    const committed = await executions.commit(
      job.executionId,
      {
        jobKey: jobKeyOf(job),
        steps,
        outputs: newOutputs,
        plan,
        pendingDelta: plan.length - 1,
        delayedDelta,
        ...(waitingUntil ? { waitingUntil: new Date(waitingUntil).toISOString() } : {}),
        ...(job.delayed ? { timerDone: job.resume === 'event' ? timeoutJobId(job) : nodeJobId(job) } : {}),
        ...(expireSeconds ? { expireSeconds } : {}),
      },
      new Date(clock()).toISOString(),
    );
    if (committed.outcome === 'missing') return { outcome: 'missing' };
    if (committed.outcome === 'committed') deps.observe?.(job, steps);
    await finish(state, committed.status, committed.plan, job, committed.expired);
    return { outcome: committed.outcome, status: committed.status, steps: steps.length };
  };
}

function toSpec(job: NodeJobData, next: PlannedJob): NodeJobSpec {
  const data: NodeJobData = {
    orgId: job.orgId,
    executionId: job.executionId,
    workflowId: job.workflowId,
    version: job.version,
    nodeId: next.nodeId,
    iteration: job.iteration,
    arms: next.arms,
    ...(next.runAt !== undefined ? { delayed: true } : {}),
    ...(next.resume ? { resume: next.resume } : {}),
    ...(next.outcome ? { outcome: next.outcome } : {}),
    ...(next.deferrals ? { deferrals: next.deferrals } : {}),
    ...(job.priority ? { priority: job.priority } : {}),
  };
  return { data, jobId: nodeJobId(data), ...(next.runAt !== undefined ? { runAt: next.runAt } : {}) };
}

export { toSpec as nodeJobSpec };
