import { describe, expect, it } from 'vitest';
import { matchTriggers, type PublishedWorkflow } from '../../src/triggers/match.js';
import type { Condition } from '../../src/triggers/condition-schema.js';
import { compiled, edge, node } from './builders.js';

const fromInstagram: Condition = { field: 'lead.source', op: 'eq', value: 'instagram' };
const trialForm: Condition = { field: 'event.data.formId', op: 'eq', value: 'trial' };

/** A published workflow whose triggers all lead to one tag node. */
function published(
  workflowId: string,
  triggers: { id: string; event: string; filter?: Condition }[],
  version = 1,
): PublishedWorkflow {
  const nodes = [...triggers.map((t) => node.trigger(t.id, t.event, t.filter)), node.tag('done')];
  const edges = triggers.map((t) => edge(t.id, 'done'));
  return { workflowId, version, compiled: compiled(nodes, edges) };
}

describe('matchTriggers', () => {
  it('matches workflows whose trigger listens for the event type', () => {
    // Arrange
    const workflows = [
      published('welcome', [{ id: 'start', event: 'new_lead' }], 3),
      published('forms', [{ id: 'start', event: 'form_submitted' }]),
    ];

    // Act
    const matches = matchTriggers(workflows, 'new_lead', { event: { type: 'new_lead' }, lead: {} });

    // Assert
    expect(matches).toEqual([{ workflowId: 'welcome', version: 3, triggerNodeId: 'start' }]);
  });

  it('matches nothing for an event type no trigger listens for', () => {
    // Arrange
    const workflows = [published('welcome', [{ id: 'start', event: 'new_lead' }])];

    // Act + Assert
    expect(matchTriggers(workflows, 'sms_replied', { lead: {} })).toEqual([]);
    expect(matchTriggers([], 'new_lead', { lead: {} })).toEqual([]);
  });

  it('applies the trigger filter to the lead and the event', () => {
    // Arrange
    const workflows = [
      published('instagram', [{ id: 'start', event: 'new_lead', filter: fromInstagram }]),
      published('trial', [{ id: 'start', event: 'new_lead', filter: trialForm }]),
    ];

    // Act
    const instagramLead = matchTriggers(workflows, 'new_lead', {
      lead: { source: 'Instagram' },
      event: { data: { formId: 'contact' } },
    });
    const trialLead = matchTriggers(workflows, 'new_lead', {
      lead: { source: 'facebook' },
      event: { data: { formId: 'trial' } },
    });

    // Assert
    expect(instagramLead.map((m) => m.workflowId)).toEqual(['instagram']);
    expect(trialLead.map((m) => m.workflowId)).toEqual(['trial']);
  });

  it('does not throw and does not match when the filtered fields are missing', () => {
    // Arrange
    const workflows = [published('instagram', [{ id: 'start', event: 'new_lead', filter: fromInstagram }])];

    // Act
    const matches = matchTriggers(workflows, 'new_lead', {});

    // Assert
    expect(matches).toEqual([]);
  });

  it('starts a workflow with two matching triggers once, from the first in definition order', () => {
    // Arrange
    const workflows = [
      published('double', [
        { id: 'anyLead', event: 'new_lead' },
        { id: 'instagramLead', event: 'new_lead', filter: fromInstagram },
      ]),
    ];

    // Act
    const matches = matchTriggers(workflows, 'new_lead', { lead: { source: 'instagram' } });

    // Assert
    expect(matches).toEqual([{ workflowId: 'double', version: 1, triggerNodeId: 'anyLead' }]);
  });

  it('uses a later trigger when an earlier one of the same workflow does not match', () => {
    // Arrange
    const workflows = [
      published('double', [
        { id: 'trialLead', event: 'new_lead', filter: trialForm },
        { id: 'formSent', event: 'form_submitted' },
        { id: 'instagramLead', event: 'new_lead', filter: fromInstagram },
      ]),
    ];

    // Act
    const matches = matchTriggers(workflows, 'new_lead', { lead: { source: 'instagram' }, event: {} });

    // Assert
    expect(matches).toEqual([{ workflowId: 'double', version: 1, triggerNodeId: 'instagramLead' }]);
  });

  it('returns one match per matching workflow, in the order given', () => {
    // Arrange
    const workflows = [
      published('b', [{ id: 'start', event: 'lead_tagged' }], 2),
      published('a', [{ id: 'begin', event: 'lead_tagged' }], 7),
      published('c', [{ id: 'start', event: 'lead_updated' }]),
    ];

    // Act
    const matches = matchTriggers(workflows, 'lead_tagged', { lead: {} });

    // Assert
    expect(matches).toEqual([
      { workflowId: 'b', version: 2, triggerNodeId: 'start' },
      { workflowId: 'a', version: 7, triggerNodeId: 'begin' },
    ]);
  });
});
