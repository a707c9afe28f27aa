// Helpers to create, publish and run workflows through the API in integration tests.
import { eventually, type Harness } from './harness.js';

export async function publishWorkflow(h: Harness, apiKey: string, definition: unknown): Promise<string> {
  const created = await h.call('POST', '/v1/workflows', definition, apiKey);
  if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
  const published = await h.call('POST', `/v1/workflows/${created.body.id}/publish`, undefined, apiKey);
  if (published.status !== 200) throw new Error(`publish failed: ${JSON.stringify(published.body)}`);
  return created.body.id as string;
}

export async function executionsOf(h: Harness, apiKey: string, workflowId: string): Promise<any[]> {
  const response = await h.call('GET', `/v1/workflows/${workflowId}/executions`, undefined, apiKey);
  return response.body.executions;
}

/** Waits for the workflow's first execution to reach one of `statuses`, and returns it with its steps. */
export async function settledExecution(
  h: Harness,
  apiKey: string,
  workflowId: string,
  statuses: string[] = ['completed'],
  timeoutMs = 15_000,
): Promise<any> {
  return eventually(
    async () => {
      const [first] = await executionsOf(h, apiKey, workflowId);
      if (!first) return undefined;
      const response = await h.call('GET', `/v1/executions/${first.id}`, undefined, apiKey);
      return statuses.includes(response.body.status) ? response.body : undefined;
    },
    timeoutMs,
    `execution of ${workflowId} to be ${statuses.join('/')}`,
  );
}

export const trigger = (event = 'new_lead') => ({ id: 'start', type: 'trigger', event });
export const chain = (...ids: string[]) => ids.slice(1).map((to, i) => ({ from: ids[i]!, to }));

/** A workflow that tags each new lead with `tag`. */
export const tagging = (tag: string) => ({
  name: `Tag ${tag}`,
  nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag } }],
  edges: chain('start', 'tag'),
});

/** Waits until the workflow has refused `count` starts (its `skipped` counter), e.g. by its enrolment rule. */
export async function refusedStarts(h: Harness, orgId: string, workflowId: string, count = 1): Promise<void> {
  await eventually(
    async () =>
      Number(await h.engine.redis.hget(h.engine.keys.stats(orgId), `${workflowId}:skipped`)) === count
        ? true
        : undefined,
    10_000,
    `${count} refused start(s) of ${workflowId}`,
  );
}
