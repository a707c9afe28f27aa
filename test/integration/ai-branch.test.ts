import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeRunner } from '../../src/nodes/runner.js';
import { RetryableError } from '../../src/shared/errors.js';
import { startHarness, type Harness } from '../support/harness.js';
import { providerEnv, startFakes, type Fakes } from '../support/providers.js';
import { publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

const aiWorkflow = (timeoutMs = 2000) => ({
  name: 'Qualify',
  nodes: [
    trigger('form_submitted'),
    {
      id: 'qualify',
      type: 'branch',
      params: {
        aiDecision: {
          prompt: '{{ lead.firstName }} wrote: "{{ event.data.message }}". Is this lead hot or cold?',
          labels: ['hot', 'cold'],
          fallback: 'cold',
          timeoutMs,
        },
      },
    },
    { id: 'call', type: 'add_tag', params: { tag: 'call-now' } },
    { id: 'nurture', type: 'add_tag', params: { tag: 'nurture' } },
  ],
  edges: [
    { from: 'start', to: 'qualify' },
    { from: 'qualify', to: 'call', when: 'hot' },
    { from: 'qualify', to: 'nurture', when: 'cold' },
  ],
});

describe('branch with aiDecision', () => {
  let h: Harness;
  let fakes: Fakes;

  beforeAll(async () => {
    fakes = await startFakes();
    h = await startHarness({ env: providerEnv(fakes, { AI_MODEL: 'gpt-test-mini' }) });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
  });

  async function decide(message: string, timeoutMs?: number) {
    const { apiKey } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, aiWorkflow(timeoutMs));
    await h.call(
      'POST',
      '/v1/events',
      { type: 'form_submitted', lead: { id: 'jo', firstName: 'Jo' }, data: { message } },
      apiKey,
    );
    const execution = await settledExecution(h, apiKey, workflowId);
    return { execution, branch: execution.steps.find((s: any) => s.nodeId === 'qualify') };
  }

  it('asks the chat-completions endpoint for JSON and follows the label it names', async () => {
    // Arrange
    fakes.ai.answer = (chat) =>
      chat.messages[1]!.content.includes('join today')
        ? '{"label":"hot","reason":"wants to join now"}'
        : '{"label":"cold","reason":"browsing"}';

    // Act
    const { execution, branch } = await decide('I want to join today');

    // Assert
    const request = JSON.parse(fakes.ai.requests.at(-1)!.body);
    expect(request).toMatchObject({
      model: 'gpt-test-mini',
      temperature: 0,
      response_format: { type: 'json_object' },
    });
    expect(request.messages[0].role).toBe('system');
    expect(request.messages[0].content).toContain('"hot", "cold"');
    expect(request.messages[1]).toEqual({
      role: 'user',
      content: 'Jo wrote: "I want to join today". Is this lead hot or cold?',
    });
    expect(branch).toMatchObject({
      edge: 'hot',
      effect: 'recorded',
      output: { label: 'hot', decidedBy: 'ai', reason: 'wants to join now', model: 'gpt-test-mini' },
      note: 'AI chose "hot"',
    });
    expect(execution.steps.map((s: any) => s.nodeId)).toEqual(['start', 'qualify', 'call']);
  });

  it('an answer outside the labels takes the fallback edge and says why', async () => {
    // Arrange
    fakes.ai.answer = () => '{"label":"lukewarm"}';

    // Act
    const { execution, branch } = await decide('maybe');

    // Assert
    expect(branch).toMatchObject({
      edge: 'cold',
      output: { label: 'cold', decidedBy: 'fallback' },
      note: 'AI decision fell back to "cold": the answer "lukewarm" is not one of "hot", "cold"',
    });
    expect(execution.steps.at(-1).nodeId).toBe('nurture');
  });

  it('a timeout takes the fallback edge', async () => {
    // Arrange
    fakes.ai.failNext(1, { status: 0, hang: true });

    // Act
    const { branch } = await decide('hello', 600);

    // Assert
    expect(branch).toMatchObject({ edge: 'cold', output: { decidedBy: 'fallback' } });
    expect(branch.note).toBe('AI decision fell back to "cold": ai timed out after 600 ms');
  });

  it('an error answer or text that is not JSON takes the fallback edge', async () => {
    // Arrange
    fakes.ai.failNext(1, { status: 500, body: { error: { message: 'The server had an error' } } });
    const failed = await decide('one');
    fakes.ai.answer = () => 'hot, definitely';

    // Act
    const prose = await decide('two');

    // Assert
    expect(failed.branch.note).toBe(
      'AI decision fell back to "cold": the AI endpoint answered 500: The server had an error',
    );
    expect(prose.branch.note).toBe(
      'AI decision fell back to "cold": the answer is not JSON: hot, definitely',
    );
  });

  it('a retried job replays the recorded decision instead of asking again', async () => {
    // Arrange
    fakes.ai.answer = () => '{"label":"hot"}';
    const { apiKey, orgId } = await h.createOrg();
    const workflowId = await publishWorkflow(h, apiKey, aiWorkflow());
    await h.engine.queues.actionsFor(orgId).pause();
    await h.call(
      'POST',
      '/v1/events',
      { type: 'form_submitted', lead: { id: 'rae', firstName: 'Rae' }, data: { message: 'x' } },
      apiKey,
    );
    const execution = await settledExecution(h, apiKey, workflowId, ['running']);
    let commits = 0;
    const run = createNodeRunner({
      executions: {
        ...h.engine.executions,
        commit: async (...args: Parameters<typeof h.engine.executions.commit>) => {
          commits += 1;
          if (commits === 1) throw new RetryableError('redis went away');
          return h.engine.executions.commit(...args);
        },
      },
      workflows: h.engine.workflows,
      leads: h.engine.leads,
      waiters: h.engine.waiters,
      org: h.engine.orgSettings,
      actions: h.engine.actions,
      decide: h.engine.decide,
      enqueue: async () => {},
      finalize: h.engine.lifecycle.finalize,
    });
    const job = {
      orgId,
      executionId: execution.id,
      workflowId,
      version: 1,
      nodeId: 'qualify',
      iteration: 0,
      arms: [],
    };
    const asked = fakes.ai.requests.length;

    // Act
    await expect(run(job, { attemptsMade: 0, maxAttempts: 3 })).rejects.toThrow('redis went away');
    fakes.ai.answer = () => '{"label":"cold"}';
    await run(job, { attemptsMade: 1, maxAttempts: 3 });
    await h.engine.queues.actionsFor(orgId).resume();

    // Assert
    expect(fakes.ai.requests.length - asked).toBe(1);
    const steps = (await h.call('GET', `/v1/executions/${execution.id}`, undefined, apiKey)).body.steps;
    expect(steps.find((s: any) => s.nodeId === 'qualify')).toMatchObject({ edge: 'hot', effect: 'replayed' });
    expect(steps.at(-1).nodeId).toBe('call');
  });

  it('refuses at publish time an AI branch whose edges do not match its labels', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    const definition = aiWorkflow();
    definition.edges[2] = { from: 'qualify', to: 'nurture', when: 'warm' };
    const created = await h.call('POST', '/v1/workflows', definition, apiKey);

    // Act
    const published = await h.call('POST', `/v1/workflows/${created.body.id}/publish`, undefined, apiKey);

    // Assert
    expect(published.status).toBe(400);
    expect(published.body.error.issues.map((i: any) => i.message)).toContain(
      'branch "qualify" needs exactly one "cold" edge (has 0)',
    );
  });
});
