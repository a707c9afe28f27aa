// Every Redis key the engine uses, in one place. Keys that one atomic operation touches share a hash tag.

export type Keys = ReturnType<typeof createKeys>;

export function createKeys(prefix: string) {
  const org = (orgId: string) => `${prefix}:{o.${orgId}}`;
  const exec = (executionId: string) => `${prefix}:{x.${executionId}}`;
  const lead = (orgId: string, leadId: string) => `${prefix}:{l.${orgId}.${leadId}}`;
  return {
    /** Set of organization ids. */
    orgIndex: `${prefix}:orgs`,
    /** Hash: the organization's profile and settings. */
    org: (orgId: string) => `${org(orgId)}:profile`,
    /** String: organization id, under the SHA-256 of an API key. */
    apiKey: (keyHash: string) => `${prefix}:apikey:${keyHash}`,

    /** Sorted set of workflow ids by creation time. */
    workflows: (orgId: string) => `${org(orgId)}:workflows`,
    /** Hash: name, draft, timestamps, latest and published version numbers. */
    workflow: (orgId: string, workflowId: string) => `${org(orgId)}:wf:${workflowId}`,
    /** String: a published version's definition (immutable JSON). */
    version: (orgId: string, workflowId: string, version: number) =>
      `${org(orgId)}:wf:${workflowId}:v:${version}`,
    /** Hash: workflow id to its published version number. */
    published: (orgId: string) => `${org(orgId)}:published`,
    /** Hash: per workflow counters (started, completed, failed, cancelled). */
    stats: (orgId: string) => `${org(orgId)}:stats`,

    /** Hash: lead fields (JSON-encoded values). */
    lead: (orgId: string, leadId: string) => `${lead(orgId, leadId)}:fields`,
    /** Set: the lead's tags. */
    leadTags: (orgId: string, leadId: string) => `${lead(orgId, leadId)}:tags`,

    /** String: the active execution of a lead in a workflow (the enrolment lock). */
    active: (orgId: string, workflowId: string, leadId: string) =>
      `${org(orgId)}:active:${workflowId}:${leadId}`,
    /** Hash: lead id to the execution it entered a workflow with (enrolment `once_ever`). */
    enrolled: (orgId: string, workflowId: string) => `${org(orgId)}:enrolled:${workflowId}`,
    /** Sorted set: executions of a workflow by start time. */
    executionsOf: (orgId: string, workflowId: string) => `${org(orgId)}:execs:${workflowId}`,
    /** Sorted set: finished executions (`workflowId executionId`) by finish time, swept by the cleanup queue. */
    finished: (orgId: string) => `${org(orgId)}:finished`,
    /** String: marks an event id as accepted. */
    dedupe: (orgId: string, eventId: string) => `${org(orgId)}:evt:${eventId}`,
    /** Set: every lead id of the organization (the audience scanned by scheduled and recurring triggers). */
    leads: (orgId: string) => `${org(orgId)}:leads`,
    /** Set: leads whose date field holds this date (`YYYY-MM-DD`) or, for yearly triggers, this day (`MM-DD`). */
    dateIndex: (orgId: string, field: string, day: string) => `${org(orgId)}:dates:${field}:${day}`,
    /** Hash: the lead's live executions, execution id to `workflowId version` (goals look here). */
    leadExecutions: (orgId: string, leadId: string) => `${lead(orgId, leadId)}:execs`,
    /** Hash: executions waiting for an event of this type for this lead (or execution, `~<id>`). */
    waiters: (orgId: string, eventType: string, subject: string) =>
      `${org(orgId)}:waiters:${eventType}:${subject}`,
    /** String: marks a form abandonment as emitted for a lead and form, so derived and sent ones never double. */
    formAbandoned: (orgId: string, leadId: string, formId: string) =>
      `${org(orgId)}:abandoned:${leadId}:${formId}`,
    /** Hash: webhook source to its secrets (JSON), read to verify inbound webhook signatures. */
    webhookSecrets: (orgId: string) => `${org(orgId)}:webhook-secrets`,
    /** String with a TTL: a webhook signature already accepted (replay protection). */
    webhookSeen: (orgId: string, source: string, fingerprint: string) =>
      `${org(orgId)}:webhook-seen:${source}:${fingerprint}`,
    /** Sorted set: this organization's dead-letter entries by time. */
    deadLetters: (orgId: string) => `${org(orgId)}:dlq`,
    /** List: the sandbox outbox of messages that were not sent to a real provider. */
    outbox: (orgId: string) => `${org(orgId)}:outbox`,
    /** Hash: provider settings by section, secrets encrypted (src/orgs/settings.ts). */
    settings: (orgId: string) => `${org(orgId)}:settings`,
    /** Set: normalised addresses that opted out of a channel (unsubscribe links, STOP replies). */
    suppressed: (orgId: string, channel: string) => `${org(orgId)}:suppressed:${channel}`,
    /** Sorted set: reserved send times per action type (idempotency key to time), the rate limit's log. */
    rateLog: (orgId: string, actionType: string) => `${org(orgId)}:rate:${actionType}`,
    /** Sorted set: send times per lead and channel, the frequency cap's log (`-` when there is no cap). */
    capLog: (orgId: string, channel: string, leadId: string) => `${org(orgId)}:cap:${channel}:${leadId}`,
    /** String: lead id under a normalized email (`email:<lower-case>`) or phone (`phone:<digits and +>`). */
    leadLookup: (orgId: string, kind: 'email' | 'phone', value: string) =>
      `${org(orgId)}:leadidx:${kind}:${value}`,
    /** Sorted set: a lead's executions (of every workflow, finished ones too) by start time, for search. */
    leadHistory: (orgId: string, leadId: string) => `${org(orgId)}:lead-execs:${leadId}`,
    /** List: the organization's audit trail of operator actions (newest first, capped). */
    audit: (orgId: string) => `${org(orgId)}:audit`,
    /** Hash: step latency histogram of the organization's workflows for one hour (`<workflowId>:<bucket>` counts). */
    stepLatency: (orgId: string, hourStart: number) => `${org(orgId)}:lat:${hourStart}`,

    /** Hash: one queue's processed jobs for one hour, `<bucketStart>:completed|failed|ms` per time bucket. */
    queueMetrics: (queue: string, hourStart: number) => `${prefix}:{m.${queue}}:jobs:${hourStart}`,
    /** Hash: all-time processed jobs per queue, `<queue>:completed|failed|ms` (the Prometheus counters). */
    queueTotals: `${prefix}:metrics:queue-totals`,
    /** List: audit trail of actions taken with the admin token. */
    adminAudit: `${prefix}:audit:admin`,
    /** String: the token of the worker moving jobs out of retired action partitions (one at a time), with a TTL. */
    partitionDrain: `${prefix}:partition-drain`,
    /**
     * String: the ACTION_QUEUE_PARTITIONS of the worker process started last (each writes its own as its workers
     * start); only processes with that count move jobs out of retired action partitions.
     */
    actionPartitions: `${prefix}:action-partitions`,
    /**
     * Hash: queue name to the failure time (ms) up to which the sweep looked for failed jobs without an entry, and
     * `<queue>:floor` to the time of its first sweep.
     */
    failedSweep: `${prefix}:failed-sweep`,
    /** String: the token of the failed-job sweep running now (one at a time), with a TTL. */
    failedSweepLock: `${prefix}:failed-sweep:lock`,
    /**
     * Hash: dead-letter entry id to the parked job and error (JSON) whose failure could not be recorded in its
     * execution as it was parked; the cleanup job records them (`recordParked`).
     */
    unrecorded: `${prefix}:unrecorded`,

    /** The keys of one execution; all share the execution's hash tag. */
    execution: (executionId: string) => ({
      state: `${exec(executionId)}:state`,
      event: `${exec(executionId)}:event`,
      steps: `${exec(executionId)}:steps`,
      done: `${exec(executionId)}:done`,
      outputs: `${exec(executionId)}:outputs`,
      effects: `${exec(executionId)}:effects`,
      joins: `${exec(executionId)}:joins`,
      timers: `${exec(executionId)}:timers`,
    }),
  };
}
