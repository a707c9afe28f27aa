// Webhook secrets per organization and source. HMAC verification needs the secret itself, so it is stored (encryption
// at rest comes with the secrets issue); it is returned only in the response that generated it, never listed.
import { randomBytes } from 'node:crypto';
import * as z from '../shared/zod.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';

export const webhookSources = ['generic', 'twilio', 'meta', 'stripe'] as const;
export const WebhookSource = z.enum(webhookSources);
export type WebhookSource = z.output<typeof WebhookSource>;

/** Secrets active at once per source: the new one and the one before it, so a sender can rotate without downtime. */
export const ACTIVE_SECRETS = 2;

export const AddSecretInput = z.strictObject({
  /** The provider's secret: Twilio auth token, Meta app secret, Stripe endpoint signing secret. Generated for `generic` when absent. */
  secret: z.optional(z.string().check(z.minLength(16, 'must be at least 16 characters'), z.maxLength(512))),
  /** Meta only: the token Meta echoes in the subscription handshake. Generated when absent. */
  verifyToken: z.optional(z.string().check(z.minLength(8), z.maxLength(256))),
});
export type AddSecretInput = z.output<typeof AddSecretInput>;

const Stored = z.object({
  secrets: z.array(z.object({ id: z.string(), secret: z.string(), createdAt: z.string() })),
  verifyToken: z.optional(z.string()),
});
type Stored = z.output<typeof Stored>;

export interface SecretSummary {
  source: WebhookSource;
  secrets: { id: string; createdAt: string }[];
  verifyToken?: 'set';
}

const summary = (source: WebhookSource, stored: Stored): SecretSummary => ({
  source,
  secrets: stored.secrets.map(({ id, createdAt }) => ({ id, createdAt })),
  ...(stored.verifyToken ? { verifyToken: 'set' as const } : {}),
});

export function createWebhookSecretStore(redis: RedisClient, keys: Keys) {
  const read = async (orgId: string, source: WebhookSource): Promise<Stored | undefined> => {
    const raw = await redis.hget(keys.webhookSecrets(orgId), source);
    if (!raw) return undefined;
    const parsed = Stored.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  };

  return {
    /** The secrets to verify with (newest first) and Meta's verify token; undefined when the source is not set up. */
    async active(
      orgId: string,
      source: WebhookSource,
    ): Promise<{ secrets: string[]; verifyToken?: string } | undefined> {
      const stored = await read(orgId, source);
      if (!stored || stored.secrets.length === 0) return undefined;
      return {
        secrets: stored.secrets.map((entry) => entry.secret),
        ...(stored.verifyToken ? { verifyToken: stored.verifyToken } : {}),
      };
    },

    /**
     * Adds a secret as the newest; the oldest beyond two is dropped. Returns generated values once (a secret given by
     * the caller is never echoed).
     */
    async add(
      orgId: string,
      source: WebhookSource,
      input: AddSecretInput,
    ): Promise<
      SecretSummary & {
        created: { id: string; createdAt: string };
        secret?: string;
        verifyTokenValue?: string;
      }
    > {
      const current = (await read(orgId, source)) ?? { secrets: [] };
      const generated =
        input.secret === undefined ? `whsec_${randomBytes(32).toString('base64url')}` : undefined;
      const generatedToken =
        source === 'meta' && input.verifyToken === undefined && !current.verifyToken
          ? randomBytes(24).toString('base64url')
          : undefined;
      const entry = {
        id: `ws_${randomBytes(6).toString('hex')}`,
        secret: input.secret ?? generated!,
        createdAt: new Date().toISOString(),
      };
      const next: Stored = {
        secrets: [entry, ...current.secrets].slice(0, ACTIVE_SECRETS),
        ...(source === 'meta'
          ? { verifyToken: input.verifyToken ?? generatedToken ?? current.verifyToken }
          : {}),
      };
      await redis.hset(keys.webhookSecrets(orgId), source, JSON.stringify(next));
      return {
        ...summary(source, next),
        created: { id: entry.id, createdAt: entry.createdAt },
        ...(generated ? { secret: generated } : {}),
        ...(generatedToken ? { verifyTokenValue: generatedToken } : {}),
      };
    },

    async list(orgId: string): Promise<SecretSummary[]> {
      const all = await redis.hgetall(keys.webhookSecrets(orgId));
      return webhookSources.flatMap((source) => {
        const parsed = all[source] ? Stored.safeParse(JSON.parse(all[source])) : undefined;
        return parsed?.success ? [summary(source, parsed.data)] : [];
      });
    },

    /** Revokes one secret; returns false when it does not exist. */
    async remove(orgId: string, source: WebhookSource, id: string): Promise<boolean> {
      const current = await read(orgId, source);
      if (!current?.secrets.some((entry) => entry.id === id)) return false;
      const next = { ...current, secrets: current.secrets.filter((entry) => entry.id !== id) };
      await redis.hset(keys.webhookSecrets(orgId), source, JSON.stringify(next));
      return true;
    },
  };
}
export type WebhookSecretStore = ReturnType<typeof createWebhookSecretStore>;
