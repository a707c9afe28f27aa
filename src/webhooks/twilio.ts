// `twilio` webhooks: inbound SMS and WhatsApp messages, signed with X-Twilio-Signature → `sms_replied`.
import { replyConsent } from '../consent/consent.js';
import * as z from '../shared/zod.js';
import type { EventInput } from '../events/schema.js';
import { digestEquals, hmac, invalidSignature, missingSignature } from './signature.js';

/**
 * Twilio's documented algorithm: take the full URL Twilio requested (with its query string), append every POST
 * parameter's name and value sorted by name (case-sensitive byte order, values of a repeated name in order), sign it
 * with HMAC-SHA1 keyed by the account's auth token, and base64-encode the digest.
 */
export function twilioSignature(authToken: string, url: string, params: readonly [string, string][]): string {
  const sorted = [...params].sort(([a, av], [b, bv]) =>
    a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0,
  );
  const data = url + sorted.map(([name, value]) => name + value).join('');
  return hmac('sha1', authToken, data).toString('base64');
}

export function verifyTwilio(input: {
  header: string | undefined;
  url: string;
  params: readonly [string, string][];
  secrets: readonly string[];
}): string {
  if (!input.header) throw missingSignature('X-Twilio-Signature');
  const received = Buffer.from(input.header, 'base64');
  const ok = input.secrets.some((token) =>
    digestEquals(received, Buffer.from(twilioSignature(token, input.url, input.params), 'base64')),
  );
  if (!ok) throw invalidSignature();
  // Node's base64 decoding forgives missing padding, URL-safe letters and stray characters: the same signature
  // written another way would pass again. The replay guard remembers the digest in one spelling.
  return received.toString('base64');
}

/** The fields of Twilio's messaging webhook the engine uses; Twilio sends many more, which are ignored. */
export const TwilioMessage = z.looseObject({
  MessageSid: z.string().check(z.regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'a Twilio message SID (SM… or MM…)')),
  AccountSid: z.string().check(z.regex(/^AC[0-9a-fA-F]{32}$/, 'a Twilio account SID (AC…)')),
  From: z
    .string()
    .check(z.regex(/^(whatsapp:)?\+?[0-9]{6,16}$/, 'a phone number, optionally whatsapp:-prefixed')),
  To: z.string().check(z.minLength(1), z.maxLength(64)),
  Body: z._default(z.string().check(z.maxLength(1600)), ''),
});
export type TwilioMessage = z.output<typeof TwilioMessage>;

/**
 * An inbound message as `sms_replied` for the lead of the sender's phone number. An opt-out or opt-in keyword is
 * marked in `data.consent` for workflows to read; the consent itself changes when the trigger worker applies the
 * event (ConsentStore.applyReply), as for an `sms_replied` sent to the events API.
 */
export function twilioEvent(message: TwilioMessage): EventInput {
  const channel = message.From.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
  const phone = message.From.replace(/^whatsapp:/, '');
  const consent = replyConsent(message.Body);
  return {
    id: `twilio_${message.MessageSid}`,
    type: 'sms_replied',
    lead: { phone },
    data: {
      channel,
      body: message.Body,
      from: message.From,
      to: message.To,
      messageSid: message.MessageSid,
      ...(consent === undefined ? {} : { consent: { channel, granted: consent } }),
    },
  };
}

/** Twilio reads the answer as TwiML: an empty <Response/> sends no reply message. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
