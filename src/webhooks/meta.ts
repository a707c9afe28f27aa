// `meta` webhooks: the GET subscription handshake (hub.challenge) and lead-ads notifications signed with
// X-Hub-Signature-256 (`sha256=<hex HMAC-SHA256 of the raw body>` keyed by the app secret) → `new_lead`, `form_submitted`.
import * as z from '../shared/zod.js';
import type { EventInput } from '../events/schema.js';
import { HttpError } from '../shared/errors.js';
import { secretsEqual } from '../orgs/store.js';
import { digestEquals, fromHex, hmac, invalidSignature, missingSignature } from './signature.js';

export function signMeta(appSecret: string, body: string): string {
  return `sha256=${hmac('sha256', appSecret, body).toString('hex')}`;
}

export function verifyMeta(input: {
  header: string | undefined;
  body: string;
  secrets: readonly string[];
}): string {
  if (!input.header) throw missingSignature('X-Hub-Signature-256');
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(input.header.trim());
  if (!match)
    throw new HttpError(401, 'signature_missing', 'X-Hub-Signature-256 must look like sha256=<hex>');
  const received = fromHex(match[1]!);
  const ok = input.secrets.some((secret) => digestEquals(received, hmac('sha256', secret, input.body)));
  if (!ok) throw invalidSignature();
  return match[1]!.toLowerCase();
}

/** The verification request Meta sends when a callback URL is subscribed: echo hub.challenge if the token matches. */
export function answerChallenge(query: Record<string, string>, verifyToken: string | undefined): string {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe' || !token || !challenge || challenge.length > 512)
    throw new HttpError(
      400,
      'validation_failed',
      'send hub.mode=subscribe, hub.verify_token and hub.challenge',
    );
  if (!verifyToken || !secretsEqual(token, verifyToken))
    throw new HttpError(403, 'forbidden', 'hub.verify_token does not match');
  return challenge;
}

/** A Graph API id, sent as a string or a number; always a string once parsed. */
const GraphId = z.pipe(z.union([z.string(), z.number()]), z.transform(String));

const LeadgenValue = z.looseObject({
  leadgen_id: GraphId,
  form_id: z.optional(GraphId),
  page_id: z.optional(GraphId),
  ad_id: z.optional(GraphId),
  adgroup_id: z.optional(GraphId),
  created_time: z.optional(z.number().check(z.int())),
});

export const MetaNotification = z.looseObject({
  object: z.string().check(z.minLength(1)),
  entry: z
    .array(
      z.looseObject({
        id: GraphId,
        time: z.optional(z.number()),
        changes: z._default(z.array(z.looseObject({ field: z.string(), value: z.unknown() })), []),
      }),
    )
    .check(z.maxLength(1000)),
});
export type MetaNotification = z.output<typeof MetaNotification>;

/**
 * Each `leadgen` change is a lead-ad form submission: it becomes a `new_lead` and a `form_submitted` for the lead
 * `meta_<leadgen id>`. The notification carries ids only; the lead's answers are fetched from the Graph API by the
 * Meta integration. Changes of other fields are ignored.
 */
export function metaEvents(notification: MetaNotification): { events: EventInput[]; issues: string[] } {
  const events: EventInput[] = [];
  const issues: string[] = [];
  notification.entry.forEach((entry, e) =>
    entry.changes.forEach((change, c) => {
      if (change.field !== 'leadgen') return;
      const value = LeadgenValue.safeParse(change.value);
      if (!value.success) {
        issues.push(`entry.${e}.changes.${c}.value: ${value.error.issues[0]?.message ?? 'invalid'}`);
        return;
      }
      const lead = value.data;
      const occurredAt = lead.created_time ? new Date(lead.created_time * 1000).toISOString() : undefined;
      const data = {
        provider: 'meta',
        leadgenId: lead.leadgen_id,
        pageId: lead.page_id ?? entry.id,
        ...(lead.form_id ? { formId: lead.form_id } : {}),
        ...(lead.ad_id ? { adId: lead.ad_id } : {}),
        ...(lead.adgroup_id ? { adgroupId: lead.adgroup_id } : {}),
      };
      const leadInput = { id: `meta_${lead.leadgen_id}`, source: 'facebook' };
      for (const type of ['new_lead', 'form_submitted'] as const) {
        events.push({
          id: `meta_${lead.leadgen_id}_${type}`,
          type,
          ...(occurredAt ? { occurredAt } : {}),
          lead: leadInput,
          data,
        });
      }
    }),
  );
  return { events, issues };
}
