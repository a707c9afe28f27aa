// Email through Amazon SES v2 (SendEmail with Simple content: subject, text and HTML parts, custom headers).
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { OrgSettings } from '../../orgs/settings.js';
import { AtlasError, NonRetryableError, RetryableError, RetryAfterError } from '../../shared/errors.js';
import { DEFAULT_RETRY_AFTER_MS } from '../http-client.js';
import { emailSender } from './email-sender.js';
import type { ClosableProvider } from './smtp.js';

export type SesSettings = NonNullable<NonNullable<OrgSettings['email']>['ses']>;

export interface SesProviderOptions {
  region: string;
  /** SES_ENDPOINT: a VPC endpoint, or a local fake in tests. */
  endpoint?: string;
  /** Keys of the organization's own AWS account; else the default credential chain (the task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  configurationSet?: string;
  from: string | undefined;
  replyTo?: string;
  timeoutMs: number;
}

const throttling = new Set(['TooManyRequestsException', 'ThrottlingException', 'LimitExceededException']);

/** SES errors as engine errors: throttling waits, client faults (a rejected message, bad keys) give up, the rest retry. */
export function sesError(error: unknown): AtlasError {
  if (error instanceof AtlasError) return error;
  const e = error as {
    name?: string;
    message?: string;
    $fault?: 'client' | 'server';
    $metadata?: { httpStatusCode?: number };
    code?: string;
  };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const message = `ses${status ? ` answered ${status}` : ''}: ${name}: ${e.message ?? ''}`.trim();
  const context = { provider: 'ses', status, providerCode: name };
  if (status === 429 || throttling.has(name)) {
    return new RetryAfterError(message, DEFAULT_RETRY_AFTER_MS, {
      code: 'rate_limited',
      context,
      cause: error,
    });
  }
  if (status === undefined) {
    return new RetryableError(message, {
      code: e.name === 'TimeoutError' || e.code === 'ETIMEDOUT' ? 'timeout' : (e.code ?? 'network_error'),
      context,
      cause: error,
    });
  }
  if (status >= 400 && status < 500 && status !== 408) {
    return new NonRetryableError(message, { code: `ses_${name}`, context, cause: error });
  }
  return new RetryableError(message, { code: `ses_${name}`, context, cause: error });
}

export function createSesProvider(options: SesProviderOptions): ClosableProvider {
  const client = new SESv2Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    // The engine owns retries (with the step's attempts, breaker and ledger); the SDK makes one attempt.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: options.timeoutMs, requestTimeout: options.timeoutMs },
  });

  return {
    name: 'ses',
    async send(message) {
      const from = emailSender('ses', message, options.from);
      const replyTo = message.replyTo ?? options.replyTo;
      const command = new SendEmailCommand({
        FromEmailAddress: from,
        Destination: { ToAddresses: [message.to] },
        ...(replyTo ? { ReplyToAddresses: [replyTo] } : {}),
        Content: {
          Simple: {
            Subject: { Data: message.subject ?? '', Charset: 'UTF-8' },
            Body: {
              Text: { Data: message.body ?? '', Charset: 'UTF-8' },
              ...(message.html ? { Html: { Data: message.html, Charset: 'UTF-8' } } : {}),
            },
            Headers: Object.entries(message.headers ?? {}).map(([Name, Value]) => ({ Name, Value })),
          },
        },
        ...(options.configurationSet ? { ConfigurationSetName: options.configurationSet } : {}),
        EmailTags: [
          { Name: 'atlas-execution', Value: message.executionId.replace(/[^A-Za-z0-9_-]/g, '_') },
          { Name: 'atlas-node', Value: message.nodeId },
        ],
      });
      try {
        const answer = await client.send(command);
        if (!answer.MessageId)
          throw new RetryableError('ses answered without a MessageId', { code: 'ses_no_message_id' });
        return { providerMessageId: answer.MessageId, provider: 'ses', sandbox: false };
      } catch (error) {
        throw sesError(error);
      }
    },
    close() {
      client.destroy();
    },
  };
}
