// The trigger types, as plain constants: events import them without the whole definition schema.

/** Events that producers send and that can start a workflow. */
export const eventTriggerTypes = [
  'new_lead',
  'lead_updated',
  'lead_tagged',
  'form_submitted',
  'form_abandoned',
  'external_webhook',
  'api_event',
  'email_opened',
  'link_clicked',
  'sms_replied',
] as const;

/** Triggers fired by the scheduler rather than by an incoming event. */
export const timeTriggerTypes = ['scheduled', 'recurring', 'date_reached'] as const;
