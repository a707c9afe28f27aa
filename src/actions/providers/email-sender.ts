// The sender of an email, resolved the same way by every email provider (SMTP, SES).
import { NonRetryableError } from '../../shared/errors.js';
import type { OutboundMessage } from '../types.js';

/**
 * The message's own `from`, else the provider's configured sender. Without either no send can succeed, so the step
 * fails at once (`provider_not_configured`) rather than retrying.
 */
export function emailSender(
  provider: string,
  message: Pick<OutboundMessage, 'from'>,
  configured: string | undefined,
): string {
  const from = message.from ?? configured;
  if (!from)
    throw new NonRetryableError(`${provider}: no sender address is configured`, {
      code: 'provider_not_configured',
    });
  return from;
}
