// The nodes that are about time: waits of every kind, and the send window that holds communication steps.
import type { ActionResult } from '../actions/types.js';
import type { PlannedJob } from '../engine/executions.js';
import { jobKeyOf, nodeJobId, type NodeJobData } from '../engine/jobs.js';
import { subjectOf, type Waiters } from '../engine/waiters.js';
import type { Organization } from '../orgs/store.js';
import {
  DEFAULT_SEND_WINDOW,
  durationMs,
  isValidZone,
  nextWeekdayAt,
  nextWindowOpening,
} from '../time/clock.js';
import type { NodeOf } from '../workflows/schema.js';

/** What a time node asks of the runner: wait until `runAt`, then resume this node (`resumeAs`) or go on. */
export interface TimeResult extends ActionResult {
  runAt?: number;
  resumeAs?: Pick<PlannedJob, 'resume' | 'outcome' | 'deferrals'>;
  /** A wait-for-event's timeout that lost the race to the event: this job does nothing. */
  superseded?: boolean;
}

/** The time zone of an execution: the lead's when it has a valid one, else the organization's. */
export function zoneOf(lead: Record<string, unknown> | undefined, org: Organization | undefined): string {
  const zone = typeof lead?.timeZone === 'string' ? lead.timeZone : undefined;
  return zone && isValidZone(zone) ? zone : (org?.timeZone ?? 'UTC');
}

export interface WaitContext {
  job: NodeJobData;
  arms: string[];
  /** Whether this node is the job's own node (only then can the job be resuming it). */
  resuming: boolean;
  leadId: string | null;
  zone: string;
  now: number;
  waiters: Waiters;
}

export async function runWait(node: NodeOf<'wait'>, context: WaitContext): Promise<TimeResult> {
  const { params } = node;
  const { now } = context;
  if (params.event !== undefined) return waitForEvent(node, context);
  if (context.resuming && context.job.resume === 'elapsed') {
    const at = new Date(now).toISOString();
    return { output: { elapsedAt: at }, note: `the wait is over (${at})` };
  }
  const runAt = params.duration
    ? now + durationMs(params.duration)
    : params.until
      ? Date.parse(params.until)
      : nextWeekdayAt(now, context.zone, params.weekday!, params.at!);
  return { runAt: Math.max(runAt, now), output: { until: new Date(Math.max(runAt, now)).toISOString() } };
}

async function waitForEvent(node: NodeOf<'wait'>, context: WaitContext): Promise<TimeResult> {
  const { job, now, waiters } = context;
  const eventType = node.params.event!;
  const subject = subjectOf(context.leadId, job.executionId);
  const resumed = { ...job, nodeId: node.id, arms: context.arms, resume: 'event' as const };
  const field = jobKeyOf(resumed) + `@${job.executionId}`;
  if (context.resuming && job.resume === 'event') {
    if (job.outcome === 'timed_out' && !(await waiters.claim(job.orgId, eventType, subject, field))) {
      return { superseded: true };
    }
    return {
      edge: job.outcome!,
      output: { outcome: job.outcome, event: job.received ?? null },
      note: job.outcome === 'received' ? `${eventType} arrived` : `no ${eventType} before the timeout`,
    };
  }
  const timeoutMs = durationMs(node.params.timeout!);
  await waiters.register(
    job.orgId,
    eventType,
    subject,
    field,
    {
      executionId: job.executionId,
      workflowId: job.workflowId,
      version: job.version,
      nodeId: node.id,
      iteration: job.iteration,
      arms: context.arms,
      match: node.params.match,
      ...(job.priority ? { priority: job.priority } : {}),
    },
    timeoutMs,
  );
  const until = new Date(now + timeoutMs).toISOString();
  return {
    runAt: now + timeoutMs,
    resumeAs: { resume: 'event', outcome: 'timed_out' },
    output: { waitingFor: eventType, until },
    note: `waiting for ${eventType} until ${until}`,
  };
}

/** The BullMQ id of a wait-for-event's timeout job, which the event's arrival removes. */
export const timeoutJobId = (job: NodeJobData) =>
  nodeJobId({ ...job, resume: 'event', outcome: 'timed_out' });

/**
 * Whether a communication step must wait for the send window (per organization, default 08:00–21:00, in the
 * lead's zone): returns the hold, or undefined when the step may run now.
 */
export function sendWindowHold(
  job: NodeJobData,
  resuming: boolean,
  org: Organization | undefined,
  zone: string,
  now: number,
): TimeResult | undefined {
  const window = org?.sendWindow ?? DEFAULT_SEND_WINDOW;
  const opens = nextWindowOpening(now, zone, window);
  if (opens <= now) return undefined;
  const deferrals = (resuming && job.resume === 'window' ? (job.deferrals ?? 1) : 0) + 1;
  return {
    runAt: opens,
    resumeAs: { resume: 'window', deferrals },
    output: { heldUntil: new Date(opens).toISOString() },
    note: `quiet hours: outside the send window ${window.start}–${window.end} (${zone}); runs at ${new Date(opens).toISOString()}`,
  };
}
