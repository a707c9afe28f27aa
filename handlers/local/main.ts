// The local stack in one process: Redis (found or started), the HTTP API, the workers and the scheduler.
import { createEngine } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { ensureLocalRedis } from '../../src/dev/local-redis.js';
import { createApi } from '../../src/http/api.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/observability/logger.js';

const DEV_ADMIN_TOKEN = 'local-dev-admin-token';

const env = { ...process.env };
env.ADMIN_TOKEN ??= DEV_ADMIN_TOKEN;
const config = loadConfig(env);
const logger = createLogger(config.LOG_LEVEL);

let stopRedis: (() => void) | undefined;
if (!process.env.REDIS_URL && config.REDIS_CLUSTER_NODES.length === 0) {
  try {
    stopRedis = await ensureLocalRedis(6379);
    if (stopRedis) logger.info('started redis-server on 127.0.0.1:6379 with its data in .local/redis');
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}

const engine = await createEngine(config, logger);
await engine.startWorkers();
await engine.startScheduler();
const server = createHttpServer(createApi(engine, logger), config.MAX_BODY_BYTES);
server.listen(config.PORT, config.HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  console.log(`Atlas Automations listening on http://${config.HOST}:${port} (workers and scheduler running)`);
  if (config.ADMIN_TOKEN === DEV_ADMIN_TOKEN)
    console.log(`admin token for local use: ${DEV_ADMIN_TOKEN} (set ADMIN_TOKEN to change it)`);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight jobs');
    server.close();
    engine
      .close()
      .then(() => stopRedis?.())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}
