// sync_to_meta (Conversions API) and create_stripe_customer, through the organization's integration providers.
import type { LeadStore } from '../leads/store.js';
import { NonRetryableError } from '../shared/errors.js';
import type { CrmApi } from './providers/crm.js';
import { metaUserData } from './providers/meta-user-data.js';
import type {
  ActionContext,
  ActionHandler,
  ActionResult,
  IntegrationProvider,
  IntegrationResult,
} from './types.js';

export interface IntegrationDeps {
  providerFor(kind: 'meta' | 'stripe', context: ActionContext): IntegrationProvider;
  /** The organization's CRM API, when it has one: the Stripe customer id is written there too. */
  crmFor?(context: ActionContext): CrmApi | undefined;
  leads: Pick<LeadStore, 'setFields'>;
  now?: () => number;
}

/** The lead field that holds the Stripe customer id written back by create_stripe_customer. */
export const STRIPE_CUSTOMER_FIELD = 'stripeCustomerId';

/** An integration call as the step records it: the provider's id under `idField`, its response, and where it went. */
function integrationResult(
  result: IntegrationResult,
  context: ActionContext,
  idField: 'eventId' | 'customerId',
): ActionResult {
  return {
    providerId: result.providerId,
    output: {
      [idField]: result.providerId,
      sandbox: result.sandbox,
      ...result.response,
      ...(context.testMode ? { testMode: true } : {}),
    },
    ...(result.sandbox
      ? {
          note: context.testMode
            ? 'test mode: recorded in the sandbox outbox, not sent'
            : 'sandbox: recorded in the outbox, not sent',
        }
      : {}),
  };
}

export function createIntegrationActions({ providerFor, crmFor, leads, now = Date.now }: IntegrationDeps) {
  const syncToMeta: ActionHandler<'sync_to_meta'> = async (node, context) => {
    const customData = {
      ...(node.params.value !== undefined ? { value: node.params.value } : {}),
      ...(node.params.currency ? { currency: node.params.currency.toUpperCase() } : {}),
    };
    const result = await providerFor('meta', context).call({
      kind: 'meta_event',
      orgId: context.orgId,
      executionId: context.executionId,
      nodeId: node.id,
      idempotencyKey: context.idempotencyKey,
      payload: {
        eventName: node.params.eventName,
        eventTime: Math.floor(now() / 1000),
        userData: metaUserData(context.lead),
        customData,
      },
    });
    return integrationResult(result, context, 'eventId');
  };

  const createStripeCustomer: ActionHandler<'create_stripe_customer'> = async (node, context) => {
    const lead = context.lead;
    if (!lead)
      throw new NonRetryableError(`${node.id}: this execution has no lead to create a customer for`, {
        code: 'no_lead',
      });
    const existing = lead[STRIPE_CUSTOMER_FIELD];
    if (typeof existing === 'string' && existing.startsWith('cus_')) {
      return {
        providerId: existing,
        output: { customerId: existing, existing: true },
        note: 'the lead already has a Stripe customer; none created',
      };
    }
    const name = [lead.firstName, lead.lastName].filter((part) => typeof part === 'string' && part).join(' ');
    const result = await providerFor('stripe', context).call({
      kind: 'stripe_customer',
      orgId: context.orgId,
      executionId: context.executionId,
      nodeId: node.id,
      idempotencyKey: context.idempotencyKey,
      payload: {
        email: lead.email,
        name: name || undefined,
        phone: lead.phone,
        description: node.params.description,
        metadata: { ...node.params.metadata, atlas_lead_id: lead.id },
      },
    });
    if (!result.sandbox) {
      await crmFor?.(context)?.updateLead(
        lead.id,
        { [STRIPE_CUSTOMER_FIELD]: result.providerId },
        `${context.idempotencyKey}:stripe-customer`,
      );
      await leads.setFields(context.orgId, lead.id, { [STRIPE_CUSTOMER_FIELD]: result.providerId });
      lead[STRIPE_CUSTOMER_FIELD] = result.providerId;
    }
    return integrationResult(result, context, 'customerId');
  };

  return { sync_to_meta: syncToMeta, create_stripe_customer: createStripeCustomer };
}
