// The composition root: builds the engine's parts from configuration. Entry points call this and nothing deeper.
import { createActionLayer } from './actions/index.js';
import { createOutbox } from './actions/outbox.js';
import type { CommunicationProvider, IntegrationProvider } from './actions/types.js';
import type { Config } from './config/config.js';
import { createExecutionStore, terminalStatuses, type ExecutionState } from './engine/executions.js';
import { NodeJobData, nodeJobId } from './engine/jobs.js';
import { createLeadIndex } from './engine/lead-index.js';
import { createLifecycle } from './engine/lifecycle.js';
import { createReplayer } from './engine/replay.js';
import { createHandOver, createStarter } from './engine/start.js';
import { createWaiters } from './engine/waiters.js';
import { ingestEvents } from './events/ingest.js';
import type { EventInput } from './events/schema.js';
import { createEnqueuers } from './queue/enqueue.js';
import { createSchedules, FORM_CHECK_JOB, repeatStrategy, schedulesFor } from './queue/schedules.js';
import { createFormTracking } from './scheduler/forms.js';
import { firingDueAt, sweep } from './scheduler/time-triggers.js';
import { FormCheck, TimeTriggerJob } from './scheduler/jobs.js';
import { EngineEvent } from './events/schema.js';
import { createLeadStore, leadIdOf } from './leads/store.js';
import { createNodeRunner, Deferred } from './nodes/runner.js';
import { runsInline } from './workflows/schema.js';
import { createAudit } from './observability/audit.js';
import { createEngineEvents, type EngineEvents } from './observability/engine-events.js';
import type { Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createSecretBox } from './orgs/secrets.js';
import { createSettingsStore } from './orgs/settings.js';
import { createOrgCache, createOrgStore } from './orgs/store.js';
import { createDeadLetter, ranBefore } from './queue/dead-letter.js';
import { attemptsBeforeMove } from './queue/job-marks.js';
import { createPartitionDrain } from './queue/partitions.js';
import { createQueues } from './queue/queues.js';
import { connectRedis } from './queue/redis.js';
import {
  recordParked,
  startWorkers,
  sweepUnparked,
  type Abandon,
  type Handler,
  type WorkerSet,
} from './queue/workers.js';
import { createKeys } from './shared/keys.js';
import { createWebhookSecretStore } from './webhooks/secrets.js';
import { createWorkflowStore } from './workflows/store.js';

export interface EngineOptions {
  /** Providers per channel; the sandbox outbox when absent. */
  communication?: Partial<Record<'email' | 'sms' | 'whatsapp', CommunicationProvider>>;
  integrations?: Partial<Record<'meta' | 'stripe', IntegrationProvider>>;
  /** Called in this process when an execution reaches a final status (benchmarks, tests). */
  onExecutionFinished?(state: ExecutionState): void;
  /** Engine events out; by default an EventBridge publisher when ENGINE_EVENTS_BUS is set. */
  engineEvents?: EngineEvents;
}

export type Engine = Awaited<ReturnType<typeof createEngine>>;

export async function createEngine(config: Config, logger: Logger, options: EngineOptions = {}) {
  const connections = await connectRedis(config);
  const redis = connections.commands;
  const keys = createKeys(config.QUEUE_PREFIX);
  const queues = createQueues(connections.queues, config, { scheduled: { repeatStrategy } });

  const orgs = createOrgStore(redis, keys);
  const workflows = createWorkflowStore(redis, keys);
  const leads = createLeadStore(redis, keys);
  const executions = createExecutionStore(redis, keys);
  const outbox = createOutbox(redis, keys);
  if (!config.SETTINGS_ENCRYPTION_KEY)
    logger.warn(
      'SETTINGS_ENCRYPTION_KEY is not set: provider secrets are sealed with the public development key',
    );
  const box = createSecretBox(config.SETTINGS_ENCRYPTION_KEY);
  const settings = createSettingsStore(redis, keys, box);
  const webhookSecrets = createWebhookSecretStore(redis, keys, box, logger);
  const engineEvents = options.engineEvents ?? createEngineEvents({ config, logger });
  const publish = engineEvents?.publish;
  const metrics = createMetrics({ redis, keys });
  const audit = createAudit(redis, keys);
  const leadIndex = createLeadIndex(redis, keys);

  const enqueuers = createEnqueuers(queues);
  const orgSettings = createOrgCache(orgs);
  const waiters = createWaiters(redis, keys);
  const schedules = createSchedules(queues.scheduled);

  const lifecycle = createLifecycle({
    redis,
    keys,
    executions,
    orgs,
    workflows,
    defaultRetentionDays: config.RETENTION_DAYS,
    ...(options.onExecutionFinished ? { onFinished: options.onExecutionFinished } : {}),
    removeTimers: enqueuers.removeTimers,
    publish,
  });

  const actionLayer = createActionLayer({
    config,
    logger,
    redis,
    keys,
    outbox,
    leads,
    orgs,
    workflows,
    settings,
    box,
    overrides: options,
  });

  const runNodeJob = createNodeRunner({
    executions,
    workflows,
    leads,
    actions: actionLayer.actions,
    decide: actionLayer.decide,
    waiters,
    org: orgSettings,
    enqueue: (specs) => enqueuers.nodeJobs(specs, true),
    finalize: lifecycle.finalize,
    expirySeconds: lifecycle.expirySeconds,
    observe(job, steps) {
      metrics
        .recordSteps(
          job.orgId,
          job.workflowId,
          steps.map((step) => step.durationMs),
        )
        .catch((error: unknown) => logger.warn({ err: error }, 'could not record step metrics'));
    },
  });

  const ingest = (orgId: string, events: EventInput[]) =>
    ingestEvents({ redis, keys, queues, config }, orgId, events);
  const forms = createFormTracking({
    redis,
    keys,
    org: orgSettings,
    scheduleCheck: schedules.formStarted,
    removeJob: schedules.removeJob,
    ingest,
  });
  /** The trigger job runs an execution's first internal nodes itself; any failure sends the job to the queue. */
  const runInline = async (job: NodeJobData, known: Parameters<typeof runNodeJob>[2]): Promise<boolean> => {
    try {
      await runNodeJob(job, { attemptsMade: 0, maxAttempts: config.JOB_ATTEMPTS, inline: true }, known);
      return true;
    } catch (error) {
      if (error instanceof Deferred) return false;
      throw error;
    }
  };
  const handleEvent = createStarter({
    runInline,
    inlineNode: runsInline,
    redis,
    keys,
    executions,
    workflows,
    leads,
    lifecycle,
    waiters,
    forms,
    enqueue: enqueuers.nodeJobs,
    removeTimers: enqueuers.removeTimers,
    publish,
  });

  /** Keeps one workflow's job schedulers in step with what is published now (after publish and unpublish). */
  async function syncSchedules(orgId: string, workflowId: string): Promise<void> {
    const published = (await workflows.published(orgId)).find((wf) => wf.workflowId === workflowId);
    const org = await orgs.get(orgId);
    await schedules.sync(
      orgId,
      workflowId,
      published ? schedulesFor(published, orgId, org, Date.now()) : new Map(),
    );
  }

  /** Every published workflow's schedulers, and none for the rest: what each scheduler replica runs periodically. */
  async function reconcileSchedules(): Promise<number> {
    const keep = new Set<string>();
    for (const orgId of await orgs.ids()) {
      for (const wf of await workflows.published(orgId)) {
        if (wf.compiled.triggers.some((t) => t.schedule)) {
          keep.add(`${orgId}.${wf.workflowId}`);
          await syncSchedules(orgId, wf.workflowId);
        }
      }
    }
    await schedules.prune(keep);
    return keep.size;
  }

  const runScheduled: Handler = async (job) => {
    if (job.name === FORM_CHECK_JOB) return forms.check(FormCheck.parse(job.data), job.id!);
    const firing = TimeTriggerJob.parse(job.data);
    return sweep(
      { keys, leads, workflows, org: orgSettings, enqueueEvents: enqueuers.triggerEvents },
      { ...firing, firingId: job.id!, dueAt: firingDueAt(job) },
    );
  };
  const replay = createReplayer({
    redis,
    keys,
    executions,
    workflows,
    enqueue: (specs) => enqueuers.nodeJobs(specs, false),
  });

  const deadLetter = createDeadLetter({
    redis,
    keys,
    queues,
    publish,
    async revive(entry) {
      if (entry.executionId) await lifecycle.revive(entry.executionId, entry.jobId);
    },
  });

  /** A job moved out of a retired partition has only the attempts it had left: its attempts count on from there. */
  const runNode: Handler = (job) => {
    const before = attemptsBeforeMove(job);
    return runNodeJob(NodeJobData.parse(job.data), {
      attemptsMade: before + job.attemptsMade,
      maxAttempts: before + (job.opts.attempts ?? 1),
    });
  };

  const handOver = createHandOver({ redis, keys, executions, workflows, enqueue: enqueuers.nodeJobs });

  /**
   * A job that failed for good without its execution recording it. A node job the worker gave up on: its execution
   * fails like after a last attempt. A trigger job: the executions its event started carry on (`createHandOver`).
   */
  const abandon: Abandon = async (queue, job, error) => {
    if (queue === 'triggers') {
      const event = EngineEvent.safeParse(job.data);
      if (!event.success) return;
      const handedOver = await handOver(event.data);
      if (handedOver.length > 0)
        logger.warn(
          { jobId: job.id, eventId: event.data.id, orgId: event.data.orgId, executions: handedOver, error },
          'a trigger job failed for good; the executions its event started carry on',
        );
      return;
    }
    const parsed = NodeJobData.safeParse(job.data);
    if (!parsed.success) return;
    const now = new Date().toISOString();
    const failure = { steps: [], effects: {}, final: true, error, jobId: nodeJobId(parsed.data) };
    await executions.fail(parsed.data.executionId, failure, now);
    // Recorded as what it is now: failed, or ended otherwise meanwhile (see the node runner's failure path). Finalized
    // again even when its failure was recorded before (the runner, or the failed listener before the sweep): that
    // repairs an end whose bookkeeping stopped short, and counts once.
    const state = await executions.load(parsed.data.executionId);
    if (state && terminalStatuses.has(state.status)) await lifecycle.finalize(state);
  };

  /**
   * Parks the jobs of the engine's queues that failed for good without a dead-letter entry, retired action partitions
   * included: jobs failed there before a change of ACTION_QUEUE_PARTITIONS stay in their failed sets.
   */
  const sweepFailed = async () =>
    sweepUnparked(
      [
        ...[...queues.all.values()].filter((queue) => queue.name !== 'dead-letter'),
        ...(await queues.retiredHolding(['failed'])),
      ],
      { redis, cursorKey: keys.failedSweep, lockKey: keys.failedSweepLock, deadLetter, logger, abandon },
      config.FAILED_SWEEP_GRACE_MS,
    );

  /** Records the failures of parked jobs that could not be recorded as they were parked. */
  const recordParkedFailures = () => recordParked({ deadLetter, logger, abandon });

  /**
   * The cleanup job: the retention sweep, the failed-job sweep, and the recording of parked failures not recorded yet,
   * each run even when another fails.
   */
  const cleanup = async () => {
    const [removed, parked, recorded] = await Promise.allSettled([
      lifecycle.sweep(),
      sweepFailed(),
      recordParkedFailures(),
    ]);
    if (removed.status === 'fulfilled' && parked.status === 'fulfilled' && recorded.status === 'fulfilled')
      return { removed: removed.value, parked: parked.value, recorded: recorded.value };
    const errors = [removed, parked, recorded].flatMap((result) =>
      result.status === 'rejected' ? [result.reason] : [],
    );
    for (const err of errors) logger.error({ err }, 'cleanup job failed');
    throw errors[0];
  };

  /** Moves the jobs of action partitions another ACTION_QUEUE_PARTITIONS used into the current ones. */
  const partitions = createPartitionDrain({ queues, redis: connections.queues, keys, logger });

  const workerSets: WorkerSet[] = [];
  const drains: { stop(): Promise<void> }[] = [];
  let reconcileTimer: NodeJS.Timeout | undefined;

  return {
    config,
    logger,
    redis,
    keys,
    queues,
    orgs,
    workflows,
    leads,
    executions,
    outbox,
    lifecycle,
    deadLetter,
    /** What the workers do with a job that failed for good outside its steps, once it is parked. */
    abandon,
    recordParkedFailures,
    settings,
    webhookSecrets,
    /** The guarded action handlers and the AI decider, as the node runner uses them. */
    actions: actionLayer.actions,
    decide: actionLayer.decide,
    consent: actionLayer.consent,
    links: actionLayer.links,
    breakers: actionLayer.breakers,
    waiters,
    orgSettings,
    schedules,
    ingest,
    syncSchedules,
    reconcileSchedules,
    engineEvents,
    metrics,
    audit,
    leadIndex,
    replay,
    partitions,

    /**
     * Starts the trigger, node, wait and cleanup workers in this process, and the periodic move of jobs out of
     * retired action partitions: it records this process's partition count as the newest, and moves jobs only while
     * no process started later records another (the first pass runs now, in the background).
     */
    async startWorkers(): Promise<WorkerSet> {
      const workerSet = startWorkers(
        connections.queues,
        config,
        {
          triggers: async (job) => {
            const event = EngineEvent.parse(job.data);
            // A STOP or START reply changes consent before any workflow it triggers runs.
            await actionLayer.consent.applyReply(event, leadIdOf(event.lead));
            return handleEvent(event, { retried: ranBefore(job) });
          },
          ...Object.fromEntries(queues.actions.map((queue) => [queue.name, runNode])),
          wait: runNode,
          cleanup,
        },
        deadLetter,
        logger,
        abandon,
        metrics.recordJob,
      );
      await queues.cleanup.upsertJobScheduler(
        'retention-sweep',
        { every: config.CLEANUP_INTERVAL_MS },
        { name: 'sweep' },
      );
      workerSets.push(workerSet);
      drains.push(await partitions.start(config.PARTITION_DRAIN_INTERVAL_MS));
      return workerSet;
    },

    /**
     * Starts the scheduler in this process: the worker of the `scheduled` queue (time triggers, form checks) and a
     * periodic reconciliation of job schedulers with published workflows. Replicas are safe: schedulers are upserted
     * by id and each firing is one BullMQ job.
     */
    async startScheduler(): Promise<WorkerSet> {
      await reconcileSchedules();
      reconcileTimer = setInterval(() => {
        reconcileSchedules().catch((error: unknown) =>
          logger.error({ err: error }, 'schedule reconciliation failed'),
        );
      }, config.SCHEDULER_SYNC_MS);
      const workerSet = startWorkers(
        connections.queues,
        config,
        { scheduled: runScheduled },
        deadLetter,
        logger,
        abandon,
      );
      workerSets.push(workerSet);
      return workerSet;
    },

    /** Graceful stop: workers finish their active jobs, then queues and connections close. */
    async close(): Promise<void> {
      clearInterval(reconcileTimer);
      await Promise.all([...drains.map((drain) => drain.stop()), ...workerSets.map((set) => set.close())]);
      await engineEvents?.close();
      await metrics.close();
      actionLayer.close();
      await queues.close();
      await connections.close();
    },
  };
}
