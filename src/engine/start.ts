// The trigger side: an accepted event ends goals and waits it satisfies, then starts the workflows it triggers.
import type { EngineEvent } from '../events/schema.js';
import { leadIdOf, type Lead, type LeadStore } from '../leads/store.js';
import type { PublishEngineEvent } from '../observability/engine-events.js';
import type { RedisClient } from '../queue/redis.js';
import { stableId } from '../shared/ids.js';
import type { Keys } from '../shared/keys.js';
import { evaluate } from '../triggers/conditions.js';
import { matchTriggers, type PublishedWorkflow, type TriggerMatch } from '../triggers/match.js';
import type { WorkflowStore } from '../workflows/store.js';
import type { EnrollmentMode, WorkflowNode } from '../workflows/schema.js';
import { createEnrolment } from './enrolment.js';
import { terminalStatuses, type ExecutionState, type ExecutionStore, type PlannedJob } from './executions.js';
import { nodeJobId, type NodeJobData, type NodeJobSpec } from './jobs.js';
import { createLeadIndex } from './lead-index.js';
import { createOrgIndex } from './org-index.js';
import type { Lifecycle } from './lifecycle.js';
import { planNext, type CompiledWorkflow } from './plan.js';
import { isTimeTrigger, jobPriority } from './priority.js';
import { parseWaiters, subjectOf, type Waiter, type Waiters } from './waiters.js';

export interface StartDeps {
  redis: RedisClient;
  keys: Keys;
  executions: ExecutionStore;
  workflows: Pick<WorkflowStore, 'fromPointers' | 'getVersion'>;
  leads: Pick<LeadStore, 'upsertAndRead' | 'get'>;
  lifecycle: Pick<Lifecycle, 'end' | 'finalize'>;
  waiters: Waiters;
  /** Enqueues node jobs (first nodes of new executions, resumed waits). Must ignore a job id it already holds. */
  enqueue(jobs: NodeJobSpec[], continuation: boolean): Promise<void>;
  /**
   * Runs a first node job of a new execution right here, when it is internal (no provider call), saving a queue hop;
   * resolves false when the job must go to the queue instead.
   */
  runInline?(job: NodeJobData, known: { state: ExecutionState; lead: Lead | undefined }): Promise<boolean>;
  /** Whether a node of a workflow version may run inline in the trigger job. */
  inlineNode?(node: WorkflowNode): boolean;
  removeTimers(jobIds: string[]): Promise<void>;
  /** Form abandonment tracking: a check after `form_started`, cancelled by `form_submitted`. */
  forms?: {
    started(event: EngineEvent, leadId: string, formId: string): Promise<void>;
    submitted(event: EngineEvent, leadId: string, formId: string): Promise<void>;
  };
  /** Announces each execution it creates (engine events out); optional. */
  publish?: PublishEngineEvent;
  now?: () => number;
}

export interface StartResult {
  matched: number;
  started: string[];
  skipped: { workflowId: string; reason: string }[];
  exited: string[];
  resumed: string[];
}

/** How the trigger job came to run the event. */
export interface Delivery {
  /**
   * The job ran before (a retry, or a re-run after it stalled), so its executions may exist already, some ended.
   * Refused the lead, such a start looks its execution up before counting itself as skipped.
   */
  retried?: boolean;
}

/** Executions are named by their cause, so a retried trigger job finds the execution it already created. */
export function executionIdFor(orgId: string, eventId: string, workflowId: string): string {
  return `x_${stableId(orgId, eventId, workflowId)}`;
}

/** The node jobs that start an execution: the nodes its trigger plans, at their first iteration. */
function firstJobs(
  execution: Pick<ExecutionState, 'id' | 'orgId' | 'workflowId' | 'version' | 'priority'>,
  plan: PlannedJob[],
): NodeJobSpec[] {
  return plan.map((next) => {
    const data: NodeJobData = {
      orgId: execution.orgId,
      executionId: execution.id,
      workflowId: execution.workflowId,
      version: execution.version,
      nodeId: next.nodeId,
      iteration: 0,
      arms: next.arms,
      ...(execution.priority ? { priority: execution.priority } : {}),
    };
    return { data, jobId: nodeJobId(data) };
  });
}

/** What the trigger node of a compiled version plans first. */
const firstPlan = (compiled: CompiledWorkflow, trigger: WorkflowNode): PlannedJob[] =>
  planNext(compiled, trigger, {}, []).map((next) => ({ nodeId: next.nodeId, arms: [...next.arms] }));

const ABANDON_MARK_SECONDS = 24 * 3600;

/**
 * How long a provisional execution (created alongside its enrolment) lasts unless kept: far longer than a retried
 * trigger job takes to come back and keep it (see `ExecutionStore.keep`).
 */
const PROVISIONAL_SECONDS = 24 * 3600;

/** The execution an event names in `data.executionId`, whose waits for that event it resumes. */
const namedExecution = (event: EngineEvent): string | undefined =>
  typeof event.data?.executionId === 'string' ? event.data.executionId : undefined;

/** The event's lead as stored, and its live executions (execution id → `workflowId version`). */
interface LeadView {
  leadId: string;
  lead: Lead | undefined;
  live: Record<string, string>;
}

/** The waiters registered under one subject (a lead, or an execution the event names). */
interface WaitingFor {
  subject: string;
  waiters: [string, Waiter][];
}

export function createStarter(deps: StartDeps) {
  const clock = deps.now ?? Date.now;
  const { redis, keys } = deps;
  const leadIndex = createLeadIndex(redis, keys);
  const orgIndex = createOrgIndex(redis, keys);
  const enrol = createEnrolment({ redis, keys, executions: deps.executions, now: clock });

  /**
   * For a retried start whose execution may exist: when it has ended for good (completed, cancelled, exited), records
   * its end unless that is already done (whatever ended it stopped before the end's bookkeeping: finished index,
   * counter, the lead's lock and live entry). Not a failed one: it can be revived or cancelled meanwhile, and the path
   * that failed it records that end. Resolves `recorded` when it recorded the end now, `before` when that was done
   * already, `failed` for a failed execution, undefined when there is no such execution or it has not ended.
   */
  async function recordEnd(
    orgId: string,
    workflowId: string,
    executionId: string,
  ): Promise<'recorded' | 'before' | 'failed' | undefined> {
    const state = await deps.executions.load(executionId);
    if (!state || !terminalStatuses.has(state.status)) return undefined;
    if (state.status === 'failed') return 'failed';
    if (await orgIndex.isFinished(orgId, workflowId, executionId)) return 'before';
    await deps.lifecycle.finalize(state);
    return 'recorded';
  }

  async function start(
    event: EngineEvent,
    leadId: string | null,
    match: TriggerMatch,
    lead: Lead | undefined,
    /** The lead's live executions as the event found them (execution id → `workflowId version`). */
    live: Record<string, string>,
    /** This trigger job ran before (see `Delivery`). */
    retried: boolean,
  ): Promise<string | { reason: string }> {
    const entry = await deps.workflows.getVersion(event.orgId, match.workflowId, match.version);
    if (!entry) return { reason: `version ${match.version} missing` };
    const { compiled } = entry;
    const executionId = executionIdFor(event.orgId, event.id, match.workflowId);
    const trigger = compiled.nodes.get(match.triggerNodeId)!;
    const priority =
      trigger.type === 'trigger'
        ? jobPriority(trigger.event, compiled.definition.settings.priority)
        : undefined;
    const plan = firstPlan(compiled, trigger);
    const startedAt = new Date(clock()).toISOString();
    const mode = compiled.definition.settings.enrollment;
    const enrolIt = () => enrol(event.orgId, match.workflowId, mode, leadId, executionId);
    const create = (provisional: boolean) =>
      deps.executions.create({
        id: executionId,
        orgId: event.orgId,
        workflowId: match.workflowId,
        version: match.version,
        leadId,
        triggerNodeId: trigger.id,
        ...(priority ? { priority } : {}),
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
        ...(provisional ? { provisionalSeconds: PROVISIONAL_SECONDS } : {}),
      });
    // The enrolment and the create go out together (one round trip): the execution is created provisional, and a
    // refused start takes it back. Until the enrolment answers, it is listed nowhere: only another delivery of this
    // same start (a stalled job run again) can come across it. When the lead already runs this workflow and may run it
    // once at a time, a refusal is likely, so the start enrols first and creates after (not provisional: it is
    // enrolled by then). So would a start with nothing planned after its trigger (graph validation rules that out),
    // whose execution would end as it is created, with no keep to follow.
    const sequential =
      plan.length === 0 ||
      (mode === 'once_active' &&
        Object.values(live).some((entry) => entry.startsWith(`${match.workflowId} `)));
    const [refused, createdHere] = sequential
      ? await enrolIt().then(async (reason) => [reason, reason ? false : await create(false)] as const)
      : await Promise.all([enrolIt(), create(true)]);
    let created = createdHere;
    if (refused) {
      // An earlier attempt of this start may have created the execution: the create found it, or (enrolling first)
      // the lead's live executions list it, or this job ran before (its earlier attempt may have recorded the end,
      // which takes the execution off that list). If it has ended, the lead's lock may since have gone to a newer
      // execution, which is why this attempt is refused: the start happened, and its end may still need recording.
      // Found but not ended, it is left alone: it may be another delivery's, enrolled and about to be kept, or a
      // provisional one that an earlier refused attempt did not live to take back, which expires by itself.
      const createdBefore = !createdHere && (sequential ? executionId in live || retried : true);
      if (createdBefore && (await recordEnd(event.orgId, match.workflowId, executionId))) return executionId;
      await Promise.all([
        created ? deps.executions.discard(executionId) : undefined,
        redis.hincrby(keys.stats(event.orgId), `${match.workflowId}:skipped`, 1),
      ]);
      return { reason: refused };
    }
    // Enrolled: the execution is kept and listed among the lead's live ones. Created here, both go out with the next
    // commands (the inline run's), without a round trip of their own, and are awaited before the start returns.
    const liveEntry = leadId
      ? redis.hset(
          keys.leadExecutions(event.orgId, leadId),
          executionId,
          `${match.workflowId} ${match.version}`,
        )
      : undefined;
    const kept = Promise.all([deps.executions.keep(executionId), liveEntry]);
    kept.catch(() => undefined); // awaited below; this only keeps a throw before then from leaving it unhandled
    if (!created) {
      // Created before: by an earlier attempt of this job, or by another delivery of it running at the same time
      // (BullMQ re-runs a job that stalled). Nothing runs inline now, so the keep's answer is awaited at once.
      let [outcome] = await kept;
      if (outcome === 'missing') {
        // The other delivery was refused (the lead's lock changed hands between the two) and took back the
        // execution it had created before this one kept it: this delivery, enrolled, creates it again.
        created = await create(false);
        outcome = await deps.executions.keep(executionId);
      }
      if (outcome === 'ended') {
        // A retried trigger job of an execution that already ended: nothing is live any more, so this attempt's
        // enrolment (the lock and live entry it just wrote again) is undone. If whatever ended it (this start's own
        // run, a cancel, a goal) stopped before recording the end, the end is recorded now, which undoes them too.
        if ((await recordEnd(event.orgId, match.workflowId, executionId)) === 'recorded') return executionId;
        if (leadId)
          await Promise.all([
            deps.executions.releaseLock(keys.active(event.orgId, match.workflowId, leadId), executionId),
            redis.hdel(keys.leadExecutions(event.orgId, leadId), executionId),
          ]);
        return executionId;
      }
    }
    if (created) {
      deps.publish?.('Execution Started', {
        orgId: event.orgId,
        executionId,
        workflowId: match.workflowId,
        version: match.version,
        leadId,
        eventId: event.id,
        eventType: event.type,
        startedAt,
      });
    }
    const jobs = firstJobs(
      { id: executionId, orgId: event.orgId, workflowId: match.workflowId, version: match.version, priority },
      plan,
    );
    // What the new execution's state is, as just written: the inline run needs not read it back.
    const stateOf = (): ExecutionState => ({
      id: executionId,
      orgId: event.orgId,
      workflowId: match.workflowId,
      version: match.version,
      leadId,
      status: 'running',
      triggerNodeId: trigger.id,
      event: { id: event.id, type: event.type, occurredAt: event.occurredAt, data: event.data ?? {} },
      pending: plan.length,
      startedAt,
      updatedAt: startedAt,
      ...(priority ? { priority } : {}),
    });
    const queued: NodeJobSpec[] = [];
    for (const job of jobs) {
      const node = compiled.nodes.get(job.data.nodeId);
      const inline = created && plan.length === 1 && deps.runInline && node && deps.inlineNode?.(node);
      const ranHere = inline
        ? await deps.runInline!(job.data, { state: stateOf(), lead: lead && structuredClone(lead) })
        : false;
      if (!ranHere) queued.push(job);
    }
    if (queued.length > 0) await deps.enqueue(queued, false);
    await kept;
    return executionId;
  }

  /** Ends the lead's live executions whose workflow version names this event as its goal. */
  async function exitByGoals(
    event: EngineEvent,
    lead: Lead,
    live: Record<string, string>,
  ): Promise<string[]> {
    const exited: string[] = [];
    for (const [executionId, value] of Object.entries(live)) {
      const [workflowId, version] = value.split(' ') as [string, string];
      const entry = await deps.workflows.getVersion(event.orgId, workflowId, Number(version));
      const goal = entry?.compiled.definition.settings.goal;
      if (!goal || goal.event !== event.type) continue;
      if (goal.filter && !evaluate(goal.filter, { event, lead })) continue;
      const ended = await deps.lifecycle.end(
        event.orgId,
        executionId,
        'exited',
        `goal reached: ${event.type} (${event.id})`,
      );
      if (ended?.ended) {
        exited.push(executionId);
        await redis.hincrby(keys.stats(event.orgId), `${workflowId}:v${version}:goals`, 1);
      }
    }
    return exited;
  }

  /** Resumes the waits-for-event this event satisfies; each waiter is claimed once, against its own timeout. */
  async function resumeWaiters(event: EngineEvent, waiting: WaitingFor[]): Promise<string[]> {
    const named = namedExecution(event);
    const resumed: string[] = [];
    for (const { subject, waiters } of waiting) {
      for (const [field, waiter] of waiters) {
        if (waiter.match === 'execution' && waiter.executionId !== named) continue;
        if (!(await deps.waiters.claim(event.orgId, event.type, subject, field))) continue;
        const data: NodeJobData = {
          orgId: event.orgId,
          executionId: waiter.executionId,
          workflowId: waiter.workflowId,
          version: waiter.version,
          nodeId: waiter.nodeId,
          iteration: waiter.iteration,
          arms: waiter.arms,
          delayed: true,
          resume: 'event',
          outcome: 'received',
          received: { id: event.id, type: event.type, occurredAt: event.occurredAt, data: event.data ?? {} },
          ...(waiter.priority ? { priority: waiter.priority } : {}),
        };
        await deps.enqueue([{ data, jobId: nodeJobId(data) }], true);
        await deps.removeTimers([nodeJobId({ ...data, outcome: 'timed_out' })]);
        resumed.push(waiter.executionId);
      }
    }
    return resumed;
  }

  /** Time triggers name their workflow; live events are matched against every published workflow. */
  function matchesFor(
    event: EngineEvent,
    lead: Lead | undefined,
    workflows: PublishedWorkflow[],
  ): TriggerMatch[] {
    if (!isTimeTrigger(event.type)) return matchTriggers(workflows, event.type, { event, lead: lead ?? {} });
    const target = workflows.filter((wf) => wf.workflowId === event.data?.workflowId);
    return matchTriggers(target, event.type, { event, lead: lead ?? {} }).filter(
      (match) => match.triggerNodeId === event.data?.triggerNodeId,
    );
  }

  /** The waiter subjects this event may resume: the lead's, and an execution the event names. */
  function waiterSubjects(event: EngineEvent, leadId: string | null): string[] {
    const named = namedExecution(event);
    return [leadId, named ? subjectOf(null, named) : undefined].filter((s): s is string => !!s);
  }

  /**
   * The organization's side of one event in one script: the event marked taken (a duplicate from now on), the lead
   * listed and its lookups refreshed (live events), the published workflows and the waiters of each subject.
   */
  async function eventContext(event: EngineEvent, leadId: string | null, live: boolean) {
    const subjects = waiterSubjects(event, leadId);
    const context = await orgIndex.eventContext(event.orgId, {
      eventId: event.id,
      leadId: live ? leadId : null,
      waiterKeys: subjects.map((subject) => keys.waiters(event.orgId, event.type, subject)),
      lookupKeys: live ? leadIndex.lookupKeys(event.orgId, event.lead) : [],
    });
    const waiting: WaitingFor[] = subjects.map((subject, i) => ({
      subject,
      waiters: parseWaiters(context.waiters[i] ?? {}),
    }));
    return { waiting, workflows: await deps.workflows.fromPointers(event.orgId, context.published) };
  }

  /** Time triggers name a lead the engine already holds; they read it without writing. */
  async function knownLead(orgId: string, leadId: string | null): Promise<LeadView | undefined> {
    if (!leadId) return undefined;
    const [lead, live] = await Promise.all([
      deps.leads.get(orgId, leadId),
      redis.hgetall(keys.leadExecutions(orgId, leadId)),
    ]);
    return { leadId, lead, live };
  }

  return async function handleEvent(event: EngineEvent, delivery: Delivery = {}): Promise<StartResult> {
    const result: StartResult = { matched: 0, started: [], skipped: [], exited: [], resumed: [] };
    const timeTrigger = isTimeTrigger(event.type);
    const expectedLeadId = (timeTrigger ? event.lead?.id : leadIdOf(event.lead)) ?? null;
    // The lead's write and read, and the organization's workflows and waiters, in one round trip.
    const [known, { waiting, workflows }] = await Promise.all([
      timeTrigger
        ? knownLead(event.orgId, expectedLeadId)
        : deps.leads.upsertAndRead(event.orgId, event.lead, { listed: true }),
      eventContext(event, expectedLeadId, !timeTrigger),
    ]);
    const leadId = known?.leadId ?? expectedLeadId;
    const lead = known?.lead;
    const formId = typeof event.data?.formId === 'string' ? event.data.formId : undefined;
    if (leadId && formId) {
      if (event.type === 'form_started') await deps.forms?.started(event, leadId, formId);
      if (event.type === 'form_submitted') await deps.forms?.submitted(event, leadId, formId);
      if (event.type === 'form_abandoned' && event.data?.derived !== true) {
        // A producer's own form_abandoned claims the abandonment, so the derived one is not emitted too (and back).
        const first = await redis.set(
          keys.formAbandoned(event.orgId, leadId, formId),
          event.id,
          'EX',
          ABANDON_MARK_SECONDS,
          'NX',
        );
        if (
          first !== 'OK' &&
          (await redis.get(keys.formAbandoned(event.orgId, leadId, formId))) !== event.id
        ) {
          result.skipped.push({ workflowId: '*', reason: 'form abandonment already reported' });
          return result;
        }
      }
    }

    if (known?.lead) result.exited = await exitByGoals(event, known.lead, known.live);
    result.resumed = await resumeWaiters(event, waiting);

    const matches = matchesFor(event, lead, workflows);
    result.matched = matches.length;
    const outcomes = await Promise.all(
      matches.map((match) => start(event, leadId, match, lead, known?.live ?? {}, delivery.retried === true)),
    );
    outcomes.forEach((outcome, i) => {
      if (typeof outcome === 'string') result.started.push(outcome);
      else result.skipped.push({ workflowId: matches[i]!.workflowId, reason: outcome.reason });
    });
    return result;
  };
}

export interface HandOverDeps {
  redis: RedisClient;
  keys: Keys;
  executions: Pick<ExecutionStore, 'load' | 'keep'>;
  workflows: Pick<WorkflowStore, 'ids' | 'getVersion'>;
  /** Enqueues node jobs; must ignore a job id it already holds. */
  enqueue(jobs: NodeJobSpec[], continuation: boolean): Promise<void>;
}

/**
 * For an event whose trigger job failed for good: the executions it started that have not ended get their first node
 * jobs queued again, as the job's next attempt would have queued them. One still provisional (its start stopped before
 * the keep) is enrolled again first, as that attempt would: kept and listed among its lead's live ones unless refused
 * (another execution holds the lead), when it is left to expire. An
 * execution whose first jobs, or the jobs its inline run planned, were never queued (every attempt failed there)
 * would otherwise hold its lead's enrolment with nothing to run until the job's dead-letter entry is retried, and for
 * good if it is discarded; a retry still starts whatever the event did not. Nothing runs twice: a node whose steps
 * were committed (run inline, or by an earlier job) is taken as a duplicate that only queues again what it planned,
 * and BullMQ ignores a job id it holds; so an execution that has moved on has its committed nodes walked through again
 * up to where it is. Each execution is handed over even when another's fails; then the first error is thrown.
 * Resolves the executions handed over.
 */
export function createHandOver(deps: HandOverDeps) {
  const { redis, keys } = deps;
  const enrol = createEnrolment({ redis, keys, executions: deps.executions });

  /**
   * What the start's next attempt does for a provisional execution: enrols it again (a no-op for one that holds its
   * lead already; refused when another execution does), lists it among its lead's live ones, and keeps it. False when
   * refused, or when it ended or went meanwhile (its live entry is taken back).
   */
  async function keepEnrolled(state: ExecutionState, mode: EnrollmentMode): Promise<boolean> {
    if (await enrol(state.orgId, state.workflowId, mode, state.leadId, state.id)) return false;
    const live = state.leadId ? keys.leadExecutions(state.orgId, state.leadId) : undefined;
    if (live) await redis.hset(live, state.id, `${state.workflowId} ${state.version}`);
    if ((await deps.executions.keep(state.id)) === 'kept') return true;
    if (live) await redis.hdel(live, state.id);
    return false;
  }

  async function handOverOne(state: ExecutionState): Promise<boolean> {
    if (state.status !== 'running' && state.status !== 'waiting') return false;
    const entry = await deps.workflows.getVersion(state.orgId, state.workflowId, state.version);
    const trigger = entry?.compiled.nodes.get(state.triggerNodeId);
    if (!entry || !trigger) return false;
    if (state.provisional && !(await keepEnrolled(state, entry.compiled.definition.settings.enrollment)))
      return false;
    await deps.enqueue(firstJobs(state, firstPlan(entry.compiled, trigger)), false);
    return true;
  }

  return async function handOver(event: Pick<EngineEvent, 'id' | 'orgId'>): Promise<string[]> {
    const workflowIds = await deps.workflows.ids(event.orgId);
    const outcomes = await Promise.allSettled(
      workflowIds.map(async (workflowId) => {
        const state = await deps.executions.load(executionIdFor(event.orgId, event.id, workflowId));
        return state && (await handOverOne(state)) ? state.id : undefined;
      }),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    return outcomes.flatMap((outcome) =>
      outcome.status === 'fulfilled' && outcome.value ? [outcome.value] : [],
    );
  };
}
