// Consent per lead and channel. A lead field `<channel>Consent` (`emailConsent`, `smsConsent`, `whatsappConsent`)
// says yes or no; an organization's suppression list per channel holds addresses that opted out (unsubscribe links,
// STOP replies), so an opt-out holds even for a lead record that does not know it yet. This file imports types only,
// so the keyword detection (`replyConsent`) costs the ingest bundle nothing beyond itself.
import type { EngineEvent } from '../events/schema.js';
import type { Lead, LeadStore } from '../leads/store.js';
import type { ConsentChannel, OrgSettings } from '../orgs/settings.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export const consentField = (channel: ConsentChannel) => `${channel}Consent` as const;
/** When the lead last changed its consent for the channel, as the store records it with every change. */
export const consentAtField = (channel: ConsentChannel) => `${consentField(channel)}At` as const;

/**
 * Twilio's default opt-out and opt-in keywords (Advanced Opt-Out), as carriers recognise them. A reply opts out or in
 * only when the whole message is one of them; see {@link replyConsent}.
 */
const optOutKeywords = new Set([
  'STOP',
  'STOPALL',
  'STOP ALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'OPTOUT',
  'REVOKE',
]);
const optInKeywords = new Set(['START', 'YES', 'UNSTOP', 'OPTIN']);

/**
 * What a reply says about consent: false when the whole message is an opt-out keyword, true when it is an opt-in
 * keyword, undefined for anything else. Case, surrounding and repeated spaces, and a final `.` or `!` are ignored, so
 * `"Stop."` and `" stop  all "` opt out while `"please stop texting me"` does not. Pure, for the webhooks and the store.
 */
export function replyConsent(body: string): boolean | undefined {
  const keyword = body
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/[.!]+$/, '')
    .toUpperCase();
  if (optOutKeywords.has(keyword)) return false;
  if (optInKeywords.has(keyword)) return true;
  return undefined;
}

/** Addresses compared in one form: emails lower case, phone numbers as + and digits, no `whatsapp:` prefix. */
export function normaliseAddress(channel: ConsentChannel, address: string): string {
  const text = address.trim().replace(/^whatsapp:/i, '');
  if (channel === 'email') return text.toLowerCase();
  const digits = text.replace(/[^\d]/g, '');
  return text.startsWith('+') ? `+${digits}` : digits;
}

export interface ConsentChange {
  orgId: string;
  channel: ConsentChannel;
  optedIn: boolean;
  leadId?: string;
  address?: string;
  /** Why, for the lead record: `unsubscribe_link`, `sms_reply`. */
  source: string;
  /** When the lead said so (ISO 8601), for the lead record. @defaultValue now */
  at?: string;
}

export function createConsentStore(
  redis: RedisClient,
  keys: Keys,
  leads: Pick<LeadStore, 'setFields' | 'get'>,
) {
  const isSuppressed = async (orgId: string, channel: ConsentChannel, address: string): Promise<boolean> =>
    (await redis.sismember(keys.suppressed(orgId, channel), normaliseAddress(channel, address))) === 1;

  return {
    /** Whether `address` is on the organization's suppression list for `channel`. */
    isSuppressed,

    /**
     * Why the lead may not be contacted on `channel` at `address`, or undefined when it may: an explicit
     * `<channel>Consent: false`, a missing opt-in where the organization requires one, or a suppressed address.
     */
    async refusal(
      orgId: string,
      channel: ConsentChannel,
      lead: Lead | undefined,
      address: string | undefined,
      settings: OrgSettings | undefined,
    ): Promise<string | undefined> {
      const field = consentField(channel);
      const given = lead?.[field];
      if (given === false || given === 'false') return `the lead opted out of ${channel} (${field} is false)`;
      if (settings?.consent?.requireOptIn[channel] && given !== true && given !== 'true')
        return `the organization requires an opt-in for ${channel} and the lead has none (${field})`;
      if (address && (await isSuppressed(orgId, channel, address)))
        return `${address} is on the ${channel} suppression list (it opted out)`;
      return undefined;
    },

    /** Records an opt-out or opt-in: the suppression list by address, the lead's consent field by id. */
    async change(change: ConsentChange): Promise<void> {
      const { orgId, channel } = change;
      const work: Promise<unknown>[] = [];
      if (change.address) {
        const address = normaliseAddress(channel, change.address);
        work.push(
          change.optedIn
            ? redis.srem(keys.suppressed(orgId, channel), address)
            : redis.sadd(keys.suppressed(orgId, channel), address),
        );
      }
      if (change.leadId) {
        work.push(
          leads.setFields(orgId, change.leadId, {
            [consentField(channel)]: change.optedIn,
            [`${consentField(channel)}Source`]: change.source,
            [consentAtField(channel)]: change.at ?? new Date().toISOString(),
          }),
        );
      }
      await Promise.all(work);
    },

    /**
     * Applies a reply: an `sms_replied` event whose `data.body` is an opt-out or opt-in keyword ({@link replyConsent})
     * changes consent for the sender (`data.from`, else the lead's phone) on `data.channel` (`sms` unless `whatsapp`).
     * The one place a reply changes consent, whether the event came from the Twilio webhook or the events API.
     * Returns the change.
     */
    async applyReply(event: EngineEvent, leadId: string | undefined): Promise<ConsentChange | undefined> {
      if (event.type !== 'sms_replied') return undefined;
      const data = event.data ?? {};
      const optedIn = typeof data.body === 'string' ? replyConsent(data.body) : undefined;
      if (optedIn === undefined) return undefined;
      const channel: ConsentChannel = data.channel === 'whatsapp' ? 'whatsapp' : 'sms';
      const from = typeof data.from === 'string' ? data.from : event.lead?.phone;
      const change: ConsentChange = {
        orgId: event.orgId,
        channel,
        optedIn,
        source: `${channel}_reply`,
        ...(from ? { address: from } : {}),
        ...(leadId ? { leadId } : {}),
      };
      await this.change(change);
      return change;
    },
  };
}
export type ConsentStore = ReturnType<typeof createConsentStore>;
