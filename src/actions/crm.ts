// CRM updates on the built-in lead store: update_lead, add_tag, change_status. Each is idempotent by nature.
import type { LeadStore } from '../leads/store.js';
import { NonRetryableError } from '../shared/errors.js';
import { render } from './templates.js';
import type { ActionContext, ActionHandler } from './types.js';

function requireLead(context: ActionContext, nodeId: string) {
  if (!context.lead)
    throw new NonRetryableError(`${nodeId}: this execution has no lead to update`, { code: 'no_lead' });
  return context.lead;
}

export function createCrmActions(leads: LeadStore) {
  const updateLead: ActionHandler<'update_lead'> = async (node, context) => {
    const lead = requireLead(context, node.id);
    const scope = { lead, event: context.event, nodes: context.nodes };
    const fields = Object.fromEntries(
      Object.entries(node.params.fields).map(([name, value]) => [
        name,
        typeof value === 'string' ? render(value, scope, `${node.id}.params.fields.${name}`) : value,
      ]),
    );
    await leads.setFields(context.orgId, lead.id, fields);
    Object.assign(lead, fields);
    return { output: { updated: Object.keys(fields) } };
  };

  const addTag: ActionHandler<'add_tag'> = async (node, context) => {
    const lead = requireLead(context, node.id);
    const added = await leads.addTag(context.orgId, lead.id, node.params.tag);
    if (!lead.tags.includes(node.params.tag)) lead.tags = [...lead.tags, node.params.tag].sort();
    return { output: { tag: node.params.tag, added } };
  };

  const changeStatus: ActionHandler<'change_status'> = async (node, context) => {
    const lead = requireLead(context, node.id);
    const previous = lead.status ?? null;
    await leads.setFields(context.orgId, lead.id, { status: node.params.status });
    lead.status = node.params.status;
    return { output: { status: node.params.status, previous } };
  };

  return { update_lead: updateLead, add_tag: addTag, change_status: changeStatus };
}
