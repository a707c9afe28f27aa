// Ingest of a batch of EventBridge records: each is parsed on its own, valid ones are ingested per organization,
// and every record that is not in Redis afterwards is reported back with its reason; none is dropped silently.
import type { OrgStore } from '../orgs/store.js';
import { errorMessage } from '../shared/errors.js';
import { fromEventBridge, RecordRejected } from './eventbridge.js';
import { ingestEvents, type IngestDeps } from './ingest.js';
import type { EventInput } from './schema.js';

export interface EventBridgeDeps extends IngestDeps {
  orgs: Pick<OrgStore, 'get'>;
}

export interface RecordFailure {
  /** The record's identifier (the SQS message id, or the EventBridge event id). */
  id: string;
  reason: string;
  /** false when retrying cannot help (malformed, unknown organization); the record still goes to the DLQ. */
  retryable: boolean;
}

export async function ingestEventBridge(
  deps: EventBridgeDeps,
  records: { id: string; body: unknown }[],
  allowedSources: readonly string[],
): Promise<{ accepted: number; failures: RecordFailure[] }> {
  const failures: RecordFailure[] = [];
  const byOrg = new Map<string, { id: string; event: EventInput }[]>();
  for (const record of records) {
    try {
      const { orgId, event } = fromEventBridge(record.body, allowedSources);
      byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), { id: record.id, event }]);
    } catch (error) {
      const retryable = !(error instanceof RecordRejected);
      failures.push({ id: record.id, reason: errorMessage(error), retryable });
    }
  }
  let accepted = 0;
  await Promise.all(
    [...byOrg].map(async ([orgId, items]) => {
      try {
        if (!(await deps.orgs.get(orgId))) {
          for (const item of items)
            failures.push({ id: item.id, reason: `unknown organization ${orgId}`, retryable: false });
          return;
        }
        await ingestEvents(
          deps,
          orgId,
          items.map((item) => item.event),
        );
        accepted += items.length;
      } catch (error) {
        for (const item of items)
          failures.push({ id: item.id, reason: errorMessage(error), retryable: true });
      }
    }),
  );
  return { accepted, failures };
}
