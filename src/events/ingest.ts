// Ingest: bind validated events to their organization, drop duplicates by event id, and enqueue one trigger job each.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.js';
import type { Queues } from '../queue/queues.js';
import { stableId } from '../shared/ids.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { jobPriority } from '../engine/priority.js';
import type { EngineEvent, EventInput } from './schema.js';

export interface IngestDeps {
  redis: RedisClient;
  queues: Pick<Queues, 'triggers'>;
  keys: Keys;
  config: Pick<Config, 'EVENT_DEDUPE_TTL_SECONDS'>;
  now?: () => Date;
}

export interface Accepted {
  id: string;
  duplicate?: true;
}

export function triggerJobId(orgId: string, eventId: string): string {
  return `evt-${stableId(orgId, eventId)}`;
}

/** BullMQ job options for a priority: none for high priority, so the job joins the wait list. */
export const priorityOption = (priority: number | undefined) => (priority ? { priority } : {});

/**
 * Accepts events for one organization. Resolves only after Redis holds a job for every new event.
 * Order makes a crash safe: the job is added under an id derived from the event id (BullMQ ignores a second add),
 * then the dedupe marker is written, so a producer's retry never doubles an event and never loses one.
 */
export async function ingestEvents(
  deps: IngestDeps,
  orgId: string,
  inputs: EventInput[],
): Promise<Accepted[]> {
  const now = (deps.now ?? (() => new Date()))().toISOString();
  const events: EngineEvent[] = inputs.map((input) => ({
    id: input.id ?? randomUUID(),
    orgId,
    type: input.type,
    occurredAt: input.occurredAt ?? now,
    receivedAt: now,
    ...(input.lead ? { lead: input.lead } : {}),
    ...(input.data ? { data: input.data } : {}),
  }));

  const seen = await deps.redis.mget(...events.map((event) => deps.keys.dedupe(orgId, event.id)));
  const fresh = new Map<string, EngineEvent>();
  for (const [i, event] of events.entries()) {
    if (seen[i] === null && !fresh.has(event.id)) fresh.set(event.id, event);
  }

  if (fresh.size > 0) {
    const jobs = [...fresh.values()].map((event) => ({
      name: event.type,
      data: event,
      opts: { jobId: triggerJobId(orgId, event.id), ...priorityOption(jobPriority(event.type)) },
    }));
    if (jobs.length === 1) await deps.queues.triggers.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
    else await deps.queues.triggers.addBulk(jobs);
    const ttl = deps.config.EVENT_DEDUPE_TTL_SECONDS;
    await Promise.all(
      [...fresh.keys()].map((id) => deps.redis.set(deps.keys.dedupe(orgId, id), '1', 'EX', ttl)),
    );
  }

  const firstIndex = new Map<string, number>();
  return events.map((event, i) => {
    const isFirst = !firstIndex.has(event.id);
    if (isFirst) firstIndex.set(event.id, i);
    return fresh.has(event.id) && isFirst ? { id: event.id } : { id: event.id, duplicate: true };
  });
}
