// The composition root of the ingest functions (HTTP ingest, EventBridge): Redis, the queues and the stores that
// ingest needs, and nothing of the workers, so the Lambda bundles stay small and start fast.
import type { Config } from './config/config.js';
import type { IngestServices } from './http/ingest-routes.js';
import type { Logger } from './observability/logger.js';
import { createSecretBox } from './orgs/secrets.js';
import { createOrgStore } from './orgs/store.js';
import { createQueues } from './queue/queues.js';
import { connectRedis } from './queue/redis.js';
import { createKeys } from './shared/keys.js';
import { createWebhookSecretStore } from './webhooks/secrets.js';

export async function createIngestServices(
  config: Config,
  logger: Logger,
): Promise<IngestServices & { close(): Promise<void> }> {
  const connections = await connectRedis(config);
  const keys = createKeys(config.QUEUE_PREFIX);
  const queues = createQueues(connections.queues, config);
  return {
    config,
    logger,
    redis: connections.commands,
    keys,
    queues,
    orgs: createOrgStore(connections.commands, keys),
    webhookSecrets: createWebhookSecretStore(
      connections.commands,
      keys,
      createSecretBox(config.SETTINGS_ENCRYPTION_KEY),
      logger,
    ),
    async close() {
      await queues.close();
      await connections.close();
    },
  };
}
