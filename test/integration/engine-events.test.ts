// Engine events out, published with @aws-sdk/client-eventbridge to a loopback fake that checks the real PutEvents
// request: AWS JSON 1.1, X-Amz-Target AWSEvents.PutEvents, SigV4, at most 10 entries, failed entries retried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createEngineEvents } from '../../src/observability/engine-events.js';
import { createLogger } from '../../src/observability/logger.js';
import { startFakeServer, type FakeServer, type Recorded } from '../support/fake-http.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const ok = (n: number) => ({
  status: 200,
  headers: { 'content-type': 'application/x-amz-json-1.1' },
  body: { FailedEntryCount: 0, Entries: Array.from({ length: n }, (_, i) => ({ EventId: `id-${i}` })) },
});

const entriesOf = (request: Recorded) => JSON.parse(request.body).Entries as any[];

function expectPutEventsShape(request: Recorded) {
  expect(request.method).toBe('POST');
  expect(request.url).toBe('/');
  expect(request.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
  expect(request.headers['content-type']).toBe('application/x-amz-json-1.1');
  expect(request.headers.authorization).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/events\/aws4_request/,
  );
  const entries = entriesOf(request);
  expect(entries.length).toBeGreaterThan(0);
  expect(entries.length).toBeLessThanOrEqual(10);
  for (const entry of entries) {
    expect(Object.keys(entry).sort()).toEqual(['Detail', 'DetailType', 'EventBusName', 'Source', 'Time']);
    expect(typeof JSON.parse(entry.Detail)).toBe('object');
  }
}

describe('engine events out', () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeServer();
    fake.reply(ok(10));
  });
  afterAll(() => fake.close());

  const publisher = (overrides: Record<string, string> = {}) =>
    createEngineEvents({
      config: loadConfig({
        ENGINE_EVENTS_BUS: 'atlas-automations-test',
        EVENTBRIDGE_ENDPOINT: fake.url,
        AWS_REGION: 'eu-west-1',
        ...overrides,
      }),
      logger: createLogger('silent'),
      client: { credentials },
      lingerMs: 5,
      backoffMs: 10,
    })!;

  it('is off unless ENGINE_EVENTS_BUS is set', () => {
    expect(createEngineEvents({ config: loadConfig({}), logger: createLogger('silent') })).toBeUndefined();
  });

  it('batches at most 10 entries per PutEvents call', async () => {
    // Arrange
    fake.requests.length = 0;
    fake.reply(ok(10));
    const events = publisher();

    // Act
    for (let i = 0; i < 23; i += 1)
      events.publish('Execution Completed', { orgId: 'org_a', executionId: `x_${i}` });
    await events.close();

    // Assert
    expect(fake.requests.map((r) => entriesOf(r).length)).toEqual([10, 10, 3]);
    fake.requests.forEach(expectPutEventsShape);
    const ids = fake.requests.flatMap(entriesOf).map((entry) => JSON.parse(entry.Detail).executionId);
    expect(new Set(ids).size).toBe(23);
  });

  it('retries exactly the entries EventBridge reports as failed, and whole failed calls', async () => {
    fake.requests.length = 0;
    fake.reply(
      {
        status: 200,
        body: {
          FailedEntryCount: 1,
          Entries: [
            { EventId: 'a' },
            { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
            { EventId: 'c' },
          ],
        },
      },
      { status: 500, body: { __type: 'InternalException', message: 'try again' } },
      ok(1),
    );
    const events = publisher();
    for (const id of ['x_1', 'x_2', 'x_3'])
      events.publish('Execution Started', { orgId: 'org_a', executionId: id });
    await events.close();

    const sent = fake.requests.map((r) => entriesOf(r).map((e) => JSON.parse(e.Detail).executionId));
    expect(sent[0]).toEqual(['x_1', 'x_2', 'x_3']);
    expect(sent.slice(1).every((ids) => ids.length === 1 && ids[0] === 'x_2')).toBe(true);
    expect(sent.at(-1)).toEqual(['x_2']);
  });

  describe('wired into the engine', () => {
    let h: Harness;
    let apiKey: string;

    beforeAll(async () => {
      process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
      h = await startHarness({
        env: {
          ENGINE_EVENTS_BUS: 'atlas-automations-test',
          EVENTBRIDGE_ENDPOINT: fake.url,
          AWS_REGION: 'eu-west-1',
          JOB_ATTEMPTS: '1',
        },
      });
      ({ apiKey } = await h.createOrg('Events Gym'));
    });
    afterAll(() => h.close());

    const published = () =>
      fake.requests
        .flatMap(entriesOf)
        .map((entry) => ({ type: entry.DetailType, ...JSON.parse(entry.Detail) }));

    it('announces execution started, completed, failed, cancelled and step dead-lettered', async () => {
      fake.requests.length = 0;
      fake.reply(ok(10));
      const done = await publishWorkflow(h, apiKey, {
        name: 'tag',
        nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'x' } }],
        edges: chain('start', 'tag'),
      });
      await h.call('POST', '/v1/events', { id: 'e-ok', type: 'new_lead', lead: { id: 'l1' } }, apiKey);
      const completed = await settledExecution(h, apiKey, done);

      const failing = await publishWorkflow(h, apiKey, {
        name: 'refused webhook',
        nodes: [
          trigger('form_submitted'),
          { id: 'call', type: 'webhook_call', params: { url: 'http://169.254.169.254/latest/meta-data' } },
        ],
        edges: chain('start', 'call'),
      });
      await h.call(
        'POST',
        '/v1/events',
        { id: 'e-fail', type: 'form_submitted', lead: { id: 'l2' } },
        apiKey,
      );
      const failed = await settledExecution(h, apiKey, failing, ['failed']);

      const waiting = await publishWorkflow(h, apiKey, {
        name: 'long wait',
        nodes: [
          trigger('lead_tagged'),
          { id: 'pause', type: 'wait', params: { duration: 'P1D' } },
          { id: 'later', type: 'add_tag', params: { tag: 'later' } },
        ],
        edges: chain('start', 'pause', 'later'),
      });
      await h.call('POST', '/v1/events', { id: 'e-wait', type: 'lead_tagged', lead: { id: 'l3' } }, apiKey);
      const paused = await settledExecution(h, apiKey, waiting, ['waiting']);
      await h.call('POST', `/v1/executions/${paused.id}/cancel`, undefined, apiKey);
      await h.engine.engineEvents!.flush();

      const events = await eventually(async () => {
        const all = published();
        return all.some((e) => e.type === 'Execution Cancelled') &&
          all.some((e) => e.type === 'Step Dead-Lettered')
          ? all
          : undefined;
      });
      const of = (id: string) => events.filter((e) => e.executionId === id).map((e) => e.type);
      expect(of(completed.id)).toEqual(['Execution Started', 'Execution Completed']);
      expect(of(failed.id)).toEqual(
        expect.arrayContaining(['Execution Started', 'Execution Failed', 'Step Dead-Lettered']),
      );
      expect(of(paused.id)).toEqual(['Execution Started', 'Execution Cancelled']);
      expect(events.find((e) => e.type === 'Step Dead-Lettered')).toMatchObject({
        nodeId: 'call',
        error: { code: 'address_refused' },
      });
      expect(events.find((e) => e.type === 'Execution Completed')).toMatchObject({
        workflowId: done,
        version: 1,
        leadId: 'l1',
        status: 'completed',
      });
      fake.requests.forEach(expectPutEventsShape);
    });
  });
});
