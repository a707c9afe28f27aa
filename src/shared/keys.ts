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
    /** Set: leads that ever entered a workflow (enrolment `once_ever`). */
    enrolled: (orgId: string, workflowId: string) => `${org(orgId)}:enrolled:${workflowId}`,
    /** Sorted set: executions of a workflow by start time. */
    executionsOf: (orgId: string, workflowId: string) => `${org(orgId)}:execs:${workflowId}`,
    /** Sorted set: finished executions (`workflowId executionId`) by finish time, swept by the cleanup queue. */
    finished: (orgId: string) => `${org(orgId)}:finished`,
    /** String: marks an event id as accepted. */
    dedupe: (orgId: string, eventId: string) => `${org(orgId)}:evt:${eventId}`,
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

    /** The keys of one execution; all share the execution's hash tag. */
    execution: (executionId: string) => ({
      state: `${exec(executionId)}:state`,
      steps: `${exec(executionId)}:steps`,
      done: `${exec(executionId)}:done`,
      outputs: `${exec(executionId)}:outputs`,
      effects: `${exec(executionId)}:effects`,
      joins: `${exec(executionId)}:joins`,
      timers: `${exec(executionId)}:timers`,
    }),
  };
}
