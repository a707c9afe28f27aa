// The sandbox outbox: the local default provider. It records each message per organization instead of sending it.
import { stableId } from '../shared/ids.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import type {
  CommunicationProvider,
  IntegrationProvider,
  IntegrationRequest,
  OutboundMessage,
} from './types.js';

/** Messages kept per organization; older ones are trimmed. */
export const OUTBOX_LIMIT = 1000;

export interface OutboxEntry {
  id: string;
  at: string;
  kind: string;
  [field: string]: unknown;
}

export function createOutbox(redis: RedisClient, keys: Keys) {
  const record = async (orgId: string, entry: OutboxEntry) => {
    await redis
      .multi()
      .lpush(keys.outbox(orgId), JSON.stringify(entry))
      .ltrim(keys.outbox(orgId), 0, OUTBOX_LIMIT - 1)
      .exec();
  };

  const communication: CommunicationProvider = {
    name: 'sandbox',
    async send(message: OutboundMessage) {
      const id = `sbx_${stableId(message.idempotencyKey)}`;
      await record(message.orgId, { id, at: new Date().toISOString(), kind: message.channel, ...message });
      return { providerMessageId: id, provider: 'sandbox', sandbox: true };
    },
  };

  const integration: IntegrationProvider = {
    name: 'sandbox',
    async call(request: IntegrationRequest) {
      const id = `sbx_${stableId(request.idempotencyKey)}`;
      await record(request.orgId, { id, at: new Date().toISOString(), ...request });
      return { providerId: id, sandbox: true };
    },
  };

  return {
    communication,
    integration,
    async list(orgId: string, limit = 100): Promise<OutboxEntry[]> {
      const raw = await redis.lrange(keys.outbox(orgId), 0, Math.min(limit, OUTBOX_LIMIT) - 1);
      return raw.map((json) => JSON.parse(json) as OutboxEntry);
    },
  };
}
export type Outbox = ReturnType<typeof createOutbox>;
