// Dashboard data for the web app and scripts (`/v1/metrics/*`) and the Prometheus endpoint (`GET /metrics`).
import { z } from 'zod';
import type { Engine } from '../../app.js';
import { MAX_WINDOW_SECONDS } from '../../observability/metrics.js';
import { createPrometheus, type Prometheus } from '../../observability/prometheus.js';
import { queueHealth } from '../../observability/queues.js';
import { HttpError } from '../../shared/errors.js';
import { requireAdmin, type Context } from '../access.js';
import { json, parseWith, type Route } from '../router.js';

const Window = z.coerce.number().int().min(60).max(MAX_WINDOW_SECONDS);
const QueueMetricsQuery = z.object({ window: Window.default(900) });
const WorkflowMetricsQuery = z.object({
  window: Window.default(3600),
  /** Admin only: the organization to report on. */
  orgId: z.string().min(1).max(100).optional(),
});

const prometheusByEngine = new WeakMap<Engine, Prometheus>();

/** An org key reports on its own organization; the admin token names one with `?orgId=`. */
async function reportedOrg(context: Context, orgId: string | undefined): Promise<string> {
  const principal = await context.principal();
  if (principal.kind === 'org') {
    if (orgId !== undefined && orgId !== principal.orgId)
      throw new HttpError(404, 'not_found', `organization ${orgId} not found`);
    return principal.orgId;
  }
  if (!orgId)
    throw new HttpError(400, 'validation_failed', 'the admin token must name an organization', [
      { path: 'orgId', message: 'required with the admin token' },
    ]);
  return orgId;
}

export const observabilityRoutes: Route<Context>[] = [
  {
    method: 'GET',
    pattern: '/v1/metrics/queues',
    async handle(request, _params, context) {
      // Queue depths and throughput are the whole engine's, every organization's jobs together: operators only.
      await requireAdmin(context);
      const { engine } = context;
      const { window } = parseWith(QueueMetricsQuery, request.query);
      // Health first: it names the queues, retired action partitions still holding jobs included.
      const health = await queueHealth(engine.queues);
      const [series, totals] = await Promise.all([
        engine.metrics.queueSeries(
          health.map((queue) => queue.name),
          window,
        ),
        engine.metrics.queueTotals(),
      ]);
      return json(200, {
        window,
        bucketSeconds: 10,
        queues: health.map((queue) => ({
          ...queue,
          processed: totals[queue.name] ?? { completed: 0, failed: 0, ms: 0 },
          series: series[queue.name],
        })),
      });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/metrics/workflows',
    async handle(request, _params, context) {
      const { window, orgId: asked } = parseWith(WorkflowMetricsQuery, request.query);
      const orgId = await reportedOrg(context, asked);
      const { engine } = context;
      const [workflows, counters, latency] = await Promise.all([
        engine.workflows.list(orgId),
        engine.metrics.workflowCounters(orgId),
        engine.metrics.stepLatency(orgId, window),
      ]);
      const empty = { started: 0, completed: 0, failed: 0, cancelled: 0, exited: 0, skipped: 0 };
      return json(200, {
        window,
        workflows: workflows.map((workflow) => {
          const counts = counters[workflow.id] ?? empty;
          const steps = latency[workflow.id];
          return {
            id: workflow.id,
            name: workflow.name,
            publishedVersion: workflow.publishedVersion,
            ...counts,
            active: Math.max(
              0,
              counts.started - counts.completed - counts.failed - counts.cancelled - counts.exited,
            ),
            stepLatency: {
              count: steps?.count ?? 0,
              meanMs: steps?.meanMs ?? null,
              p50: steps?.p50 ?? null,
              p95: steps?.p95 ?? null,
              p99: steps?.p99 ?? null,
            },
          };
        }),
      });
    },
  },
  {
    method: 'GET',
    pattern: '/metrics',
    public: true,
    async handle(_request, _params, context) {
      const { engine } = context;
      if (!engine.config.METRICS_PUBLIC) await requireAdmin(context);
      let prometheus = prometheusByEngine.get(engine);
      if (!prometheus) {
        prometheus = createPrometheus(engine);
        prometheusByEngine.set(engine, prometheus);
      }
      return {
        status: 200,
        headers: { 'content-type': prometheus.contentType },
        body: await prometheus.render(),
      };
    },
  },
];
