// The built-in per-organization lead store: a hash of fields and a set of tags per lead, sharing one hash tag.
import { createHash } from 'node:crypto';
import type { LeadInput } from '../events/schema.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { fromFlatPairs } from '../shared/replies.js';

export type Lead = Record<string, unknown> & { id: string; tags: string[] };

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 24);

/** The lead's id: the one given, else derived from the email, else from the phone number. */
export function leadIdOf(lead: LeadInput | undefined): string | undefined {
  if (!lead) return undefined;
  if (lead.id) return lead.id;
  if (lead.email) return `em_${digest(lead.email.trim().toLowerCase())}`;
  if (lead.phone) return `ph_${digest(lead.phone.replace(/[^0-9+]/g, ''))}`;
  return undefined;
}

const writeScript = `
-- Writes a lead's fields and tags in one call and returns the fields' previous values; with ARGV[1] = 'read' it also
-- returns the whole lead and its live executions, so the trigger side reads nothing back.
-- KEYS[1] fields, KEYS[2] tags, KEYS[3] live executions; ARGV[1] 'read' or '', ARGV[2] createdAt JSON ('' for none),
-- ARGV[3] field count n, ARGV[4..3+2n] name/value pairs, then tags to add
-- returns { previous values, [fields (flat), tags, live executions (flat)] }
local n = tonumber(ARGV[3])
local previous = {}
if n > 0 then
  local names = {}
  for i = 1, n do names[i] = ARGV[2 + 2 * i] end
  previous = redis.call('HMGET', KEYS[1], unpack(names))
  redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n))
end
if ARGV[2] ~= '' then redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[2]) end
if #ARGV > 3 + 2 * n then redis.call('SADD', KEYS[2], unpack(ARGV, 4 + 2 * n)) end
if ARGV[1] ~= 'read' then return { previous } end
return { previous, redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2]), redis.call('HGETALL', KEYS[3]) }
`;

const removeScript = `
-- Deletes some of a lead's fields and returns their previous values, so the caller can take them out of the date
-- indexes. KEYS[1] fields; ARGV field names; returns the previous values (false where there was none)
local previous = redis.call('HMGET', KEYS[1], unpack(ARGV))
redis.call('HDEL', KEYS[1], unpack(ARGV))
return previous
`;

interface ScriptClient {
  atlasLeadWrite(...args: string[]): Promise<[(string | null)[], string[]?, string[]?, string[]?]>;
  atlasLeadRemove(...args: string[]): Promise<(string | null)[]>;
}

/**
 * The built-in store's writes to one lead over a node job's run of internal nodes, gathered in memory and sent as one
 * write (one round trip) before the run's steps are committed. Later values of a field replace earlier ones, as they
 * would have in the store.
 */
export interface LeadWrites {
  setFields(fields: Record<string, unknown>): void;
  addTag(tag: string): void;
  /** Sends what was gathered since the last flush, if anything, and starts over. */
  flush(): Promise<void>;
}

/** A lead and the executions it has running (execution id → `workflowId version`), as the trigger side needs them. */
export interface KnownLead {
  leadId: string;
  lead: Lead;
  live: Record<string, string>;
}

function toLead(leadId: string, fields: Record<string, string>, tags: string[]): Lead | undefined {
  if (Object.keys(fields).length === 0 && tags.length === 0) return undefined;
  const lead: Lead = { id: leadId, tags: [] };
  for (const [name, value] of Object.entries(fields)) lead[name] = JSON.parse(value) as unknown;
  lead.id = leadId;
  lead.tags = tags.sort();
  return lead;
}

/** A value a `date_reached` trigger can find: `YYYY-MM-DD`, or the date part of an ISO date-time. */
const dayOf = (value: unknown): string | undefined =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T|$)/.test(value) ? value.slice(0, 10) : undefined;

/** The day of a stored field value. Stored values are JSON: only a quoted date can be in an index. */
const storedDay = (stored: string | null | undefined): string | undefined =>
  stored?.startsWith('"') ? dayOf(JSON.parse(stored) as unknown) : undefined;

export function createLeadStore(redis: RedisClient, keys: Keys) {
  if (!('atlasLeadWrite' in redis))
    redis.defineCommand('atlasLeadWrite', { numberOfKeys: 3, lua: writeScript });
  if (!('atlasLeadRemove' in redis))
    redis.defineCommand('atlasLeadRemove', { numberOfKeys: 1, lua: removeScript });
  const scripts = redis as unknown as ScriptClient;

  /** The date index sets a field's day puts its lead in: the full date and the month-day. */
  const dayIndexes = (orgId: string, name: string, day: string) => [
    keys.dateIndex(orgId, name, day),
    keys.dateIndex(orgId, name, day.slice(5)),
  ];

  const read = async (orgId: string, leadId: string): Promise<Lead | undefined> => {
    const [fields, tags] = await Promise.all([
      redis.hgetall(keys.lead(orgId, leadId)),
      redis.smembers(keys.leadTags(orgId, leadId)),
    ]);
    return toLead(leadId, fields, tags);
  };

  /**
   * Writes fields (and tags) in one script, then keeps the organization's date indexes in step: a date field's lead
   * is in the set for its full date and the set for its month-day, so finding the leads whose date is today costs
   * time proportional to them.
   */
  const write = async (
    orgId: string,
    leadId: string,
    fields: Record<string, unknown>,
    options: { tags?: string[]; createdAt?: string; read?: boolean } = {},
  ) => {
    const entries = Object.entries(fields).filter(
      ([name, value]) => name !== 'tags' && name !== 'id' && value !== undefined,
    );
    const reply = await scripts.atlasLeadWrite(
      keys.lead(orgId, leadId),
      keys.leadTags(orgId, leadId),
      keys.leadExecutions(orgId, leadId),
      options.read ? 'read' : '',
      options.createdAt ? JSON.stringify(options.createdAt) : '',
      String(entries.length),
      ...entries.flatMap(([name, value]) => [name, JSON.stringify(value ?? null)]),
      ...(options.tags ?? []),
    );
    const previous = reply[0];
    const indexing: Promise<number>[] = [];
    entries.forEach(([name, value], i) => {
      const before = storedDay(previous[i]);
      const after = dayOf(value);
      if (before === after) return;
      if (before)
        for (const index of dayIndexes(orgId, name, before)) indexing.push(redis.srem(index, leadId));
      if (after) for (const index of dayIndexes(orgId, name, after)) indexing.push(redis.sadd(index, leadId));
    });
    await Promise.all(indexing);
    return reply;
  };

  /**
   * Merges the event's lead data into the store and returns the lead as it now is, with its live executions, in
   * one round trip on the lead's slot. `listed`: the caller adds the lead to the organization's lead set itself (the
   * trigger side does, in its own script on the organization's slot); `read: false` skips reading the lead back.
   */
  async function upsertAndRead(
    orgId: string,
    input: LeadInput | undefined,
    options: { listed?: boolean; read?: boolean } = {},
  ): Promise<KnownLead | undefined> {
    const leadId = leadIdOf(input);
    if (!input || !leadId) return undefined;
    const { tags, ...fields } = input;
    const [reply] = await Promise.all([
      write(
        orgId,
        leadId,
        { ...fields, id: undefined },
        {
          ...(tags && tags.length > 0 ? { tags } : {}),
          createdAt: new Date().toISOString(),
          read: options.read ?? true,
        },
      ),
      options.listed ? undefined : redis.sadd(keys.leads(orgId), leadId),
    ]);
    const [, flatFields = [], leadTags = [], live = []] = reply;
    return {
      leadId,
      lead: toLead(leadId, fromFlatPairs(flatFields), leadTags) ?? { id: leadId, tags: [] },
      live: fromFlatPairs(live),
    };
  }

  return {
    get: read,

    async setFields(orgId: string, leadId: string, fields: Record<string, unknown>): Promise<void> {
      await write(orgId, leadId, fields);
    },

    /** The named fields of a lead that it has, without reading the rest of it. */
    async fields(orgId: string, leadId: string, names: string[]): Promise<Record<string, unknown>> {
      if (names.length === 0) return {};
      const values = await redis.hmget(keys.lead(orgId, leadId), ...names);
      const fields: Record<string, unknown> = {};
      names.forEach((name, i) => {
        const value = values[i];
        if (value !== null && value !== undefined) fields[name] = JSON.parse(value) as unknown;
      });
      return fields;
    },

    /** Deletes fields of a lead, and takes it out of the date indexes their values had put it in. */
    async removeFields(orgId: string, leadId: string, names: string[]): Promise<void> {
      if (names.length === 0) return;
      const previous = await scripts.atlasLeadRemove(keys.lead(orgId, leadId), ...names);
      const unindexing = names.flatMap((name, i) => {
        const day = storedDay(previous[i]);
        return day ? dayIndexes(orgId, name, day).map((index) => redis.srem(index, leadId)) : [];
      });
      await Promise.all(unindexing);
    },

    /** Merges the event's lead data into the store; returns the lead id, or undefined when the event names no lead. */
    async upsert(orgId: string, input: LeadInput | undefined): Promise<string | undefined> {
      return (await upsertAndRead(orgId, input, { read: false }))?.leadId;
    },

    upsertAndRead,

    /** Lead ids of the organization in batches, without loading them all (SSCAN). */
    async *scan(key: string, batch = 500): AsyncGenerator<string[]> {
      let cursor = '0';
      do {
        const [next, ids] = await redis.sscan(key, cursor, 'COUNT', batch);
        cursor = next;
        if (ids.length > 0) yield ids;
      } while (cursor !== '0');
    },

    /** A batch of writes to one lead (see `LeadWrites`). */
    writes(orgId: string, leadId: string): LeadWrites {
      let fields: Record<string, unknown> = {};
      let tags = new Set<string>();
      return {
        setFields(more) {
          for (const [name, value] of Object.entries(more)) if (value !== undefined) fields[name] = value;
        },
        addTag(tag) {
          tags.add(tag);
        },
        async flush() {
          if (Object.keys(fields).length === 0 && tags.size === 0) return;
          const batch = { fields, tags: [...tags] };
          fields = {};
          tags = new Set();
          await write(orgId, leadId, batch.fields, batch.tags.length > 0 ? { tags: batch.tags } : {});
        },
      };
    },
  };
}
export type LeadStore = ReturnType<typeof createLeadStore>;
