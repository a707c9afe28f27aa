// One-off upgrade step: the Twilio webhook once recorded STOP/START replies in lead fields nothing read
// (`consent_sms`, `consent_whatsapp`, each with `consent_<channel>_updatedAt`), so "Stop." and "stop all" never opted
// anyone out. This applies those fields through the consent store, as ConsentStore.applyReply would have, and deletes
// them. Idempotent: a lead it has migrated no longer has the fields.
import type { LeadStore } from '../leads/store.js';
import type { ConsentChannel } from '../orgs/settings.js';
import type { OrgStore } from '../orgs/store.js';
import { consentAtField, consentField, type ConsentStore } from './consent.js';

/** The channels the old webhook recorded replies for. */
export const replyChannels = ['sms', 'whatsapp'] as const satisfies readonly ConsentChannel[];
export type ReplyChannel = (typeof replyChannels)[number];

/** The lead fields the old webhook wrote for a channel. */
export const oldReplyFields = (channel: ReplyChannel) =>
  ({ consent: `consent_${channel}`, updatedAt: `consent_${channel}_updatedAt` }) as const;

/** What the backfill did with one lead's old field for one channel. */
export type BackfillOutcome =
  /** Opted out: `<channel>Consent: false`, and the phone number on the suppression list when the lead has one. */
  | 'opted_out'
  /** Opted in: `<channel>Consent: true`, and the phone number off the suppression list. */
  | 'opted_in'
  /** Nothing written: the lead already says the same (for an opt-out, its number is suppressed too). */
  | 'already_opted_out'
  | 'already_opted_in'
  /** The consent store recorded a later, different change: it stands, nothing written. */
  | 'superseded'
  /** An opt-in with no time to compare with an opt-out already recorded: the opt-out stands, nothing written. */
  | 'kept_opted_out'
  /** The old field holds neither true nor false: left in place for a person to look at. */
  | 'unreadable';

export const backfillOutcomes: readonly BackfillOutcome[] = [
  'opted_out',
  'opted_in',
  'already_opted_out',
  'already_opted_in',
  'superseded',
  'kept_opted_out',
  'unreadable',
];

/** The old webhook's record of a reply, as stored on the lead. */
export interface OldReply {
  consent: unknown;
  updatedAt: unknown;
}

/** What the consent store knows of the lead for the channel now. */
export interface CurrentConsent {
  /** `<channel>Consent` */
  consent: unknown;
  /** `<channel>ConsentAt`, written by the consent store with every change it records. */
  at: unknown;
  /** Whether the lead's phone number is on the channel's suppression list. */
  suppressed: boolean;
  /** Whether the lead has a phone number to put on the suppression list. */
  hasAddress: boolean;
}

export interface BackfillDecision {
  outcome: BackfillOutcome;
  /** The change to record through the consent store, if any. */
  change?: { optedIn: boolean; at?: string };
}

const asBoolean = (value: unknown): boolean | undefined =>
  value === true || value === 'true' ? true : value === false || value === 'false' ? false : undefined;

const asTime = (value: unknown): number | undefined => {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
};

/**
 * Decides what one old reply field means now (pure). A consent change the store recorded after the reply wins. An
 * opt-out is applied unless the lead already is opted out (lead field and, when it has a phone number, suppression
 * list). An opt-in is applied when it is not older than the store's last recorded change; when there is no time to
 * compare, it never lifts an opt-out already there (`<channel>Consent: false` or a suppressed number).
 */
export function decideReplyBackfill(old: OldReply, current: CurrentConsent): BackfillDecision {
  const wanted = asBoolean(old.consent);
  if (wanted === undefined) return { outcome: 'unreadable' };
  const given = asBoolean(current.consent);
  const repliedAt = asTime(old.updatedAt);
  const recordedAt = asTime(current.at);
  const comparable = repliedAt !== undefined && recordedAt !== undefined;
  const at = repliedAt === undefined ? {} : { at: new Date(repliedAt).toISOString() };

  if (comparable && recordedAt > repliedAt) {
    if (given === wanted) return { outcome: wanted ? 'already_opted_in' : 'already_opted_out' };
    return { outcome: 'superseded' };
  }
  if (!wanted) {
    if (given === false && (current.suppressed || !current.hasAddress))
      return { outcome: 'already_opted_out' };
    return { outcome: 'opted_out', change: { optedIn: false, ...at } };
  }
  if (given === true && !current.suppressed) return { outcome: 'already_opted_in' };
  if (!comparable && (given === false || current.suppressed)) return { outcome: 'kept_opted_out' };
  return { outcome: 'opted_in', change: { optedIn: true, ...at } };
}

export interface OrgBackfill {
  orgId: string;
  leadsScanned: number;
  /** Leads whose old fields were deleted (in a dry run: would have been). */
  leadsMigrated: number;
  /** Leads opted out without a phone number, so by their lead field only. */
  optedOutWithoutPhone: number;
  outcomes: Record<ReplyChannel, Record<BackfillOutcome, number>>;
}

export interface ReplyBackfillDeps {
  orgs: Pick<OrgStore, 'ids'>;
  leads: Pick<LeadStore, 'scan' | 'fields' | 'removeFields'>;
  consent: Pick<ConsentStore, 'change' | 'isSuppressed'>;
  keys: { leads(orgId: string): string };
}

export interface ReplyBackfillOptions {
  /** Decide and count, write nothing. @defaultValue false */
  dryRun?: boolean;
  /** Lead ids per SSCAN page, migrated concurrently. @defaultValue 200 */
  batch?: number;
  /** Called with each organization's counts when it is done. */
  onOrg?(report: OrgBackfill): void;
}

/** The `source` the lead record gets for a backfilled change: the reply, applied late by this migration. */
export const backfillSource = (channel: ReplyChannel) => `${channel}_reply_backfill`;

/**
 * Migrates the old reply fields of every lead of every organization (leads paged by SSCAN of the organization's lead
 * set). Per lead and channel it reads the old fields and the consent fields in one command, records the decision
 * through the consent store, then deletes the old fields (all but unreadable ones). Every command touches one key,
 * or keys of one lead, so it runs on a Redis Cluster. Returns the counts per organization.
 */
export async function backfillReplyConsent(
  deps: ReplyBackfillDeps,
  options: ReplyBackfillOptions = {},
): Promise<OrgBackfill[]> {
  const reports: OrgBackfill[] = [];
  for (const orgId of (await deps.orgs.ids()).sort()) {
    const report = await backfillOrg(deps, orgId, options);
    options.onOrg?.(report);
    reports.push(report);
  }
  return reports;
}

const fieldsRead = [
  'phone',
  ...replyChannels.flatMap((channel) => {
    const old = oldReplyFields(channel);
    return [old.consent, old.updatedAt, consentField(channel), consentAtField(channel)];
  }),
];

async function backfillOrg(
  deps: ReplyBackfillDeps,
  orgId: string,
  options: ReplyBackfillOptions,
): Promise<OrgBackfill> {
  const counts = () =>
    Object.fromEntries(backfillOutcomes.map((outcome) => [outcome, 0])) as Record<BackfillOutcome, number>;
  const report: OrgBackfill = {
    orgId,
    leadsScanned: 0,
    leadsMigrated: 0,
    optedOutWithoutPhone: 0,
    outcomes: { sms: counts(), whatsapp: counts() },
  };

  const migrateLead = async (leadId: string) => {
    const fields = await deps.leads.fields(orgId, leadId, fieldsRead);
    const phone = typeof fields.phone === 'string' && fields.phone.trim() !== '' ? fields.phone : undefined;
    const remove: string[] = [];
    for (const channel of replyChannels) {
      const old = oldReplyFields(channel);
      if (!(old.consent in fields)) continue;
      const decision = decideReplyBackfill(
        { consent: fields[old.consent], updatedAt: fields[old.updatedAt] },
        {
          consent: fields[consentField(channel)],
          at: fields[consentAtField(channel)],
          suppressed: phone ? await deps.consent.isSuppressed(orgId, channel, phone) : false,
          hasAddress: phone !== undefined,
        },
      );
      report.outcomes[channel][decision.outcome] += 1;
      if (decision.change && !decision.change.optedIn && !phone) report.optedOutWithoutPhone += 1;
      if (decision.change && !options.dryRun)
        await deps.consent.change({
          orgId,
          channel,
          leadId,
          ...(phone ? { address: phone } : {}),
          source: backfillSource(channel),
          ...decision.change,
        });
      if (decision.outcome !== 'unreadable') remove.push(old.consent, old.updatedAt);
    }
    if (remove.length === 0) return;
    report.leadsMigrated += 1;
    if (!options.dryRun) await deps.leads.removeFields(orgId, leadId, remove);
  };

  for await (const leadIds of deps.leads.scan(deps.keys.leads(orgId), options.batch ?? 200)) {
    report.leadsScanned += leadIds.length;
    await Promise.all(leadIds.map(migrateLead));
  }
  return report;
}
