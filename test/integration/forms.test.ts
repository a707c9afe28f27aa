import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_CHECK_JOB } from '../../src/queue/schedules.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, executionsOf, publishWorkflow } from '../support/workflows.js';

describe('derived form_abandoned', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { SCHEDULER_SYNC_MS: '600000' } });
    await h.engine.startScheduler();
  });
  afterAll(() => h.close());

  async function setup() {
    const { apiKey } = await h.createOrg('Forms', { formAbandonMinutes: 30 });
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Come back',
      settings: { enrollment: 'always' },
      nodes: [
        { id: 'start', type: 'trigger', event: 'form_abandoned' },
        { id: 'tag', type: 'add_tag', params: { tag: 'abandoned' } },
      ],
      edges: chain('start', 'tag'),
    });
    return { apiKey, workflowId };
  }

  /** The pending abandonment check of a lead's form, brought forward as if its 30 minutes had passed. */
  async function fireCheck(): Promise<boolean> {
    const delayed = await h.engine.queues.scheduled.getDelayed();
    const check = delayed.find((job) => job.name === FORM_CHECK_JOB);
    if (!check) return false;
    await check.promote();
    return true;
  }

  it('emits form_abandoned when a started form is not submitted within the window', async () => {
    const { apiKey, workflowId } = await setup();
    await h.call(
      'POST',
      '/v1/events',
      { id: 's1', type: 'form_started', lead: { id: 'f1' }, data: { formId: 'trial' } },
      apiKey,
    );
    await eventually(async () => ((await fireCheck()) ? true : undefined));

    const [execution] = await eventually(async () => {
      const all = await executionsOf(h, apiKey, workflowId);
      return all.length > 0 ? all : undefined;
    });

    expect(execution.event).toMatchObject({
      type: 'form_abandoned',
      data: { formId: 'trial', derived: true },
    });
  });

  it('emits nothing when the form is submitted in time', async () => {
    const { apiKey, workflowId } = await setup();
    await h.call(
      'POST',
      '/v1/events',
      { type: 'form_started', lead: { id: 'f2' }, data: { formId: 'trial' } },
      apiKey,
    );
    await eventually(async () =>
      (await h.engine.queues.scheduled.getDelayedCount()) > 0 ? true : undefined,
    );
    await h.call(
      'POST',
      '/v1/events',
      { type: 'form_submitted', lead: { id: 'f2' }, data: { formId: 'trial' } },
      apiKey,
    );
    await eventually(async () =>
      (await h.engine.queues.scheduled.getDelayedCount()) === 0 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 300));

    expect(await executionsOf(h, apiKey, workflowId)).toEqual([]);
  });

  it('never doubles up with a form_abandoned the producer sent itself', async () => {
    const { apiKey, workflowId } = await setup();
    await h.call(
      'POST',
      '/v1/events',
      { type: 'form_started', lead: { id: 'f3' }, data: { formId: 'trial' } },
      apiKey,
    );
    await eventually(async () =>
      (await h.engine.queues.scheduled.getDelayedCount()) > 0 ? true : undefined,
    );
    await h.call(
      'POST',
      '/v1/events',
      { type: 'form_abandoned', lead: { id: 'f3' }, data: { formId: 'trial' } },
      apiKey,
    );
    await eventually(async () =>
      (await executionsOf(h, apiKey, workflowId)).length === 1 ? true : undefined,
    );

    await fireCheck();
    await new Promise((r) => setTimeout(r, 500));

    expect(await executionsOf(h, apiKey, workflowId)).toHaveLength(1);
  });
});
