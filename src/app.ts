// The composition root: builds the engine's parts from configuration. Entry points call this and nothing deeper.
import { createActionLayer } from './actions/index.js';
import { createOutbox } from './actions/outbox.js';
import type { CommunicationProvider, IntegrationProvider } from './actions/types.js';
import type { Config } from './config/config.js';
import { createExecutionStore } from './engine/executions.js';
import { NodeJobData, type NodeJobSpec } from './engine/jobs.js';
import { createLifecycle } from './engine/lifecycle.js';
import { createStarter } from './engine/start.js';
import { EngineEvent } from './events/schema.js';
import { createLeadStore, leadIdOf } from './leads/store.js';
import { createNodeRunner } from './nodes/runner.js';
import type { Logger } from './observability/logger.js';
import { createSecretBox } from './orgs/secrets.js';
import { createSettingsStore } from './orgs/settings.js';
import { createOrgStore } from './orgs/store.js';
import { createDeadLetter } from './queue/dead-letter.js';
import { closeQueues, createQueues } from './queue/queues.js';
import { connectRedis } from './queue/redis.js';
import { startWorkers, type Handler, type WorkerSet } from './queue/workers.js';
import { createKeys } from './shared/keys.js';
import { createWorkflowStore } from './workflows/store.js';

export interface EngineOptions {
  /** Providers per channel; the sandbox outbox when absent. */
  communication?: Partial<Record<'email' | 'sms' | 'whatsapp', CommunicationProvider>>;
  integrations?: Partial<Record<'meta' | 'stripe', IntegrationProvider>>;
}

export type Engine = Awaited<ReturnType<typeof createEngine>>;

export async function createEngine(config: Config, logger: Logger, options: EngineOptions = {}) {
  const connections = await connectRedis(config);
  const redis = connections.commands;
  const keys = createKeys(config.QUEUE_PREFIX);
  const queues = createQueues(connections.queues, config);

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

  /** Continuations go to the head of the queue (LIFO) so running executions never wait behind a backlog of new ones. */
  const enqueue = (continuation: boolean) => async (specs: NodeJobSpec[]) => {
    const now = Date.now();
    const immediate = specs.filter((spec) => spec.runAt === undefined);
    const delayed = specs.filter((spec) => spec.runAt !== undefined);
    await Promise.all([
      immediate.length > 0
        ? queues.actionsFor(immediate[0]!.data.orgId).addBulk(
            immediate.map((spec) => ({
              name: spec.data.nodeId,
              data: spec.data,
              opts: { jobId: spec.jobId, lifo: continuation },
            })),
          )
        : undefined,
      delayed.length > 0
        ? queues.wait.addBulk(
            delayed.map((spec) => ({
              name: spec.data.nodeId,
              data: spec.data,
              opts: { jobId: spec.jobId, delay: Math.max(0, spec.runAt! - now) },
            })),
          )
        : undefined,
    ]);
  };

  const lifecycle = createLifecycle({
    redis,
    keys,
    executions,
    orgs,
    defaultRetentionDays: config.RETENTION_DAYS,
    async removeTimers(jobIds) {
      await Promise.all(jobIds.map((id) => queues.wait.remove(id)));
    },
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
    enqueue: enqueue(true),
    finalize: lifecycle.finalize,
  });
  const handleEvent = createStarter({ redis, keys, executions, workflows, leads, enqueue: enqueue(false) });

  const deadLetter = createDeadLetter({
    redis,
    keys,
    queues,
    async revive(entry) {
      if (entry.executionId) await executions.revive(entry.executionId, new Date().toISOString());
    },
  });

  const runNode: Handler = (job) =>
    runNodeJob(NodeJobData.parse(job.data), {
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
    });

  let workerSet: WorkerSet | undefined;

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
    settings,
    /** The guarded action handlers and the AI decider, as the node runner uses them. */
    actions: actionLayer.actions,
    decide: actionLayer.decide,
    consent: actionLayer.consent,
    links: actionLayer.links,
    breakers: actionLayer.breakers,

    /** Starts the trigger, node, wait and cleanup workers in this process. */
    async startWorkers(): Promise<WorkerSet> {
      workerSet = startWorkers(
        connections.queues,
        config,
        {
          triggers: async (job) => {
            const event = EngineEvent.parse(job.data);
            // A STOP or START reply changes consent before any workflow it triggers runs.
            await actionLayer.consent.applyReply(event, leadIdOf(event.lead));
            return handleEvent(event);
          },
          ...Object.fromEntries(queues.actions.map((queue) => [queue.name, runNode])),
          wait: runNode,
          cleanup: () => lifecycle.sweep(),
        },
        deadLetter,
        logger,
      );
      await queues.cleanup.upsertJobScheduler(
        'retention-sweep',
        { every: config.CLEANUP_INTERVAL_MS },
        { name: 'sweep' },
      );
      return workerSet;
    },

    /** Graceful stop: workers finish their active jobs, then queues and connections close. */
    async close(): Promise<void> {
      await workerSet?.close();
      actionLayer.close();
      await closeQueues(queues);
      await connections.close();
    },
  };
}
