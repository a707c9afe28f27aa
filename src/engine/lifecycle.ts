// The end of an execution: finalizing it, cancelling it, and sweeping it away after the retention period.
import type { Keys } from '../shared/keys.js';
import type { RedisClient } from '../queue/redis.js';
import type { EngineEventType, PublishEngineEvent } from '../observability/engine-events.js';
import type { OrgStore } from '../orgs/store.js';
import { HttpError } from '../shared/errors.js';
import type { WorkflowStore } from '../workflows/store.js';
import { createEnrolment } from './enrolment.js';
import { createOrgIndex, finishedMember } from './org-index.js';
import { terminalStatuses, type ExecutionState, type ExecutionStore } from './executions.js';

const DAY_SECONDS = 24 * 3600;

export interface LifecycleDeps {
  redis: RedisClient;
  keys: Keys;
  executions: ExecutionStore;
  orgs: Pick<OrgStore, 'get' | 'ids'>;
  workflows: Pick<WorkflowStore, 'getVersion'>;
  defaultRetentionDays: number;
  /** Told, in this process, of each execution that reached a final status (may be told twice). */
  onFinished?(state: ExecutionState): void;
  /** Removes delayed jobs (pending waits) by job id. */
  removeTimers(jobIds: string[]): Promise<void>;
  /** Announces each execution that ends (engine events out); optional. */
  publish?: PublishEngineEvent;
  now?: () => number;
}

const endedEvents: Record<string, EngineEventType> = {
  completed: 'Execution Completed',
  failed: 'Execution Failed',
  exited: 'Execution Exited',
  cancelled: 'Execution Cancelled',
};

export function createLifecycle(deps: LifecycleDeps) {
  const { redis, keys, executions } = deps;
  const clock = deps.now ?? Date.now;
  const orgIndex = createOrgIndex(redis, keys);
  const enrol = createEnrolment({ redis, keys, executions, now: clock });
  const retentionCache = new Map<string, { days: number; until: number }>();

  async function retentionDays(orgId: string): Promise<number> {
    const cached = retentionCache.get(orgId);
    if (cached && cached.until > clock()) return cached.days;
    const org = await deps.orgs.get(orgId);
    const days = org?.retentionDays ?? deps.defaultRetentionDays;
    retentionCache.set(orgId, { days, until: clock() + 60_000 });
    return days;
  }

  /** The backstop expiry of an ended execution's keys: its organization's retention and a day. */
  async function expirySeconds(orgId: string): Promise<number> {
    return (await retentionDays(orgId)) * DAY_SECONDS + DAY_SECONDS;
  }

  /**
   * Releases the lead's enrolment lock, indexes the execution for the retention sweep, counts it, and sets a
   * backstop expiry on its keys. Safe to call twice.
   */
  async function finalize(state: ExecutionState, options: { keysExpired?: boolean } = {}): Promise<void> {
    await Promise.all([
      orgIndex.finished(state.orgId, state.workflowId, state.leadId, state.id, state.status, clock()),
      state.leadId ? redis.hdel(keys.leadExecutions(state.orgId, state.leadId), state.id) : undefined,
      options.keysExpired
        ? undefined
        : expirySeconds(state.orgId).then((seconds) => executions.expire(state.id, seconds)),
    ]);
    const detailType = endedEvents[state.status];
    if (detailType) {
      deps.publish?.(detailType, {
        orgId: state.orgId,
        executionId: state.id,
        workflowId: state.workflowId,
        version: state.version,
        leadId: state.leadId,
        status: state.status,
        startedAt: state.startedAt,
        finishedAt: state.finishedAt ?? new Date(clock()).toISOString(),
        ...(state.error ? { error: state.error } : {}),
        ...(state.endReason ? { endReason: state.endReason } : {}),
      });
    }
    deps.onFinished?.(state);
  }

  async function end(orgId: string, executionId: string, status: 'cancelled' | 'exited', reason: string) {
    const state = await executions.load(executionId);
    if (!state || state.orgId !== orgId) return undefined;
    const ended = await executions.end(executionId, status, reason, new Date(clock()).toISOString());
    if (ended.ended) await deps.removeTimers(ended.timers);
    // Finalizing again is harmless, and repairs an end whose finalize was interrupted.
    if (ended.ended || terminalStatuses.has(ended.status)) {
      await finalize({ ...state, status: ended.ended ? status : (ended.status as ExecutionState['status']) });
    }
    return ended;
  }

  /** Where each workflow's listing check goes on at the next sweep (an exclusive score), after a full page. */
  const listingCursors = new Map<string, string>();

  /**
   * Drops a workflow's listings older than `cutoff` whose execution no longer exists: a start that was listed and then
   * failed for good before creating its execution, or keys that expired by their backstop TTL before the sweep came.
   * Executions still running past the retention period (long waits) exist, so they stay listed; a page of them moves
   * the next sweep's check on past them, and the check starts over once it reaches the cutoff.
   */
  async function pruneListings(orgId: string, cutoff: number, batch: number): Promise<void> {
    for (const workflowId of await redis.zrange(keys.workflows(orgId), '0', '-1')) {
      const listed = keys.executionsOf(orgId, workflowId);
      const from = listingCursors.get(listed) ?? '-inf';
      const page = await redis.zrangebyscore(listed, from, cutoff, 'WITHSCORES', 'LIMIT', 0, batch);
      const ids = page.filter((_, i) => i % 2 === 0);
      const found = await Promise.all(ids.map((id) => redis.exists(keys.execution(id).state)));
      const gone = ids.filter((_, i) => found[i] === 0);
      if (gone.length > 0) await redis.zrem(listed, ...gone);
      if (ids.length === batch) listingCursors.set(listed, `(${page[page.length - 1]}`);
      else listingCursors.delete(listed);
    }
  }

  /** Deletes executions finished longer ago than their organization's retention; returns how many it removed. */
  async function sweep(batch = 500): Promise<number> {
    let removed = 0;
    for (const orgId of await deps.orgs.ids()) {
      const cutoff = clock() - (await retentionDays(orgId)) * DAY_SECONDS * 1000;
      const members = await redis.zrangebyscore(keys.finished(orgId), '-inf', cutoff, 'LIMIT', 0, batch);
      for (const member of members) {
        const [workflowId, executionId] = member.split(' ') as [string, string];
        await executions.remove(executionId);
        await redis.zrem(keys.executionsOf(orgId, workflowId), executionId);
        await redis.zrem(keys.finished(orgId), member);
        removed += 1;
      }
      await pruneListings(orgId, cutoff, batch);
    }
    return removed;
  }

  /**
   * A dead-lettered job of the execution (`jobId`) is retried: once no other is parked, the execution leaves the
   * retention index and holds its lead again. In a `once_active` workflow that is refused (409) while another
   * execution holds the lead, such as a replay of this one.
   */
  async function revive(executionId: string, jobId?: string): Promise<void> {
    const state = await executions.load(executionId);
    if (!state) return;
    if (state.leadId) {
      const version = await deps.workflows.getVersion(state.orgId, state.workflowId, state.version);
      const refused =
        version?.compiled.definition.settings.enrollment === 'once_active'
          ? await enrol(state.orgId, state.workflowId, 'once_active', state.leadId, state.id)
          : undefined;
      if (refused) {
        throw new HttpError(409, 'conflict', `cannot retry: ${refused}; cancel it or let it end, then retry`);
      }
    }
    const status = await executions.revive(executionId, new Date(clock()).toISOString(), jobId);
    if (status !== 'running') return;
    await Promise.all([
      redis.zrem(keys.finished(state.orgId), finishedMember(state.workflowId, state.id)),
      state.leadId
        ? redis.set(keys.active(state.orgId, state.workflowId, state.leadId), state.id, 'NX')
        : undefined,
      state.leadId
        ? redis.hset(
            keys.leadExecutions(state.orgId, state.leadId),
            state.id,
            `${state.workflowId} ${state.version}`,
          )
        : undefined,
    ]);
  }

  return { finalize, end, sweep, revive, retentionDays, expirySeconds };
}
export type Lifecycle = ReturnType<typeof createLifecycle>;
