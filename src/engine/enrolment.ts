// A workflow's enrolment rule applied to one starting execution: the trigger side's starts, the debugger's replays and
// dead-letter retries that revive an execution all go through here, so a lead never has two running executions of a
// `once_active` workflow.
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import type { EnrollmentMode } from '../workflows/schema.js';
import { terminalStatuses, type ExecutionStore } from './executions.js';
import { createOrgIndex } from './org-index.js';

export interface EnrolmentDeps {
  redis: RedisClient;
  keys: Keys;
  executions: Pick<ExecutionStore, 'load'>;
  now?: () => number;
}

/**
 * How long an execution listed under its workflow may lack its state before its enrolment lock counts as stale: the
 * trigger job lists it and creates it at the same moment; a retried job (backoff from 2 s, 3 attempts) creates it
 * within this.
 */
const STARTING_GRACE_MS = 5 * 60_000;

export function createEnrolment(deps: EnrolmentDeps) {
  const { keys } = deps;
  const clock = deps.now ?? Date.now;
  const orgIndex = createOrgIndex(deps.redis, keys);

  /**
   * Applies the enrolment rule and lists the execution under its workflow and lead, in one script; returns why the
   * lead is refused, if it is. Idempotent for the same execution id, also when two deliveries of one start run at
   * once. The trigger side calls it alongside the execution's provisional create (src/engine/start.ts); replays and
   * dead-letter retries call it before they create or revive theirs.
   */
  return async function enrol(
    orgId: string,
    workflowId: string,
    mode: EnrollmentMode,
    leadId: string | null,
    executionId: string,
  ): Promise<string | undefined> {
    const rule = leadId && mode !== 'always' ? mode : undefined;
    const first = await orgIndex.started(orgId, workflowId, leadId, executionId, clock(), rule);
    if (first.listed) return undefined;
    if (rule === 'once_ever') return `lead already entered this workflow once (${first.holder})`;
    // A lock whose execution has ended (or is gone) is stale: a crash between ending and releasing left it. A holder
    // listed moments ago but without state yet is still starting (its create is on its way), not stale.
    const held = await deps.executions.load(first.holder);
    const starting =
      !held &&
      clock() - ((await orgIndex.listedAt(orgId, workflowId, first.holder)) ?? 0) < STARTING_GRACE_MS;
    if (!starting && (!held || terminalStatuses.has(held.status))) {
      // Taken over in the listing script itself, only if the lock still names that holder: the lock changes hands and
      // the new holder is listed in one step, so no other start can find it holding the lock unlisted and stateless.
      // Another delivery of this same start may have taken it over first: then the lock names this execution.
      const again = await orgIndex.started(
        orgId,
        workflowId,
        leadId,
        executionId,
        clock(),
        rule,
        first.holder,
      );
      if (again.listed) return undefined;
      return `lead already has an active execution (${again.holder})`;
    }
    return `lead already has an active execution (${first.holder})`;
  };
}
export type Enrol = ReturnType<typeof createEnrolment>;
