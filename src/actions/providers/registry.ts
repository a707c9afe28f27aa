// Which provider serves a step: the sandbox outbox in test mode; else the organization's own settings; else the
// operator's defaults from the environment; else the sandbox outside production. Real providers sit behind breakers.
import { createHash } from 'node:crypto';
import { publicBaseUrl, type Config } from '../../config/config.js';
import { NonRetryableError } from '../../shared/errors.js';
import type { Breakers } from '../breakers.js';
import type { HttpClient } from '../http-client.js';
import type { AddressPolicy } from '../net-guard.js';
import type { Outbox } from '../outbox.js';
import type { ActionContext, Channel, CommunicationProvider, IntegrationProvider } from '../types.js';
import { createCrmApi, type CrmApi } from './crm.js';
import { createMetaProvider } from './meta.js';
import { createSesProvider } from './ses.js';
import { createSmtpProvider, type ClosableProvider } from './smtp.js';
import { createStripeProvider } from './stripe.js';
import { createTwilioProvider } from './twilio.js';

export interface ProviderRegistryDeps {
  config: Config;
  http: HttpClient;
  outbox: Outbox;
  breakers: Breakers;
  /** The outbound address policy, for SMTP hosts an organization chose. */
  policy: AddressPolicy;
}

/** Built providers kept per process, by settings fingerprint (a settings change builds a new one). */
const MAX_CACHED = 2000;

const fingerprint = (...parts: unknown[]) =>
  createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);

export function createProviderRegistry({ config, http, outbox, breakers, policy }: ProviderRegistryDeps) {
  const cache = new Map<string, unknown>();

  function cached<T>(key: string, build: () => T): T {
    const hit = cache.get(key) as T | undefined;
    if (hit) return hit;
    if (cache.size >= MAX_CACHED) {
      const [oldest, value] = cache.entries().next().value!;
      (value as Partial<ClosableProvider>).close?.();
      cache.delete(oldest);
    }
    const built = build();
    cache.set(key, built);
    return built;
  }

  // Behind the breaker of the organization each message or request is for (providers built from the environment serve
  // every organization), and of the provider's endpoint.
  const guardedSend = (provider: ClosableProvider | CommunicationProvider, endpoint: string) => ({
    name: provider.name,
    send: (message: Parameters<CommunicationProvider['send']>[0]) =>
      breakers.run({ orgId: message.orgId, endpoint }, () => provider.send(message)),
    close: () => (provider as Partial<ClosableProvider>).close?.(),
  });
  const guardedCall = (provider: IntegrationProvider, endpoint: string): IntegrationProvider => ({
    name: provider.name,
    call: (request) => breakers.run({ orgId: request.orgId, endpoint }, () => provider.call(request)),
  });

  const testOutbox: CommunicationProvider = {
    name: 'sandbox',
    send: (message) => outbox.communication.send({ ...message, testMode: true }),
  };
  const testIntegration: IntegrationProvider = {
    name: 'sandbox',
    call: (request) => outbox.integration.call({ ...request, testMode: true }),
  };

  const unconfigured = (what: string, fallback: CommunicationProvider | IntegrationProvider) => {
    if (config.NODE_ENV !== 'production') return fallback;
    throw new NonRetryableError(`no ${what} provider is configured for this organization`, {
      code: 'provider_not_configured',
    });
  };

  function email(context: ActionContext): CommunicationProvider {
    const settings = context.settings?.email;
    if (settings?.provider === 'smtp' && settings.smtp) {
      const smtp = settings.smtp;
      return cached(`smtp:${context.orgId}:${fingerprint(settings)}`, () =>
        guardedSend(
          createSmtpProvider({
            settings: smtp,
            from: settings.from,
            ...(settings.replyTo ? { replyTo: settings.replyTo } : {}),
            timeoutMs: config.PROVIDER_TIMEOUT_MS,
            policy,
          }),
          `smtp:${smtp.host}:${smtp.port}`,
        ),
      );
    }
    if (settings?.provider === 'ses' && settings.ses) {
      const ses = settings.ses;
      return cached(`ses:${context.orgId}:${fingerprint(settings)}`, () =>
        guardedSend(
          createSesProvider({
            region: ses.region,
            ...(config.SES_ENDPOINT ? { endpoint: config.SES_ENDPOINT } : {}),
            ...(ses.accessKeyId && ses.secretAccessKey
              ? { credentials: { accessKeyId: ses.accessKeyId, secretAccessKey: ses.secretAccessKey } }
              : {}),
            ...(ses.configurationSet ? { configurationSet: ses.configurationSet } : {}),
            from: settings.from,
            ...(settings.replyTo ? { replyTo: settings.replyTo } : {}),
            timeoutMs: config.PROVIDER_TIMEOUT_MS,
          }),
          `ses:${config.SES_ENDPOINT ?? ses.region}`,
        ),
      );
    }
    const fallback = config.EMAIL_PROVIDER ?? (config.SMTP_URL ? 'smtp' : 'sandbox');
    const from = settings?.from ?? config.EMAIL_FROM;
    if (fallback === 'smtp' && config.SMTP_URL) {
      const url = config.SMTP_URL;
      return cached(`smtp:env:${from}`, () =>
        guardedSend(
          createSmtpProvider({ url, from, timeoutMs: config.PROVIDER_TIMEOUT_MS }),
          `smtp:${new URL(url).host}`,
        ),
      );
    }
    if (fallback === 'ses') {
      return cached(`ses:env:${from}`, () =>
        guardedSend(
          createSesProvider({
            region: config.SES_REGION,
            ...(config.SES_ENDPOINT ? { endpoint: config.SES_ENDPOINT } : {}),
            from,
            timeoutMs: config.PROVIDER_TIMEOUT_MS,
          }),
          `ses:${config.SES_ENDPOINT ?? config.SES_REGION}`,
        ),
      );
    }
    // An explicit EMAIL_PROVIDER=sandbox (a staging stack) records to the outbox even in production.
    if (config.EMAIL_PROVIDER === 'sandbox') return outbox.communication;
    return unconfigured('email', outbox.communication) as CommunicationProvider;
  }

  function twilio(context: ActionContext): CommunicationProvider {
    const settings = context.settings?.twilio;
    if (!settings) return unconfigured('SMS/WhatsApp', outbox.communication) as CommunicationProvider;
    return cached(`twilio:${context.orgId}:${fingerprint(settings)}`, () =>
      guardedSend(
        createTwilioProvider({
          http,
          baseUrl: config.TWILIO_BASE_URL,
          settings,
          statusCallbackUrl: `${publicBaseUrl(config)}/v1/webhooks/${context.orgId}/twilio`,
        }),
        `twilio:${config.TWILIO_BASE_URL}`,
      ),
    );
  }

  return {
    communication(channel: Channel, context: ActionContext): CommunicationProvider {
      if (context.testMode) return testOutbox;
      return channel === 'email' ? email(context) : twilio(context);
    },

    integration(kind: 'meta' | 'stripe', context: ActionContext): IntegrationProvider {
      if (context.testMode) return testIntegration;
      if (kind === 'meta') {
        const settings = context.settings?.meta;
        if (!settings) return unconfigured('Meta', outbox.integration) as IntegrationProvider;
        return cached(`meta:${context.orgId}:${fingerprint(settings)}`, () =>
          guardedCall(
            createMetaProvider({
              http,
              baseUrl: config.META_GRAPH_BASE_URL,
              apiVersion: config.META_API_VERSION,
              settings,
            }),
            `meta:${config.META_GRAPH_BASE_URL}`,
          ),
        );
      }
      const settings = context.settings?.stripe;
      if (!settings) return unconfigured('Stripe', outbox.integration) as IntegrationProvider;
      return cached(`stripe:${context.orgId}:${fingerprint(settings)}`, () =>
        guardedCall(
          createStripeProvider({ http, baseUrl: config.STRIPE_BASE_URL, settings }),
          `stripe:${config.STRIPE_BASE_URL}`,
        ),
      );
    },

    /** The organization's CRM API behind its breaker, or undefined when it uses the built-in lead store. */
    crm(context: ActionContext): CrmApi | undefined {
      const settings = context.settings?.crm;
      if (!settings) return undefined;
      return cached(`crm:${context.orgId}:${fingerprint(settings)}`, () => {
        const api = createCrmApi({ http, settings });
        const breaker = { orgId: context.orgId, endpoint: `crm:${new URL(settings.baseUrl).origin}` };
        return {
          name: api.name,
          updateLead: (...args) => breakers.run(breaker, () => api.updateLead(...args)),
          addTag: (...args) => breakers.run(breaker, () => api.addTag(...args)),
          changeStatus: (...args) => breakers.run(breaker, () => api.changeStatus(...args)),
        } satisfies CrmApi;
      });
    },

    /** Where a test-mode webhook_call is recorded instead of sent. */
    sandbox: testIntegration,

    close(): void {
      for (const value of cache.values()) (value as Partial<ClosableProvider>).close?.();
      cache.clear();
    },
  };
}
export type ProviderRegistry = ReturnType<typeof createProviderRegistry>;
