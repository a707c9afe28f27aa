// Queue priorities. BullMQ takes jobs without a priority (the wait list) before any prioritized job, and lower
// numbers before higher ones, so a live new lead is never stuck behind a 50,000-member birthday sweep.
import type { Priority, TriggerType } from '../workflows/schema.js';

const levels: Record<Priority, number | undefined> = { high: undefined, normal: 5, low: 10 };

const timeTriggers = new Set<string>(['scheduled', 'recurring', 'date_reached']);

/** The default priority of work caused by an event type: replies and new leads first, sweeps last. */
export function defaultPriority(eventType: string): Priority {
  if (eventType === 'new_lead' || eventType === 'sms_replied') return 'high';
  return timeTriggers.has(eventType) ? 'low' : 'normal';
}

/** The BullMQ priority for a workflow's jobs: its own setting, else its trigger's default. */
export function jobPriority(trigger: TriggerType | string, setting?: Priority): number | undefined {
  return levels[setting ?? defaultPriority(trigger)];
}

export const isTimeTrigger = (eventType: string) => timeTriggers.has(eventType);
