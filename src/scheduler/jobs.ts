// Payloads of the `scheduled` queue, parsed with zod when the scheduler picks them up.
import { z } from 'zod';

export const TimeTriggerJob = z.strictObject({
  orgId: z.string().min(1),
  workflowId: z.string().min(1),
  triggerNodeId: z.string().min(1),
});

export const FormCheck = z.strictObject({
  orgId: z.string().min(1),
  leadId: z.string().min(1),
  formId: z.string().min(1),
  startedEventId: z.string().min(1),
});
