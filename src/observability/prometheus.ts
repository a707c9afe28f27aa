// GET /metrics: the engine's state in Prometheus text format, read from Redis at scrape time (the workers that
// produce the numbers run in other processes, so nothing is kept in this process but the API's own runtime metrics).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { OrgStore } from '../orgs/store.js';
import type { Queues } from '../queue/queues.js';
import type { LatencySummary, Metrics, QueueTotals, WorkflowCounters } from './metrics.js';
import { queueHealth, type QueueHealth } from './queues.js';

export interface PrometheusDeps {
  queues: Queues;
  metrics: Metrics;
  orgs: Pick<OrgStore, 'ids'>;
}

const states = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;

/** Everything one scrape reads, fetched once and shared by the collectors. */
interface Snapshot {
  health: QueueHealth[];
  totals: Record<string, QueueTotals>;
  orgs: {
    org: string;
    counters: Record<string, WorkflowCounters>;
    latency: Record<string, LatencySummary>;
  }[];
}

export function createPrometheus({ queues, metrics, orgs }: PrometheusDeps) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'atlas_api_' });
  let snapshot: Promise<Snapshot> | undefined;
  const current = () => snapshot!;

  const take = async (): Promise<Snapshot> => {
    const [health, totals, ids] = await Promise.all([queueHealth(queues), metrics.queueTotals(), orgs.ids()]);
    const perOrg = await Promise.all(
      ids.map(async (org) => {
        const [counters, latency] = await Promise.all([
          metrics.workflowCounters(org),
          metrics.stepLatency(org),
        ]);
        return { org, counters, latency };
      }),
    );
    return { health, totals, orgs: perOrg };
  };

  new Gauge({
    name: 'atlas_queue_jobs',
    help: 'Jobs in each queue by state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const health of (await current()).health)
        for (const state of states) this.set({ queue: health.name, state }, health[state]);
    },
  });
  new Gauge({
    name: 'atlas_queue_workers',
    help: 'Workers connected to each queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const health of (await current()).health) this.set({ queue: health.name }, health.workers);
    },
  });
  new Counter({
    name: 'atlas_queue_processed_total',
    help: 'Job attempts processed per queue, by outcome (each failed attempt counts).',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, totals] of Object.entries((await current()).totals)) {
        this.inc({ queue, outcome: 'completed' }, totals.completed);
        this.inc({ queue, outcome: 'failed' }, totals.failed);
      }
    },
  });
  new Counter({
    name: 'atlas_queue_processing_seconds_total',
    help: 'Time spent processing job attempts per queue.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, totals] of Object.entries((await current()).totals))
        this.inc({ queue }, totals.ms / 1000);
    },
  });
  new Counter({
    name: 'atlas_workflow_executions_total',
    help: 'Executions per organization and workflow by what happened (started, completed, failed, ...).',
    labelNames: ['org', 'workflow', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { org, counters } of (await current()).orgs)
        for (const [workflow, counts] of Object.entries(counters))
          for (const [status, value] of Object.entries(counts)) this.inc({ org, workflow, status }, value);
    },
  });
  new Gauge({
    name: 'atlas_step_latency_seconds',
    help: 'Step duration quantiles per workflow over the last hour (estimated from fixed-bucket histograms).',
    labelNames: ['org', 'workflow', 'quantile'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { org, latency } of (await current()).orgs)
        for (const [workflow, summary] of Object.entries(latency))
          for (const [quantile, value] of [
            ['0.5', summary.p50],
            ['0.95', summary.p95],
            ['0.99', summary.p99],
          ] as const)
            if (value !== null) this.set({ org, workflow, quantile }, value / 1000);
    },
  });

  return {
    contentType: registry.contentType as string,
    async render(): Promise<string> {
      const mine = take();
      snapshot = mine;
      try {
        return await registry.metrics();
      } finally {
        if (snapshot === mine) snapshot = undefined;
      }
    },
  };
}
export type Prometheus = ReturnType<typeof createPrometheus>;
