// sync_to_meta and create_stripe_customer through an integration provider (the sandbox outbox until one is configured).
import type { ActionHandler, IntegrationProvider } from './types.js';

export function createIntegrationActions(
  providerFor: (kind: 'meta' | 'stripe', orgId: string) => IntegrationProvider,
) {
  const syncToMeta: ActionHandler<'sync_to_meta'> = async (node, context) => {
    const result = await providerFor('meta', context.orgId).call({
      kind: 'meta_event',
      orgId: context.orgId,
      executionId: context.executionId,
      nodeId: node.id,
      idempotencyKey: context.idempotencyKey,
      payload: {
        eventName: node.params.eventName,
        value: node.params.value,
        currency: node.params.currency,
        leadId: context.lead?.id,
      },
    });
    return { providerId: result.providerId, output: { eventId: result.providerId, sandbox: result.sandbox } };
  };

  const createStripeCustomer: ActionHandler<'create_stripe_customer'> = async (node, context) => {
    const result = await providerFor('stripe', context.orgId).call({
      kind: 'stripe_customer',
      orgId: context.orgId,
      executionId: context.executionId,
      nodeId: node.id,
      idempotencyKey: context.idempotencyKey,
      payload: {
        email: context.lead?.email,
        description: node.params.description,
        metadata: node.params.metadata,
      },
    });
    return {
      providerId: result.providerId,
      output: { customerId: result.providerId, sandbox: result.sandbox },
    };
  };

  return { sync_to_meta: syncToMeta, create_stripe_customer: createStripeCustomer };
}
