// What every action receives and returns, and the provider interfaces real integrations implement.
import type { Lead, LeadWrites } from '../leads/store.js';
import type { OrgSettings } from '../orgs/settings.js';
import type { NodeOf, NodeType } from '../workflows/schema.js';

export interface ActionContext {
  orgId: string;
  executionId: string;
  workflowId: string;
  version: number;
  lead: Lead | undefined;
  event: Record<string, unknown>;
  /** Outputs of the nodes that ran before, by node id. */
  nodes: Record<string, unknown>;
  /** `executionId:nodeId:iteration`: the same for every retry of this step, passed to providers that dedupe. */
  idempotencyKey: string;
  attempt: number;
  /**
   * The step's field in the execution's effect ledger (`<nodeId>.<iteration>[.<arm>…]`), set by the node runner;
   * the action guard claims it before calling a provider.
   */
  effectKey?: string;
  /**
   * Set by the node runner when the execution has a lead: the built-in lead store's writes of this run, sent in one
   * round trip before the run's steps are committed (CRM actions write here, not to the store directly).
   */
  leadWrites?: LeadWrites;
  /** Set by the action guard: communication and integration effects go to the sandbox outbox. */
  testMode?: boolean;
  /** Set by the action guard: the organization's provider settings, secrets in clear. */
  settings?: OrgSettings;
  /** Set by the action guard: the organization's time zone, for date filters when the lead has none. */
  timeZone?: string;
}

export interface ActionResult {
  output?: unknown;
  /** Edge label to follow (branch and split). */
  edge?: string;
  /** The provider's id for the effect (message id, customer id). */
  providerId?: string;
  note?: string;
  /** The step did nothing on purpose (an opted-out lead); recorded with status `skipped`. */
  skipped?: boolean;
  /** The effect went to the sandbox outbox because the organization, workflow or execution is in test mode. */
  testMode?: boolean;
}

export type ActionHandler<T extends NodeType> = (
  node: NodeOf<T>,
  context: ActionContext,
) => Promise<ActionResult>;

export type Channel = 'email' | 'sms' | 'whatsapp';

export interface OutboundMessage {
  channel: Channel;
  to: string;
  from?: string;
  subject?: string;
  body?: string;
  html?: string;
  templateName?: string;
  /** Extra headers (email: List-Unsubscribe, List-Unsubscribe-Post). */
  headers?: Record<string, string>;
  replyTo?: string;
  leadId?: string;
  orgId: string;
  executionId: string;
  nodeId: string;
  idempotencyKey: string;
  /** Recorded by the sandbox when it stands in for a provider in test mode. */
  testMode?: boolean;
}

export interface SendReceipt {
  providerMessageId: string;
  provider: string;
  /** True when the message went to the sandbox outbox rather than a real provider. */
  sandbox: boolean;
}

/**
 * A channel's delivery provider (SMTP or SES for email, Twilio for SMS and WhatsApp). Implementations throw
 * NonRetryableError for a rejected request, RetryAfterError for 429, RetryableError for 5xx and network failures.
 */
export interface CommunicationProvider {
  readonly name: string;
  send(message: OutboundMessage): Promise<SendReceipt>;
}

export interface IntegrationRequest {
  kind: 'meta_event' | 'stripe_customer' | 'webhook_call';
  orgId: string;
  executionId: string;
  nodeId: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
  testMode?: boolean;
}

export interface IntegrationResult {
  providerId: string;
  sandbox: boolean;
  /** What the provider answered that the workflow may use (`nodes.<id>.*`). */
  response?: Record<string, unknown>;
}

/** An outside system the engine writes to (Meta Conversions API, Stripe). Same error contract as above. */
export interface IntegrationProvider {
  readonly name: string;
  call(request: IntegrationRequest): Promise<IntegrationResult>;
}
