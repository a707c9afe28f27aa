// A fake of Twilio's Messages API (2010-04-01): checks basic auth, the form fields and the addresses as Twilio does,
// answers 201 with a message resource or Twilio's error JSON.
import { randomBytes } from 'node:crypto';
import { formOf, startFakeApi, type FakeApi } from './fake-api.js';

export const TWILIO_SID = `AC${'a1'.repeat(16)}`;
export const TWILIO_TOKEN = 'twilio-auth-token-secret';

export interface TwilioMessage {
  sid: string;
  to: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string | undefined;
  contentSid: string | undefined;
  statusCallback: string | undefined;
  at: number;
}

export interface FakeTwilio extends FakeApi {
  /** Messages accepted (201), in order. */
  messages: TwilioMessage[];
}

const e164 = /^\+[1-9]\d{6,14}$/;
const error = (status: number, code: number, message: string) => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

/** Twilio's own answers for the failures tests ask for. */
export const twilioFailures = {
  serverError: error(500, 20500, 'An internal server error has occurred'),
  tooMany: (retryAfter = '1') => ({
    ...error(429, 20429, 'Too Many Requests'),
    headers: { 'retry-after': retryAfter },
  }),
  invalidTo: error(400, 21211, "The 'To' number is not a valid phone number."),
};

export async function startFakeTwilio(): Promise<FakeTwilio> {
  const messages: TwilioMessage[] = [];
  const api = await startFakeApi((request) => {
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(request.path);
    if (request.method !== 'POST' || !match) return error(404, 20404, 'The requested resource was not found');
    const expected = `Basic ${Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64')}`;
    if (match[1] !== TWILIO_SID || request.headers.authorization !== expected)
      return error(401, 20003, 'Authenticate');
    if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
      return error(400, 20001, 'Content-Type must be application/x-www-form-urlencoded');
    const form = formOf(request.body);
    const whatsapp = form.To?.startsWith('whatsapp:');
    const number = (value: string | undefined) => value?.replace(/^whatsapp:/, '');
    if (!form.To || !e164.test(number(form.To)!))
      return error(400, 21211, `The 'To' number ${form.To} is not a valid phone number.`);
    if (!form.From && !form.MessagingServiceSid)
      return error(400, 21603, "A 'From' phone number is required.");
    if (form.From && (!e164.test(number(form.From)!) || form.From.startsWith('whatsapp:') !== whatsapp))
      return error(
        400,
        21212,
        `The 'From' number ${form.From} is not a valid phone number or WhatsApp sender.`,
      );
    if (!form.Body && !form.ContentSid) return error(400, 21602, 'Message body is required.');
    const message: TwilioMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to: form.To,
      from: form.From,
      messagingServiceSid: form.MessagingServiceSid,
      body: form.Body,
      contentSid: form.ContentSid,
      statusCallback: form.StatusCallback,
      at: Date.now(),
    };
    messages.push(message);
    return {
      status: 201,
      body: {
        sid: message.sid,
        account_sid: TWILIO_SID,
        to: form.To,
        from: form.From ?? null,
        body: form.Body ?? null,
        status: 'queued',
        num_segments: '1',
        direction: 'outbound-api',
        date_created: new Date().toUTCString(),
        uri: `/2010-04-01/Accounts/${TWILIO_SID}/Messages/${message.sid}.json`,
      },
    };
  });
  return Object.assign(api, { messages });
}
