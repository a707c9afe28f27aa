// The built-in per-organization lead store: a hash of fields and a set of tags per lead, sharing one hash tag.
import { createHash } from 'node:crypto';
import type { LeadInput } from '../events/schema.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

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

export function createLeadStore(redis: RedisClient, keys: Keys) {
  const read = async (orgId: string, leadId: string): Promise<Lead | undefined> => {
    const [fields, tags] = await Promise.all([
      redis.hgetall(keys.lead(orgId, leadId)),
      redis.smembers(keys.leadTags(orgId, leadId)),
    ]);
    if (Object.keys(fields).length === 0 && tags.length === 0) return undefined;
    const lead: Lead = { id: leadId, tags: tags.sort() };
    for (const [name, value] of Object.entries(fields)) lead[name] = JSON.parse(value) as unknown;
    lead.id = leadId;
    lead.tags = tags.sort();
    return lead;
  };

  /** A value a `date_reached` trigger can find: `YYYY-MM-DD`, or the date part of an ISO date-time. */
  const dayOf = (value: unknown): string | undefined =>
    typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T|$)/.test(value) ? value.slice(0, 10) : undefined;

  /**
   * Writes fields and keeps the organization's date indexes in step: a date field's lead is in the set for its full
   * date and the set for its month-day, so finding the leads whose date is today costs time proportional to them.
   */
  const setFields = async (orgId: string, leadId: string, fields: Record<string, unknown>) => {
    const entries = Object.entries(fields).filter(
      ([name, value]) => name !== 'tags' && name !== 'id' && value !== undefined,
    );
    if (entries.length === 0) return;
    const names = entries.map(([name]) => name);
    const [previous] = await Promise.all([
      redis.hmget(keys.lead(orgId, leadId), ...names),
      redis.hset(
        keys.lead(orgId, leadId),
        Object.fromEntries(entries.map(([k, v]) => [k, JSON.stringify(v ?? null)])),
      ),
    ]);
    const index = redis.pipeline();
    let changed = false;
    entries.forEach(([name, value], i) => {
      const before = dayOf(previous[i] ? (JSON.parse(previous[i]!) as unknown) : undefined);
      const after = dayOf(value);
      if (before === after) return;
      changed = true;
      if (before) {
        index.srem(keys.dateIndex(orgId, name, before), leadId);
        index.srem(keys.dateIndex(orgId, name, before.slice(5)), leadId);
      }
      if (after) {
        index.sadd(keys.dateIndex(orgId, name, after), leadId);
        index.sadd(keys.dateIndex(orgId, name, after.slice(5)), leadId);
      }
    });
    if (changed) await index.exec();
  };

  return {
    get: read,
    setFields,

    /** Merges the event's lead data into the store; returns the lead id, or undefined when the event names no lead. */
    async upsert(orgId: string, input: LeadInput | undefined): Promise<string | undefined> {
      const leadId = leadIdOf(input);
      if (!input || !leadId) return undefined;
      const { tags, ...fields } = input;
      await Promise.all([
        setFields(orgId, leadId, { ...fields, id: undefined }),
        tags && tags.length > 0 ? redis.sadd(keys.leadTags(orgId, leadId), ...tags) : undefined,
        redis.hsetnx(keys.lead(orgId, leadId), 'createdAt', JSON.stringify(new Date().toISOString())),
        redis.sadd(keys.leads(orgId), leadId),
      ]);
      return leadId;
    },

    /** Lead ids of the organization in batches, without loading them all (SSCAN). */
    async *scan(key: string, batch = 500): AsyncGenerator<string[]> {
      let cursor = '0';
      do {
        const [next, ids] = await redis.sscan(key, cursor, 'COUNT', batch);
        cursor = next;
        if (ids.length > 0) yield ids;
      } while (cursor !== '0');
    },

    async addTag(orgId: string, leadId: string, tag: string): Promise<boolean> {
      return (await redis.sadd(keys.leadTags(orgId, leadId), tag)) === 1;
    },
  };
}
export type LeadStore = ReturnType<typeof createLeadStore>;
