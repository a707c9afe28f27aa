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
 * Claims event ids for one organization, in one script on its slot. Each key is the event's marker: absent for an id
 * never seen; `p` (pending) once claimed, until the trigger job takes the event; `d` (done) after (`1` from older
 * versions means the same). An absent marker is set to `p` with the dedupe TTL. Returns each marker as it was.
 * KEYS the markers; ARGV[1] the TTL in seconds.
 */
const claimScript = `
local before = {}
for i, key in ipairs(KEYS) do
  local marker = redis.call('GET', key)
  if not marker then redis.call('SET', key, 'p', 'EX', ARGV[1]) end
  before[i] = marker or false
end
return before
`;

interface ClaimClient {
  atlasClaimEvents(keyCount: number, ...args: (string | number)[]): Promise<(string | null)[]>;
}

/**
 * Accepts events for one organization. Resolves only after Redis holds a job for every new event, in two round trips:
 * the ids are claimed (marked pending), then their trigger jobs are added under ids derived from the event ids. A
 * crash between the two leaves a pending marker and no job: a producer's retry finds the marker pending and adds the
 * job again (BullMQ ignores a second add of a job it holds), so a retry never doubles an event and never loses one.
 * The trigger job marks its event done; after that, the same id is answered as a duplicate and adds nothing.
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

  const client = deps.redis as RedisClient & Partial<ClaimClient>;
  if (!client.atlasClaimEvents) client.defineCommand('atlasClaimEvents', { lua: claimScript });
  const ids = [...new Set(events.map((event) => event.id))];
  const markers = await (client as RedisClient & ClaimClient).atlasClaimEvents(
    ids.length,
    ...ids.map((id) => deps.keys.dedupe(orgId, id)),
    deps.config.EVENT_DEDUPE_TTL_SECONDS,
  );
  const before = new Map(ids.map((id, i) => [id, markers[i] ?? null]));
  // New ids, and ids claimed before whose job may not have been added (a crash between claim and add).
  const toQueue = new Map<string, EngineEvent>();
  for (const event of events) {
    const marker = before.get(event.id);
    if ((marker === null || marker === 'p') && !toQueue.has(event.id)) toQueue.set(event.id, event);
  }

  if (toQueue.size > 0) {
    const jobs = [...toQueue.values()].map((event) => ({
      name: event.type,
      data: event,
      opts: { jobId: triggerJobId(orgId, event.id), ...priorityOption(jobPriority(event.type)) },
    }));
    if (jobs.length === 1) await deps.queues.triggers.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
    else await deps.queues.triggers.addBulk(jobs);
  }

  const firstIndex = new Map<string, number>();
  return events.map((event, i) => {
    const isFirst = !firstIndex.has(event.id);
    if (isFirst) firstIndex.set(event.id, i);
    return before.get(event.id) === null && isFirst ? { id: event.id } : { id: event.id, duplicate: true };
  });
}
