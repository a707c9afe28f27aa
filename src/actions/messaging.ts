// send_email, send_sms, send_whatsapp: render the message, then hand it to the channel's provider.
import { NonRetryableError } from '../shared/errors.js';
import { composeEmail } from './email-content.js';
import type { Links } from './links.js';
import { render, renderHtml, TIME_ZONE_KEY, type TemplateScope } from './templates.js';
import type {
  ActionContext,
  ActionHandler,
  Channel,
  CommunicationProvider,
  OutboundMessage,
} from './types.js';

export type ProviderFor = (channel: Channel, context: ActionContext) => CommunicationProvider;

export interface MessagingDeps {
  providerFor: ProviderFor;
  /** Signs unsubscribe links; without it emails carry none. */
  links?: Links;
  /**
   * The open pixel and click redirect URLs of one message (src/tracking/tokens.ts `trackingUrls`); without it (no
   * TRACKING_SECRET) emails are not tracked.
   */
  tracking?: (claims: TrackingTarget) => { openPixel: string; click: (url: string) => string };
}

export interface TrackingTarget {
  orgId: string;
  executionId: string;
  leadId: string;
  nodeId: string;
}

export const scopeOf = (context: ActionContext): TemplateScope => ({
  lead: context.lead ?? {},
  event: context.event,
  nodes: context.nodes,
  [TIME_ZONE_KEY]: context.timeZone ?? 'UTC',
});

/** The message's recipient: the node's `to` (a template), else the lead's email or phone. */
export function recipient(
  context: ActionContext,
  channel: Channel,
  explicit: string | undefined,
  nodeId: string,
): string {
  const to = explicit
    ? render(explicit, scopeOf(context), `${nodeId}.params.to`)
    : String((channel === 'email' ? context.lead?.email : context.lead?.phone) ?? '');
  if (!to)
    throw new NonRetryableError(`${nodeId}: the lead has no ${channel === 'email' ? 'email' : 'phone'}`, {
      code: 'no_recipient',
    });
  return to;
}

type Base = Pick<OutboundMessage, 'channel' | 'orgId' | 'executionId' | 'nodeId' | 'idempotencyKey'>;

export function createMessagingActions({ providerFor, links, tracking }: MessagingDeps) {
  const send = async (
    channel: Channel,
    context: ActionContext,
    nodeId: string,
    message: Omit<OutboundMessage, keyof Base>,
  ) => {
    const provider = providerFor(channel, context);
    const receipt = await provider.send({
      ...message,
      channel,
      orgId: context.orgId,
      executionId: context.executionId,
      nodeId,
      idempotencyKey: context.idempotencyKey,
      ...(context.lead ? { leadId: context.lead.id } : {}),
    });
    const note = !receipt.sandbox
      ? undefined
      : context.testMode
        ? 'test mode: recorded in the sandbox outbox, not sent'
        : 'sandbox: recorded in the outbox, not sent';
    return {
      providerId: receipt.providerMessageId,
      output: {
        channel,
        to: message.to,
        provider: receipt.provider,
        messageId: receipt.providerMessageId,
        sandbox: receipt.sandbox,
        ...(context.testMode ? { testMode: true } : {}),
      },
      ...(note ? { note } : {}),
    };
  };

  const sendEmail: ActionHandler<'send_email'> = async (node, context) => {
    const to = recipient(context, 'email', node.params.to, node.id);
    const settings = context.settings?.email;
    const leadId = context.lead?.id;
    const unsubscribeUrl = links?.url('unsubscribe', {
      orgId: context.orgId,
      address: to,
      channel: 'email',
      ...(leadId ? { leadId } : {}),
    });
    const scope = { ...scopeOf(context), unsubscribe_url: unsubscribeUrl ?? '' };
    const subject = render(node.params.subject, scope, `${node.id}.params.subject`);
    const text = render(node.params.body, scope, `${node.id}.params.body`);
    const html = node.params.html ? renderHtml(node.params.html, scope, `${node.id}.params.html`) : undefined;
    // Tracking tokens name the lead their events belong to, so a message without a lead is not tracked.
    const urls =
      tracking && leadId && settings?.tracking
        ? tracking({ orgId: context.orgId, executionId: context.executionId, leadId, nodeId: node.id })
        : undefined;
    const content = composeEmail({
      subject,
      text,
      ...(html !== undefined ? { html } : {}),
      ...(unsubscribeUrl ? { unsubscribeUrl } : {}),
      ...(settings?.unsubscribeMailto ? { unsubscribeMailto: settings.unsubscribeMailto } : {}),
      ...(urls && settings?.tracking
        ? {
            tracking: {
              ...(settings.tracking.opens ? { openUrl: urls.openPixel } : {}),
              ...(settings.tracking.clicks ? { clickUrl: urls.click } : {}),
            },
          }
        : {}),
    });
    return send('email', context, node.id, {
      to,
      subject: content.subject,
      body: content.text,
      html: content.html,
      headers: content.headers,
      ...(node.params.from ? { from: node.params.from } : {}),
    });
  };

  const sendSms: ActionHandler<'send_sms'> = async (node, context) =>
    send('sms', context, node.id, {
      to: recipient(context, 'sms', node.params.to, node.id),
      body: render(node.params.body, scopeOf(context), `${node.id}.params.body`),
    });

  const sendWhatsapp: ActionHandler<'send_whatsapp'> = async (node, context) =>
    send('whatsapp', context, node.id, {
      to: recipient(context, 'whatsapp', node.params.to, node.id),
      ...(node.params.body
        ? { body: render(node.params.body, scopeOf(context), `${node.id}.params.body`) }
        : {}),
      ...(node.params.templateName ? { templateName: node.params.templateName } : {}),
    });

  return { send_email: sendEmail, send_sms: sendSms, send_whatsapp: sendWhatsapp };
}
