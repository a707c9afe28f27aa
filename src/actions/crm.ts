// CRM updates: update_lead, add_tag, change_status. The built-in lead store always; the organization's CRM API first
// when it configures one. Each write is idempotent by nature and carries the step's idempotency key. The store's
// writes go to the run's batch (`context.leadWrites`), which the node runner sends before it commits the steps.
import { NonRetryableError } from '../shared/errors.js';
import { scopeOf } from './messaging.js';
import type { CrmApi } from './providers/crm.js';
import { render } from './templates.js';
import type { ActionContext, ActionHandler } from './types.js';

function requireLead(context: ActionContext, nodeId: string) {
  if (!context.lead)
    throw new NonRetryableError(`${nodeId}: this execution has no lead to update`, { code: 'no_lead' });
  if (!context.leadWrites)
    throw new Error(`${nodeId}: CRM actions run in the node runner, which batches their writes`);
  return { lead: context.lead, writes: context.leadWrites };
}

export interface CrmDeps {
  /** The organization's CRM API, or undefined when it uses the built-in store only. */
  crmFor?(context: ActionContext): CrmApi | undefined;
}

export function createCrmActions({ crmFor }: CrmDeps) {
  const via = (context: ActionContext) => crmFor?.(context);

  const updateLead: ActionHandler<'update_lead'> = async (node, context) => {
    const { lead, writes } = requireLead(context, node.id);
    const scope = scopeOf(context);
    const fields = Object.fromEntries(
      Object.entries(node.params.fields).map(([name, value]) => [
        name,
        typeof value === 'string' ? render(value, scope, `${node.id}.params.fields.${name}`) : value,
      ]),
    );
    const crm = via(context);
    await crm?.updateLead(lead.id, fields, context.idempotencyKey);
    writes.setFields(fields);
    Object.assign(lead, fields);
    return { output: { updated: Object.keys(fields), ...(crm ? { crm: true } : {}) } };
  };

  const addTag: ActionHandler<'add_tag'> = async (node, context) => {
    const { lead, writes } = requireLead(context, node.id);
    const crm = via(context);
    await crm?.addTag(lead.id, node.params.tag, context.idempotencyKey);
    writes.addTag(node.params.tag);
    // Whether the lead lacked the tag as this run read it (the store's own set is written at the batch's flush).
    const added = !lead.tags.includes(node.params.tag);
    if (added) lead.tags = [...lead.tags, node.params.tag].sort();
    return { output: { tag: node.params.tag, added, ...(crm ? { crm: true } : {}) } };
  };

  const changeStatus: ActionHandler<'change_status'> = async (node, context) => {
    const { lead, writes } = requireLead(context, node.id);
    const previous = lead.status ?? null;
    const crm = via(context);
    await crm?.changeStatus(lead.id, node.params.status, context.idempotencyKey);
    writes.setFields({ status: node.params.status });
    lead.status = node.params.status;
    return { output: { status: node.params.status, previous, ...(crm ? { crm: true } : {}) } };
  };

  return { update_lead: updateLead, add_tag: addTag, change_status: changeStatus };
}
