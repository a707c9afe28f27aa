// send_email, send_sms, send_whatsapp: render the message, then hand it to the channel's provider.
import { NonRetryableError } from '../shared/errors.js';
import { render } from './templates.js';
import type {
  ActionContext,
  ActionHandler,
  Channel,
  CommunicationProvider,
  OutboundMessage,
} from './types.js';

export type ProviderFor = (channel: Channel, orgId: string) => CommunicationProvider;

function recipient(
  context: ActionContext,
  channel: Channel,
  explicit: string | undefined,
  nodeId: string,
): string {
  const scope = { lead: context.lead ?? {}, event: context.event, nodes: context.nodes };
  const to = explicit
    ? render(explicit, scope, `${nodeId}.params.to`)
    : String((channel === 'email' ? context.lead?.email : context.lead?.phone) ?? '');
  if (!to)
    throw new NonRetryableError(`${nodeId}: the lead has no ${channel === 'email' ? 'email' : 'phone'}`, {
      code: 'no_recipient',
    });
  return to;
}

export function createMessagingActions(providerFor: ProviderFor) {
  const send = async (
    channel: Channel,
    context: ActionContext,
    nodeId: string,
    message: Omit<OutboundMessage, keyof Base>,
  ) => {
    const provider = providerFor(channel, context.orgId);
    const receipt = await provider.send({
      ...message,
      channel,
      orgId: context.orgId,
      executionId: context.executionId,
      nodeId,
      idempotencyKey: context.idempotencyKey,
    });
    return {
      providerId: receipt.providerMessageId,
      output: {
        channel,
        to: message.to,
        provider: receipt.provider,
        messageId: receipt.providerMessageId,
        sandbox: receipt.sandbox,
      },
      ...(receipt.sandbox ? { note: 'sandbox: recorded in the outbox, not sent' } : {}),
    };
  };
  type Base = Pick<OutboundMessage, 'channel' | 'orgId' | 'executionId' | 'nodeId' | 'idempotencyKey'>;

  const scopeOf = (context: ActionContext) => ({
    lead: context.lead ?? {},
    event: context.event,
    nodes: context.nodes,
  });

  const sendEmail: ActionHandler<'send_email'> = async (node, context) => {
    const scope = scopeOf(context);
    return send('email', context, node.id, {
      to: recipient(context, 'email', node.params.to, node.id),
      subject: render(node.params.subject, scope, `${node.id}.params.subject`),
      body: render(node.params.body, scope, `${node.id}.params.body`),
      ...(node.params.html ? { html: render(node.params.html, scope, `${node.id}.params.html`) } : {}),
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
