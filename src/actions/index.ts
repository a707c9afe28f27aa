// Wires the action layer: one HTTP client, breakers, the provider registry, signed links, consent, limits and the
// ledger's claims, then every action handler wrapped by the guard. The composition root calls this once.
import { publicBaseUrl, type Config } from '../config/config.js';
import { createConsentStore } from '../consent/consent.js';
import type { LeadStore } from '../leads/store.js';
import type { ActionRegistry } from '../nodes/runner.js';
import type { Logger } from '../observability/logger.js';
import type { SecretBox } from '../orgs/secrets.js';
import type { SettingsStore } from '../orgs/settings.js';
import type { OrgStore } from '../orgs/store.js';
import type { RedisClient } from '../queue/redis.js';
import type { Keys } from '../shared/keys.js';
import { trackingUrls } from '../tracking/tokens.js';
import type { WorkflowStore } from '../workflows/store.js';
import { createAiDecider } from './ai-decision.js';
import { createBreakers } from './breakers.js';
import { createCrmActions } from './crm.js';
import { createActionGuard } from './guard.js';
import { createHttpClient } from './http-client.js';
import { createIntegrationActions } from './integrations.js';
import { createEffectClaims } from './ledger.js';
import { createLimiter } from './limits.js';
import { createLinks } from './links.js';
import { createMessagingActions, type TrackingTarget } from './messaging.js';
import { createAddressPolicy } from './net-guard.js';
import type { Outbox } from './outbox.js';
import { createProviderRegistry } from './providers/registry.js';
import type { Channel, CommunicationProvider, IntegrationProvider } from './types.js';
import { createWebhookAction } from './webhook.js';

export interface ActionLayerDeps {
  config: Config;
  logger: Logger;
  redis: RedisClient;
  keys: Keys;
  outbox: Outbox;
  leads: LeadStore;
  orgs: Pick<OrgStore, 'get'>;
  workflows: Pick<WorkflowStore, 'getVersion'>;
  settings: SettingsStore;
  box: SecretBox;
  /** Providers that replace the configured ones for every organization (outside test mode). */
  overrides?: {
    communication?: Partial<Record<Channel, CommunicationProvider>>;
    integrations?: Partial<Record<'meta' | 'stripe', IntegrationProvider>>;
  };
}

export function createActionLayer(deps: ActionLayerDeps) {
  const { config, logger, redis, keys, outbox, leads, settings, overrides } = deps;
  const http = createHttpClient({
    allowlist: config.WEBHOOK_ALLOWLIST,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
  });
  const breakers = createBreakers({
    threshold: config.BREAKER_THRESHOLD,
    halfOpenAfterMs: config.BREAKER_HALF_OPEN_MS,
    onChange: ({ orgId, endpoint }, state) =>
      logger.warn({ orgId, breaker: endpoint, state }, 'circuit breaker changed state'),
  });
  const providers = createProviderRegistry({
    config,
    http,
    outbox,
    breakers,
    policy: createAddressPolicy(config.WEBHOOK_ALLOWLIST),
  });
  const links = createLinks({ secret: deps.box.derive('links'), baseUrl: publicBaseUrl(config) });
  const consent = createConsentStore(redis, keys, leads);
  const guard = createActionGuard({
    settings,
    orgs: deps.orgs,
    workflows: deps.workflows,
    consent,
    limiter: createLimiter(redis, keys, { rates: config.RATE_LIMITS, caps: config.FREQUENCY_CAPS }),
    claims: createEffectClaims(redis, keys, config.EFFECT_CLAIM_MS),
  });
  const crmFor = providers.crm;

  const handlers = {
    ...createCrmActions({ crmFor }),
    ...createMessagingActions({
      providerFor: (channel, context) =>
        (!context.testMode && overrides?.communication?.[channel]) ||
        providers.communication(channel, context),
      links,
      ...(config.TRACKING_SECRET
        ? {
            tracking: (claims: TrackingTarget) =>
              trackingUrls(publicBaseUrl(config), config.TRACKING_SECRET!, claims),
          }
        : {}),
    }),
    ...createIntegrationActions({
      providerFor: (kind, context) =>
        (!context.testMode && overrides?.integrations?.[kind]) || providers.integration(kind, context),
      crmFor,
      leads,
    }),
    webhook_call: createWebhookAction({ http, breakers, sandbox: providers.sandbox }),
  };
  const actions = Object.fromEntries(
    Object.entries(handlers).map(([type, handler]) => [type, guard(type as never, handler as never)]),
  ) as ActionRegistry;

  return {
    actions,
    decide: createAiDecider({ http, settings, config, breakers }),
    consent,
    links,
    breakers,
    close() {
      providers.close();
      http.close();
    },
  };
}
export type ActionLayer = ReturnType<typeof createActionLayer>;
