// The workflow store: drafts, immutable published versions, and the pointer to the version new executions use.
import { randomBytes } from 'node:crypto';
import { compile, type CompiledWorkflow } from '../engine/plan.js';
import type { RedisClient } from '../queue/redis.js';
import { HttpError, notFound } from '../shared/errors.js';
import type { Keys } from '../shared/keys.js';
import type { PublishedWorkflow } from '../triggers/match.js';
import { validateGraph } from './graph.js';
import { WorkflowDefinition } from './schema.js';

export interface WorkflowSummary {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  latestVersion: number;
  publishedVersion: number | null;
}

export interface WorkflowVersion {
  version: number;
  publishedAt: string;
  definition: WorkflowDefinition;
}

export interface WorkflowRecord extends WorkflowSummary {
  draft: WorkflowDefinition;
  versions: { version: number; publishedAt: string }[];
}

/** Published versions never change, so their compiled form is cached for the life of the process. */
const versionCache = new Map<string, { version: WorkflowVersion; compiled: CompiledWorkflow }>();
const MAX_CACHED_VERSIONS = 5000;

export function createWorkflowStore(redis: RedisClient, keys: Keys) {
  const summary = (id: string, hash: Record<string, string>): WorkflowSummary => ({
    id,
    name: hash.name ?? '',
    createdAt: hash.createdAt ?? '',
    updatedAt: hash.updatedAt ?? '',
    latestVersion: Number(hash.latestVersion ?? 0),
    publishedVersion: hash.publishedVersion ? Number(hash.publishedVersion) : null,
  });

  const loadVersion = async (orgId: string, workflowId: string, version: number) => {
    const cacheKey = keys.version(orgId, workflowId, version);
    const cached = versionCache.get(cacheKey);
    if (cached) return cached;
    const raw = await redis.get(keys.version(orgId, workflowId, version));
    if (!raw) return undefined;
    const stored = JSON.parse(raw) as WorkflowVersion;
    const entry = { version: stored, compiled: compile(stored.definition) };
    if (versionCache.size >= MAX_CACHED_VERSIONS) versionCache.delete(versionCache.keys().next().value!);
    versionCache.set(cacheKey, entry);
    return entry;
  };

  /** The published workflows that pointers (workflow id → version, as stored) name, compiled. */
  async function fromPointers(orgId: string, pointers: Record<string, string>): Promise<PublishedWorkflow[]> {
    const loaded = await Promise.all(
      Object.entries(pointers).map(async ([workflowId, version]) => {
        const entry = await loadVersion(orgId, workflowId, Number(version));
        return entry ? { workflowId, version: Number(version), compiled: entry.compiled } : undefined;
      }),
    );
    return loaded.filter((wf): wf is PublishedWorkflow => wf !== undefined);
  }

  return {
    async create(orgId: string, definition: WorkflowDefinition): Promise<WorkflowSummary> {
      const id = `wf_${randomBytes(8).toString('hex')}`;
      const now = new Date().toISOString();
      const hash = {
        name: definition.name,
        draft: JSON.stringify(definition),
        createdAt: now,
        updatedAt: now,
        latestVersion: '0',
      };
      await redis
        .multi()
        .hset(keys.workflow(orgId, id), hash)
        .zadd(keys.workflows(orgId), String(Date.now()), id)
        .exec();
      return summary(id, hash);
    },

    async updateDraft(
      orgId: string,
      workflowId: string,
      definition: WorkflowDefinition,
    ): Promise<WorkflowSummary> {
      const key = keys.workflow(orgId, workflowId);
      if (!(await redis.exists(key))) throw notFound(`workflow ${workflowId}`);
      const now = new Date().toISOString();
      await redis.hset(key, { name: definition.name, draft: JSON.stringify(definition), updatedAt: now });
      return summary(workflowId, await redis.hgetall(key));
    },

    /** Every workflow id of the organization, however many (`list` reads the first 1000). */
    async ids(orgId: string): Promise<string[]> {
      return redis.zrange(keys.workflows(orgId), '0', '-1');
    },

    async list(orgId: string): Promise<WorkflowSummary[]> {
      const ids = await redis.zrange(keys.workflows(orgId), '0', '999');
      const hashes = await Promise.all(ids.map((id) => redis.hgetall(keys.workflow(orgId, id))));
      return ids.map((id, i) => summary(id, hashes[i]!)).filter((wf) => wf.createdAt !== '');
    },

    async get(orgId: string, workflowId: string): Promise<WorkflowRecord> {
      const hash = await redis.hgetall(keys.workflow(orgId, workflowId));
      if (!hash.draft) throw notFound(`workflow ${workflowId}`);
      const versions = JSON.parse(hash.versions ?? '[]') as { version: number; publishedAt: string }[];
      return { ...summary(workflowId, hash), draft: JSON.parse(hash.draft) as WorkflowDefinition, versions };
    },

    async getVersion(orgId: string, workflowId: string, version: number) {
      return loadVersion(orgId, workflowId, version);
    },

    /** Freezes the current draft as the next version and points new executions at it. */
    async publish(orgId: string, workflowId: string): Promise<WorkflowVersion> {
      const key = keys.workflow(orgId, workflowId);
      const hash = await redis.hgetall(key);
      if (!hash.draft) throw notFound(`workflow ${workflowId}`);
      const definition = WorkflowDefinition.parse(JSON.parse(hash.draft));
      const issues = validateGraph(definition);
      if (issues.length > 0) {
        throw new HttpError(
          400,
          'validation_failed',
          `workflow ${workflowId} cannot be published: ${issues[0]!.message}`,
          issues.map(({ path, message }) => ({ path: `definition.${path}`, message })),
        );
      }
      const version = await redis.hincrby(key, 'latestVersion', 1);
      const stored: WorkflowVersion = { version, publishedAt: new Date().toISOString(), definition };
      const versions = [
        ...(JSON.parse(hash.versions ?? '[]') as unknown[]),
        { version, publishedAt: stored.publishedAt },
      ];
      await redis
        .multi()
        .set(keys.version(orgId, workflowId, version), JSON.stringify(stored), 'NX')
        .hset(key, { publishedVersion: String(version), versions: JSON.stringify(versions) })
        .hset(keys.published(orgId), workflowId, String(version))
        .exec();
      return stored;
    },

    /** Stops new executions; running ones continue on their version. */
    async unpublish(orgId: string, workflowId: string): Promise<void> {
      const key = keys.workflow(orgId, workflowId);
      if (!(await redis.exists(key))) throw notFound(`workflow ${workflowId}`);
      await redis.multi().hdel(key, 'publishedVersion').hdel(keys.published(orgId), workflowId).exec();
    },

    /** Every published workflow of the organization at its current version, compiled. */
    async published(orgId: string): Promise<PublishedWorkflow[]> {
      return fromPointers(orgId, await redis.hgetall(keys.published(orgId)));
    },

    fromPointers,
  };
}
export type WorkflowStore = ReturnType<typeof createWorkflowStore>;
