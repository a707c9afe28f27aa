// The action guard: what every action passes before its provider is called. It loads the organization's settings,
// decides test mode, skips opted-out leads, applies rate limits and frequency caps (delaying, never dropping), and
// claims the effect in the ledger so two deliveries of a job never send at once.
import { randomUUID } from 'node:crypto';
import type { ConsentStore } from '../consent/consent.js';
import type { ConsentChannel, LimitedActionType, SettingsStore } from '../orgs/settings.js';
import type { OrgStore } from '../orgs/store.js';
import { RetryAfterError } from '../shared/errors.js';
import type { WorkflowStore } from '../workflows/store.js';
import { externalNodeTypes, type NodeType } from '../workflows/schema.js';
import { effectKeyOf, type EffectClaims } from './ledger.js';
import type { Limiter } from './limits.js';
import { recipient } from './messaging.js';
import type { ActionContext, ActionHandler, ActionResult } from './types.js';

export interface GuardDeps {
  settings: Pick<SettingsStore, 'get'>;
  orgs: Pick<OrgStore, 'get'>;
  workflows: Pick<WorkflowStore, 'getVersion'>;
  consent: Pick<ConsentStore, 'refusal'>;
  limiter: Limiter;
  claims: EffectClaims;
  now?: () => number;
}

const channels: Partial<Record<NodeType, ConsentChannel>> = {
  send_email: 'email',
  send_sms: 'sms',
  send_whatsapp: 'whatsapp',
};
const crmTypes: ReadonlySet<NodeType> = new Set<NodeType>(['update_lead', 'add_tag', 'change_status']);

/** An organization's time zone changes rarely; it is read at most once a minute per process. */
const ZONE_TTL_MS = 60_000;

const joinNotes = (...notes: (string | undefined)[]) => notes.filter(Boolean).join('; ') || undefined;

export function createActionGuard(deps: GuardDeps) {
  const now = deps.now ?? Date.now;
  const zones = new Map<string, { zone: string; until: number }>();

  const zoneOf = async (orgId: string) => {
    const cached = zones.get(orgId);
    if (cached && cached.until > now()) return cached.zone;
    const zone = (await deps.orgs.get(orgId))?.timeZone ?? 'UTC';
    if (zones.size > 10_000) zones.clear();
    zones.set(orgId, { zone, until: now() + ZONE_TTL_MS });
    return zone;
  };

  /** An execution (event `data.testMode`), its workflow (`settings.testMode`) or its organization is in test mode. */
  const inTestMode = async (context: ActionContext, orgTestMode: boolean) => {
    const data = context.event.data as Record<string, unknown> | undefined;
    if (data?.testMode === true || orgTestMode) return true;
    const version = await deps.workflows.getVersion(context.orgId, context.workflowId, context.version);
    return version?.compiled.definition.settings.testMode === true;
  };

  return function guard<T extends NodeType>(type: T, handler: ActionHandler<T>): ActionHandler<T> {
    const external = externalNodeTypes.has(type);
    const channel = channels[type];

    return async (node, context) => {
      const [settings, timeZone] = await Promise.all([
        deps.settings.get(context.orgId),
        zoneOf(context.orgId),
      ]);
      const testMode = external && (await inTestMode(context, settings.testMode?.enabled === true));
      const guarded: ActionContext = { ...context, settings, timeZone, testMode };

      if (channel) {
        const explicit = (node as { params?: { to?: string } }).params?.to;
        const address = recipient(guarded, channel, explicit, node.id);
        const refusal = await deps.consent.refusal(context.orgId, channel, context.lead, address, settings);
        if (refusal)
          return {
            skipped: true,
            output: { skipped: true, channel, reason: refusal },
            note: `skipped: ${refusal}`,
          };
      }

      const limited = external || (crmTypes.has(type) && settings.crm !== undefined);
      if (limited && !testMode) {
        const decision = await deps.limiter.acquire({
          orgId: context.orgId,
          actionType: type as LimitedActionType,
          key: context.idempotencyKey,
          ...(context.lead ? { leadId: context.lead.id } : {}),
          ...(channel ? { channel } : {}),
          settings,
        });
        if (decision.delayMs > 0) {
          const until = new Date(decision.at).toISOString();
          const message =
            decision.reason === 'frequency_cap'
              ? `frequency cap for ${channel} to this lead (${decision.cap?.limit} per ${decision.cap?.windowMs} ms) reached; delayed until ${until}`
              : `rate limit for ${type} (${decision.rate.limit} per ${decision.rate.windowMs} ms) reached; delayed until ${until}`;
          throw new RetryAfterError(message, decision.delayMs, {
            code: decision.reason === 'frequency_cap' ? 'frequency_capped' : 'rate_limited',
            context: { until },
          });
        }
      }

      if (!external) return handler(node, guarded);

      const token = randomUUID();
      const target = context.effectKey
        ? { executionId: context.executionId, effectKey: context.effectKey }
        : effectKeyOf(context.idempotencyKey);
      const claim = await deps.claims.claim(target, {
        token,
        attempt: context.attempt,
        atMs: now(),
      });
      if (claim.outcome === 'recorded') return claim.result as ActionResult;
      if (claim.outcome === 'held') {
        throw new RetryAfterError(
          `attempt ${claim.previous.attempt} is sending this step right now; checking again when its claim expires`,
          deps.claims.lifetimeMs - (now() - claim.previous.atMs) + Math.floor(Math.random() * 1000),
          { code: 'effect_in_flight' },
        );
      }
      const takeover =
        claim.outcome === 'taken_over'
          ? `attempt ${claim.previous.attempt} claimed this effect at ${new Date(claim.previous.atMs).toISOString()} and recorded no result; sent again with the same idempotency key`
          : undefined;
      try {
        const result = await handler(node, guarded);
        const note = joinNotes(result.note, takeover);
        return { ...result, ...(testMode ? { testMode: true } : {}), ...(note ? { note } : {}) };
      } catch (error) {
        await deps.claims.release(target, token).catch(() => undefined);
        throw error;
      }
    };
  };
}
export type ActionGuard = ReturnType<typeof createActionGuard>;
