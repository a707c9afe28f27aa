// Email over SMTP with nodemailer (pooled connections). SMTP 5xx replies are permanent, 4xx and network errors retry.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { OrgSettings } from '../../orgs/settings.js';
import { stableId } from '../../shared/ids.js';
import { AtlasError, NonRetryableError, RetryableError } from '../../shared/errors.js';
import type { AddressPolicy } from '../net-guard.js';
import type { CommunicationProvider } from '../types.js';
import { emailSender } from './email-sender.js';

export type SmtpSettings = NonNullable<NonNullable<OrgSettings['email']>['smtp']>;

export interface SmtpProviderOptions {
  /** `smtp://user:pass@host:587` or `smtps://…:465` (SMTP_URL); or `settings`. */
  url?: string;
  settings?: SmtpSettings;
  from: string | undefined;
  replyTo?: string;
  timeoutMs: number;
  /** For a host an organization chose: refuse private addresses unless allowlisted, checked after DNS. */
  policy?: AddressPolicy;
}

export interface ClosableProvider extends CommunicationProvider {
  close(): void;
}

function connectionOptions(options: SmtpProviderOptions) {
  if (options.url) {
    const url = new URL(options.url);
    return {
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 587)),
      secure: url.protocol === 'smtps:',
      user: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
    };
  }
  if (!options.settings)
    throw new NonRetryableError('smtp: no server is configured', { code: 'provider_not_configured' });
  return options.settings;
}

/** The address to connect to: the host itself, or for a guarded host an address the policy admits. */
async function permittedHost(host: string, policy: AddressPolicy | undefined): Promise<string> {
  if (!policy || policy.hostAllowed(host)) return host;
  const addresses = isIP(host) ? [{ address: host }] : await lookup(host, { all: true });
  const allowed = addresses.find((entry) => policy.refusal(entry.address) === undefined);
  if (!allowed) {
    const reason = policy.refusal(addresses[0]?.address ?? '') ?? 'no address';
    throw new NonRetryableError(`smtp refused ${host}: ${reason}`, { code: 'address_refused' });
  }
  return allowed.address;
}

/** SMTP reply codes and nodemailer error codes as engine errors, keeping the server's reply. */
export function smtpError(error: unknown): AtlasError {
  if (error instanceof AtlasError) return error;
  const e = error as { responseCode?: number; response?: string; code?: string; message?: string };
  const said = e.response ?? e.message ?? String(error);
  if (e.responseCode && e.responseCode >= 500) {
    return new NonRetryableError(`smtp answered ${e.responseCode}: ${said}`, {
      code: `smtp_${e.responseCode}`,
      cause: error,
    });
  }
  if (e.responseCode && e.responseCode >= 400) {
    return new RetryableError(`smtp answered ${e.responseCode}: ${said}`, {
      code: `smtp_${e.responseCode}`,
      cause: error,
    });
  }
  if (e.code === 'EAUTH' || e.code === 'EENVELOPE' || e.code === 'EMESSAGE') {
    return new NonRetryableError(`smtp: ${said}`, { code: `smtp_${e.code.toLowerCase()}`, cause: error });
  }
  return new RetryableError(`smtp: ${said}`, {
    code: e.code === 'ETIMEDOUT' ? 'timeout' : (e.code?.toLowerCase() ?? 'network_error'),
    cause: error,
  });
}

export function createSmtpProvider(options: SmtpProviderOptions): ClosableProvider {
  let transport: Promise<Transporter<SMTPPool.SentMessageInfo>> | undefined;

  const open = async () => {
    const server = connectionOptions(options);
    const address = await permittedHost(server.host, options.policy);
    return nodemailer.createTransport({
      pool: true,
      maxConnections: 5,
      host: address,
      port: server.port,
      secure: server.secure,
      ...(address !== server.host ? { tls: { servername: server.host } } : {}),
      ...(server.user ? { auth: { user: server.user, pass: server.password ?? '' } } : {}),
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  };

  return {
    name: 'smtp',
    async send(message) {
      const from = emailSender('smtp', message, options.from);
      try {
        transport ??= open().catch((error: unknown) => {
          transport = undefined;
          throw error;
        });
        const info = await (
          await transport
        ).sendMail({
          from,
          to: message.to,
          ...(message.replyTo || options.replyTo ? { replyTo: message.replyTo ?? options.replyTo } : {}),
          subject: message.subject ?? '',
          text: message.body ?? '',
          ...(message.html ? { html: message.html } : {}),
          headers: message.headers ?? {},
          // Derived from the step, so a receiving server sees a resend of the same step as the same message.
          messageId: `<${stableId(message.idempotencyKey)}@atlas-automations>`,
        });
        return { providerMessageId: info.messageId, provider: 'smtp', sandbox: false };
      } catch (error) {
        throw smtpError(error);
      }
    },
    close() {
      void transport?.then((t) => t.close()).catch(() => undefined);
    },
  };
}
