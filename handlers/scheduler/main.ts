// Container entry for the scheduler service: job schedulers for time triggers and form checks, until SIGTERM.
import { createEngine } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const engine = await createEngine(config, logger);
await engine.startScheduler();
logger.info({ syncEveryMs: config.SCHEDULER_SYNC_MS }, 'scheduler started');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the scheduler');
    engine.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
