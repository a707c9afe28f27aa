// Webhook secrets per organization and source. HMAC verification needs the secret itself, so each value (and Meta's
// verify token) is sealed at rest with the settings key (AES-256-GCM, `src/orgs/secrets.ts`), bound to organization
// and source; ids and dates stay in clear for listing. Records written before sealing hold values in clear: they are
// read as they are and sealed at their next write. A secret is returned only in the response that generated it.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { SecretBox } from '../orgs/secrets.js';
import type { RedisClient } from '../queue/redis.js';
import { errorMessage } from '../shared/errors.js';
import type { Keys } from '../shared/keys.js';
import * as z from '../shared/zod.js';

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

/** A secret at rest: sealed, or in clear in a record written before sealing. */
const StoredSecret = z.union([
  z.object({ id: z.string(), createdAt: z.string(), sealed: z.string() }),
  z.object({ id: z.string(), createdAt: z.string(), secret: z.string() }),
]);
const Stored = z.object({
  secrets: z.array(StoredSecret),
  /** Meta only. */
  sealedVerifyToken: z.optional(z.string()),
  /** Meta only, in clear: a record written before sealing. */
  verifyToken: z.optional(z.string()),
});
type Stored = z.output<typeof Stored>;

/** What a webhook verifies with: the secrets (newest first) and Meta's verify token, in clear. */
export interface ActiveSecrets {
  secrets: string[];
  verifyToken?: string;
}

export interface SecretSummary {
  source: WebhookSource;
  secrets: { id: string; createdAt: string }[];
  verifyToken?: 'set';
}

const summary = (source: WebhookSource, stored: Stored): SecretSummary => ({
  source,
  secrets: stored.secrets.map(({ id, createdAt }) => ({ id, createdAt })),
  ...(stored.verifyToken || stored.sealedVerifyToken ? { verifyToken: 'set' as const } : {}),
});

/** At most this many sources' opened secrets are kept by a process, each with the stored text it was opened from. */
const OPENED_CACHE_SIZE = 10_000;

export function createWebhookSecretStore(
  redis: RedisClient,
  keys: Keys,
  box: SecretBox,
  logger: Pick<Logger, 'warn'>,
) {
  /**
   * Additional data binding a sealed value to its organization and source: settings' `orgId:section` pattern, never
   * equal to a settings section's, so a value moved to another organization, source or settings section does not open.
   */
  const aad = (orgId: string, source: WebhookSource) => `${orgId}:webhook.${source}`;
  /**
   * The last stored text of each source and what it opened to. A write changes the text (a fresh IV), so a hit is
   * never stale; it spares the hot path the parse and the decryption, and logs an unreadable record once.
   */
  const opened = new Map<string, { raw: string; active: ActiveSecrets | undefined }>();

  /** A stored record; undefined when absent or not a record (never written by this store). */
  const parse = (raw: string | undefined | null): Stored | undefined => {
    if (!raw) return undefined;
    try {
      const parsed = Stored.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  };

  /** Logs what the webhook ignores (a secret's id, `verifyToken` or `record`) and why, never a value. */
  const ignored = (orgId: string, source: WebhookSource, what: string, reason: string): void =>
    logger.warn(
      { orgId, source, what, reason },
      'a stored webhook secret cannot be read; the webhook ignores it',
    );

  const read = async (orgId: string, source: WebhookSource): Promise<Stored | undefined> =>
    parse(await redis.hget(keys.webhookSecrets(orgId), source));

  /** Writes the record with every value sealed, so a record read in clear is sealed at its next write. */
  const write = async (orgId: string, source: WebhookSource, record: Stored): Promise<void> => {
    const seal = (value: string) => box.seal(value, aad(orgId, source));
    const token = record.sealedVerifyToken ?? (record.verifyToken ? seal(record.verifyToken) : undefined);
    const stored: Stored = {
      secrets: record.secrets.map((entry) =>
        'sealed' in entry ? entry : { id: entry.id, createdAt: entry.createdAt, sealed: seal(entry.secret) },
      ),
      ...(token ? { sealedVerifyToken: token } : {}),
    };
    await redis.hset(keys.webhookSecrets(orgId), source, JSON.stringify(stored));
  };

  /**
   * The values in clear. One that does not open (another key, moved from another organization or source, tampered)
   * is left out and logged without its value: the webhook then answers as if it were not set.
   */
  const open = (orgId: string, source: WebhookSource, stored: Stored): ActiveSecrets | undefined => {
    const unsealed = (sealed: string, what: string): string[] => {
      try {
        return [box.open(sealed, aad(orgId, source))];
      } catch (error) {
        ignored(orgId, source, what, errorMessage(error));
        return [];
      }
    };
    const secrets = stored.secrets.flatMap((entry) =>
      'sealed' in entry ? unsealed(entry.sealed, entry.id) : [entry.secret],
    );
    if (secrets.length === 0) return undefined;
    const [verifyToken] = stored.sealedVerifyToken
      ? unsealed(stored.sealedVerifyToken, 'verifyToken')
      : stored.verifyToken
        ? [stored.verifyToken]
        : [];
    return { secrets, ...(verifyToken ? { verifyToken } : {}) };
  };

  return {
    /** The secrets to verify with (newest first) and Meta's verify token; undefined when the source is not set up. */
    async active(orgId: string, source: WebhookSource): Promise<ActiveSecrets | undefined> {
      const raw = await redis.hget(keys.webhookSecrets(orgId), source);
      if (!raw) return undefined;
      const cacheKey = `${orgId}:${source}`;
      const hit = opened.get(cacheKey);
      if (hit?.raw === raw) return hit.active;
      const stored = parse(raw);
      if (!stored) ignored(orgId, source, 'record', 'not a webhook secret record');
      const active = stored ? open(orgId, source, stored) : undefined;
      if (opened.size >= OPENED_CACHE_SIZE) opened.clear();
      opened.set(cacheKey, { raw, active });
      return active;
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
      const hasToken = Boolean(current.verifyToken || current.sealedVerifyToken);
      const generatedToken =
        source === 'meta' && input.verifyToken === undefined && !hasToken
          ? randomBytes(24).toString('base64url')
          : undefined;
      const entry = {
        id: `ws_${randomBytes(6).toString('hex')}`,
        secret: input.secret ?? generated!,
        createdAt: new Date().toISOString(),
      };
      const token = input.verifyToken ?? generatedToken;
      // Meta's verify token: the one given or generated now, else the one from before (sealed, or in clear).
      const keptToken = token
        ? { verifyToken: token }
        : { verifyToken: current.verifyToken, sealedVerifyToken: current.sealedVerifyToken };
      const next: Stored = {
        secrets: [entry, ...current.secrets].slice(0, ACTIVE_SECRETS),
        ...(source === 'meta' ? keptToken : {}),
      };
      await write(orgId, source, next);
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
        const stored = parse(all[source]);
        return stored ? [summary(source, stored)] : [];
      });
    },

    /** Revokes one secret; returns false when it does not exist. */
    async remove(orgId: string, source: WebhookSource, id: string): Promise<boolean> {
      const current = await read(orgId, source);
      if (!current?.secrets.some((entry) => entry.id === id)) return false;
      await write(orgId, source, {
        ...current,
        secrets: current.secrets.filter((entry) => entry.id !== id),
      });
      return true;
    },
  };
}
export type WebhookSecretStore = ReturnType<typeof createWebhookSecretStore>;
