// SMS and WhatsApp through Twilio's Messages API: form-encoded, basic auth, `whatsapp:` addresses, status callback.
import { NonRetryableError } from '../../shared/errors.js';
import type { OrgSettings } from '../../orgs/settings.js';
import { jsonBody, providerError, type HttpClient } from '../http-client.js';
import type { CommunicationProvider, OutboundMessage } from '../types.js';

export type TwilioSettings = NonNullable<OrgSettings['twilio']>;

export interface TwilioProviderOptions {
  http: HttpClient;
  /** @defaultValue https://api.twilio.com */
  baseUrl: string;
  settings: TwilioSettings;
  /** Where Twilio posts delivery statuses when the settings name none. */
  statusCallbackUrl?: string;
}

export function createTwilioProvider({
  http,
  baseUrl,
  settings,
  statusCallbackUrl,
}: TwilioProviderOptions): CommunicationProvider {
  const url = new URL(
    `2010-04-01/Accounts/${encodeURIComponent(settings.accountSid)}/Messages.json`,
    baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
  );
  const auth = `Basic ${Buffer.from(`${settings.accountSid}:${settings.authToken ?? ''}`).toString('base64')}`;
  const callback = settings.statusCallbackUrl ?? statusCallbackUrl;

  const address = (message: OutboundMessage, number: string) =>
    message.channel === 'whatsapp' ? `whatsapp:${number.replace(/^whatsapp:/, '')}` : number;

  return {
    name: 'twilio',
    async send(message) {
      const form = new URLSearchParams({ To: address(message, message.to) });
      const sender = message.channel === 'whatsapp' ? settings.whatsappFrom : settings.smsFrom;
      if (sender) form.set('From', address(message, sender));
      else if (settings.messagingServiceSid) form.set('MessagingServiceSid', settings.messagingServiceSid);
      else
        throw new NonRetryableError(`twilio: no ${message.channel} sender is configured`, {
          code: 'provider_not_configured',
        });
      if (message.templateName) form.set('ContentSid', message.templateName);
      else form.set('Body', message.body ?? '');
      if (callback) form.set('StatusCallback', callback);

      const response = await http.send({
        method: 'POST',
        url,
        provider: 'twilio',
        headers: {
          authorization: auth,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
      });
      const body = jsonBody(response) as { sid?: string; code?: number; message?: string } | undefined;
      if (response.status >= 200 && response.status < 300 && body?.sid) {
        return { providerMessageId: body.sid, provider: 'twilio', sandbox: false };
      }
      throw providerError('twilio', response, { code: body?.code, message: body?.message });
    },
  };
}
