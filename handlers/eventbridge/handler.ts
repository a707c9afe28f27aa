// Lambda entry for CRM domain events. Two deliveries are understood: an SQS batch (the deployed path: rule → SQS →
// this function, with ReportBatchItemFailures) answers `batchItemFailures` so only failed records return to the queue
// and, after maxReceiveCount, its dead-letter queue; a direct EventBridge invocation throws on failure so Lambda's
// async retries and on-failure destination take over. Either way no record is dropped silently.
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../../src/config/config.js';
import { ingestEventBridge } from '../../src/events/eventbridge-ingest.js';
import { createIngestServices } from '../../src/ingest-app.js';
import { createLogger } from '../../src/observability/logger.js';

type Services = Awaited<ReturnType<typeof createIngestServices>>;
let services: Promise<Services> | undefined;

function servicesOnce(): Promise<Services> {
  services ??= (async () => {
    const config = loadConfig();
    return createIngestServices(config, createLogger(config.LOG_LEVEL));
  })().catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
}

const isSqs = (event: unknown): event is SQSEvent =>
  typeof event === 'object' && event !== null && Array.isArray((event as SQSEvent).Records);

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

export async function handler(
  event: SQSEvent | EventBridgeEvent<string, unknown>,
): Promise<SQSBatchResponse | { accepted: number }> {
  const deps = await servicesOnce();
  const records = isSqs(event)
    ? event.Records.map((record) => ({ id: record.messageId, body: parseBody(record.body) }))
    : [{ id: String((event as { id?: unknown }).id ?? 'direct'), body: event }];
  const { accepted, failures } = await ingestEventBridge(deps, records, deps.config.EVENTBRIDGE_SOURCES);
  for (const failure of failures) deps.logger.warn(failure, 'eventbridge record not ingested');
  if (isSqs(event)) return { batchItemFailures: failures.map((failure) => ({ itemIdentifier: failure.id })) };
  if (failures.length > 0) throw new Error(`eventbridge event not ingested: ${failures[0]!.reason}`);
  return { accepted };
}
