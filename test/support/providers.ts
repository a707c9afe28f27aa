// Every fake provider on loopback, the engine environment that points at them, and an organization configured to
// use them through the settings API.
import { AI_KEY, startFakeAi, type FakeAi } from './fakes/ai.js';
import { CRM_TOKEN, startFakeCrm, type FakeCrm } from './fakes/crm.js';
import { META_PIXEL, META_TOKEN, startFakeMeta, type FakeMeta } from './fakes/meta.js';
import { SES_KEY_ID, SES_SECRET, startFakeSes, type FakeSes } from './fakes/ses.js';
import { SMTP_PASSWORD, SMTP_USER, startFakeSmtp, type FakeSmtp } from './fakes/smtp.js';
import { STRIPE_KEY, startFakeStripe, type FakeStripe } from './fakes/stripe.js';
import { TWILIO_SID, TWILIO_TOKEN, startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import type { Harness } from './harness.js';

export interface Fakes {
  smtp: FakeSmtp;
  ses: FakeSes;
  twilio: FakeTwilio;
  meta: FakeMeta;
  stripe: FakeStripe;
  crm: FakeCrm;
  ai: FakeAi;
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const [smtp, ses, twilio, meta, stripe, crm, ai] = await Promise.all([
    startFakeSmtp(),
    startFakeSes(),
    startFakeTwilio(),
    startFakeMeta(),
    startFakeStripe(),
    startFakeCrm(),
    startFakeAi(),
  ]);
  return {
    smtp,
    ses,
    twilio,
    meta,
    stripe,
    crm,
    ai,
    async close() {
      await Promise.all([smtp, ses, twilio, meta, stripe, crm, ai].map((fake) => fake.close()));
    },
  };
}

export const PUBLIC_BASE_URL = 'https://atlas.test';
export const SIGNING_SECRET = 'whsec-outbound-signing-secret';
export const TRACKING_SECRET = 'tracking-secret-of-the-provider-tests-0123456789';
export const SMS_FROM = '+447700900001';
export const WHATSAPP_FROM = '+447700900002';
export const EMAIL_FROM = 'Iron Temple <hello@irontemple.test>';

/** The engine's environment for a harness whose providers are the fakes. */
export function providerEnv(fakes: Fakes, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TWILIO_BASE_URL: fakes.twilio.url,
    STRIPE_BASE_URL: fakes.stripe.url,
    META_GRAPH_BASE_URL: fakes.meta.url,
    SES_ENDPOINT: fakes.ses.url,
    AI_BASE_URL: fakes.ai.url,
    AI_API_KEY: AI_KEY,
    PUBLIC_BASE_URL,
    TRACKING_SECRET,
    // The fakes listen on loopback; the address policy must admit it for org-chosen hosts (SMTP, CRM, webhooks).
    WEBHOOK_ALLOWLIST: '127.0.0.1',
    PROVIDER_TIMEOUT_MS: '1500',
    BREAKER_THRESHOLD: '50',
    ...extra,
  };
}

export const settingsFor = (fakes: Fakes) => ({
  smtp: {
    provider: 'smtp',
    from: EMAIL_FROM,
    smtp: { host: '127.0.0.1', port: fakes.smtp.port, user: SMTP_USER, password: SMTP_PASSWORD },
    tracking: { opens: true, clicks: true },
    unsubscribeMailto: 'unsubscribe@irontemple.test',
  },
  ses: {
    provider: 'ses',
    from: EMAIL_FROM,
    ses: { region: 'eu-west-1', accessKeyId: SES_KEY_ID, secretAccessKey: SES_SECRET },
  },
  twilio: { accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, smsFrom: SMS_FROM, whatsappFrom: WHATSAPP_FROM },
  meta: { pixelId: META_PIXEL, accessToken: META_TOKEN },
  stripe: { secretKey: STRIPE_KEY },
  crm: { baseUrl: fakes.crm.url, apiToken: CRM_TOKEN },
  webhooks: { signingSecret: SIGNING_SECRET },
});

export type SettingsName = keyof ReturnType<typeof settingsFor>;

/** Puts settings sections through the API (the way an organization would); `smtp` and `ses` fill `email`. */
export async function configure(
  h: Harness,
  apiKey: string,
  fakes: Fakes,
  names: SettingsName[] = ['smtp', 'twilio', 'meta', 'stripe', 'webhooks'],
  more: Record<string, unknown> = {},
): Promise<void> {
  const all = settingsFor(fakes);
  const sections: [string, unknown][] = names.map((name) => [
    name === 'smtp' || name === 'ses' ? 'email' : name,
    all[name],
  ]);
  sections.push(...Object.entries(more));
  for (const [section, value] of sections) {
    const response = await h.call('PUT', `/v1/org/settings/${section}`, value, apiKey);
    if (response.status !== 200) throw new Error(`settings ${section}: ${JSON.stringify(response.body)}`);
  }
}
