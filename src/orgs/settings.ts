// Per-organization provider settings: one section per provider, secrets sealed with AES-256-GCM at rest and never
// returned (the API answers `"authToken": "set"`).
import { z } from 'zod';
import type { RedisClient } from '../queue/redis.js';
import { HttpError } from '../shared/errors.js';
import type { Keys } from '../shared/keys.js';
import type { SecretBox } from './secrets.js';

export const channels = ['email', 'sms', 'whatsapp'] as const;
export type ConsentChannel = (typeof channels)[number];

/** Action types a rate limit applies to (CRM updates only when they reach an organization's CRM API). */
export const limitedActionTypes = [
  'send_email',
  'send_sms',
  'send_whatsapp',
  'sync_to_meta',
  'create_stripe_customer',
  'webhook_call',
  'update_lead',
  'add_tag',
  'change_status',
] as const;
export type LimitedActionType = (typeof limitedActionTypes)[number];

const Secret = z.string().min(1).max(4096);
const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +447700900123');
const HttpUrl = z.url({ protocol: /^https?$/ });

export const LimitWindow = z.strictObject({
  limit: z.number().int().positive().max(1_000_000),
  windowMs: z
    .number()
    .int()
    .min(100)
    .max(31 * 86_400_000),
});
export type LimitWindow = z.output<typeof LimitWindow>;

export const settingsSchemas = {
  email: z
    .strictObject({
      provider: z.enum(['smtp', 'ses']),
      /** Sender, such as `"Iron Temple" <hello@irontemple.example>`. */
      from: z.string().min(3).max(320),
      replyTo: z.string().max(320).optional(),
      smtp: z
        .strictObject({
          host: z.string().min(1).max(255),
          port: z.number().int().min(1).max(65535).default(587),
          /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
          secure: z.boolean().default(false),
          user: z.string().max(320).optional(),
          password: Secret.optional(),
        })
        .optional(),
      ses: z
        .strictObject({
          region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
          accessKeyId: z.string().min(16).max(128).optional(),
          secretAccessKey: Secret.optional(),
          configurationSet: z.string().max(64).optional(),
        })
        .optional(),
      /** Open pixel and click-tracking links in HTML emails. */
      tracking: z
        .strictObject({ opens: z.boolean().default(false), clicks: z.boolean().default(false) })
        .optional(),
      /** A mailto: address listed in List-Unsubscribe beside the one-click link. */
      unsubscribeMailto: z.email().optional(),
    })
    .superRefine((email, ctx) => {
      if (!email[email.provider])
        ctx.addIssue({
          code: 'custom',
          path: [email.provider],
          message: `${email.provider} settings are required`,
        });
    }),
  twilio: z.strictObject({
    accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio Account SID (AC + 32 hex)'),
    authToken: Secret.optional(),
    /** Sender of SMS; or use a messaging service. */
    smsFrom: E164.optional(),
    messagingServiceSid: z
      .string()
      .regex(/^MG[0-9a-fA-F]{32}$/)
      .optional(),
    /** WhatsApp sender (without the `whatsapp:` prefix). */
    whatsappFrom: E164.optional(),
    /** Where Twilio posts delivery statuses. @defaultValue `PUBLIC_BASE_URL/v1/webhooks/<org>/twilio` */
    statusCallbackUrl: HttpUrl.optional(),
  }),
  meta: z.strictObject({
    pixelId: z.string().regex(/^\d{5,20}$/, 'must be the numeric dataset (pixel) id'),
    accessToken: Secret.optional(),
    /** Sends events to Events Manager's Test Events tab instead of production. */
    testEventCode: z.string().max(50).optional(),
    actionSource: z
      .enum(['system_generated', 'website', 'email', 'phone_call', 'chat', 'physical_store', 'other'])
      .default('system_generated'),
  }),
  stripe: z.strictObject({
    secretKey: Secret.refine((key) => /^(sk|rk)_/.test(key), 'must be a secret or restricted key').optional(),
  }),
  crm: z.strictObject({
    /** The CRM's REST API; update_lead, add_tag and change_status go there instead of the built-in store. */
    baseUrl: HttpUrl,
    apiToken: Secret.optional(),
  }),
  ai: z.strictObject({
    /** An OpenAI-compatible API root (guarded like webhooks). @defaultValue AI_BASE_URL */
    baseUrl: HttpUrl.optional(),
    apiKey: Secret.optional(),
    model: z.string().min(1).max(100).optional(),
  }),
  webhooks: z.strictObject({
    /** Signs every webhook_call request (header X-Atlas-Signature, the inbound `generic` scheme). */
    signingSecret: Secret.optional(),
  }),
  limits: z.strictObject({
    rates: z.partialRecord(z.enum(limitedActionTypes), LimitWindow).default({}),
    caps: z.partialRecord(z.enum(channels), LimitWindow).default({}),
  }),
  consent: z.strictObject({
    /** Channels that need an explicit opt-in (`<channel>Consent: true` on the lead) before anything is sent. */
    requireOptIn: z.partialRecord(z.enum(channels), z.boolean()).default({}),
  }),
  testMode: z.strictObject({ enabled: z.boolean() }),
};

export type SettingsSection = keyof typeof settingsSchemas;
export const settingsSections = Object.keys(settingsSchemas) as SettingsSection[];
export type OrgSettings = { [S in SettingsSection]?: z.output<(typeof settingsSchemas)[S]> };

/** Fields holding secrets, as dotted paths: sealed at rest, answered as `"set"`. */
export const secretPaths: Record<SettingsSection, string[]> = {
  email: ['smtp.password', 'ses.secretAccessKey'],
  twilio: ['authToken'],
  meta: ['accessToken'],
  stripe: ['secretKey'],
  crm: ['apiToken'],
  ai: ['apiKey'],
  webhooks: ['signingSecret'],
  limits: [],
  consent: [],
  testMode: [],
};

/** Secrets a section cannot work without (given now or kept from before). */
const requiredSecrets: Partial<Record<SettingsSection, string[]>> = {
  twilio: ['authToken'],
  meta: ['accessToken'],
  stripe: ['secretKey'],
  crm: ['apiToken'],
  webhooks: ['signingSecret'],
};

interface Stored {
  public: Record<string, unknown>;
  /** The section's secrets as JSON `{path: value}`, sealed. */
  sealed?: string;
}

function getPath(object: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, part) =>
        value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined,
      object,
    );
}

function setPath(object: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let target = object;
  for (const part of parts.slice(0, -1)) {
    if (!target[part] || typeof target[part] !== 'object') return;
    target = target[part] as Record<string, unknown>;
  }
  const last = parts.at(-1)!;
  if (value === undefined) delete target[last];
  else target[last] = value;
}

/** How long a process reuses an organization's decrypted settings; writes in this process clear it at once. */
const SETTINGS_CACHE_MS = 2000;

export function createSettingsStore(redis: RedisClient, keys: Keys, box: SecretBox) {
  const aad = (orgId: string, section: string) => `${orgId}:${section}`;
  const cache = new Map<string, { settings: OrgSettings; until: number }>();

  const unseal = (orgId: string, section: SettingsSection, stored: Stored): Record<string, unknown> => {
    const full = structuredClone(stored.public);
    if (stored.sealed) {
      const secrets = JSON.parse(box.open(stored.sealed, aad(orgId, section))) as Record<string, string>;
      for (const [path, value] of Object.entries(secrets)) setPath(full, path, value);
    }
    return full;
  };

  const redact = (section: SettingsSection, full: Record<string, unknown>): Record<string, unknown> => {
    const view = structuredClone(full);
    for (const path of secretPaths[section]) {
      if (getPath(view, path) !== undefined) setPath(view, path, 'set');
    }
    return view;
  };

  const read = async (orgId: string): Promise<Partial<Record<SettingsSection, Stored>>> => {
    const raw = await redis.hgetall(keys.settings(orgId));
    const result: Partial<Record<SettingsSection, Stored>> = {};
    for (const [section, json] of Object.entries(raw)) {
      if (section in settingsSchemas) result[section as SettingsSection] = JSON.parse(json) as Stored;
    }
    return result;
  };

  return {
    /** Every section with its secrets in clear, for the providers. */
    async get(orgId: string): Promise<OrgSettings> {
      const hit = cache.get(orgId);
      if (hit && hit.until > Date.now()) return hit.settings;
      const stored = await read(orgId);
      const settings: Record<string, unknown> = {};
      for (const [section, value] of Object.entries(stored) as [SettingsSection, Stored][]) {
        settings[section] = unseal(orgId, section, value);
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(orgId, { settings: settings as OrgSettings, until: Date.now() + SETTINGS_CACHE_MS });
      return settings as OrgSettings;
    },

    /** Every section with secrets replaced by `"set"`: what the API returns. */
    async view(orgId: string): Promise<Record<string, unknown>> {
      const stored = await read(orgId);
      const view: Record<string, unknown> = {};
      for (const [section, value] of Object.entries(stored) as [SettingsSection, Stored][]) {
        view[section] = redact(section, unseal(orgId, section, value));
      }
      return view;
    },

    /**
     * Replaces a section with `input` (already parsed by its schema). A secret left out keeps its stored value,
     * so a client can change a sender without sending the token again. Returns the redacted section.
     */
    async put(orgId: string, section: SettingsSection, input: Record<string, unknown>) {
      cache.delete(orgId);
      const previous = (await read(orgId))[section];
      const before = previous ? unseal(orgId, section, previous) : {};
      const full = structuredClone(input);
      const secrets: Record<string, string> = {};
      for (const path of secretPaths[section]) {
        const given = getPath(full, path);
        const value = given === undefined ? getPath(before, path) : given;
        if (typeof value !== 'string') continue;
        setPath(full, path, value);
        // Kept only where its parent block still exists (dropping `smtp` drops its password).
        if (getPath(full, path) === value) secrets[path] = value;
      }
      const missing = (requiredSecrets[section] ?? []).filter((path) => secrets[path] === undefined);
      if (missing.length > 0) {
        throw new HttpError(
          400,
          'validation_failed',
          `${section}.${missing[0]} is required`,
          missing.map((path) => ({
            path: `${section}.${path}`,
            message: 'required (a secret; send it once)',
          })),
        );
      }
      const publicPart = structuredClone(full);
      for (const path of secretPaths[section]) setPath(publicPart, path, undefined);
      const stored: Stored = {
        public: publicPart,
        ...(Object.keys(secrets).length > 0
          ? { sealed: box.seal(JSON.stringify(secrets), aad(orgId, section)) }
          : {}),
      };
      await redis.hset(keys.settings(orgId), section, JSON.stringify(stored));
      return redact(section, full);
    },

    async remove(orgId: string, section: SettingsSection): Promise<boolean> {
      cache.delete(orgId);
      return (await redis.hdel(keys.settings(orgId), section)) === 1;
    },
  };
}
export type SettingsStore = ReturnType<typeof createSettingsStore>;
