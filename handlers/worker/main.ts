// Container entry for the worker service: consume the engine's queues until SIGTERM, then drain and exit.
import { createEngine } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startQueueMetrics } from '../../src/observability/queue-metrics.js';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const engine = await createEngine(config, logger);
await engine.startWorkers();
logger.info({ concurrency: config.WORKER_CONCURRENCY }, 'workers started');
const metrics =
  config.QUEUE_METRICS_INTERVAL_MS > 0
    ? startQueueMetrics({
        queues: engine.queues,
        intervalMs: config.QUEUE_METRICS_INTERVAL_MS,
        namespace: config.METRICS_NAMESPACE,
        stage: config.STAGE,
        onError: (error) => logger.warn({ err: error }, 'queue metrics not written'),
      })
    : undefined;

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining workers');
    metrics?.stop();
    engine.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
