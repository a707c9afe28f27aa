import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';
import { chain, publishWorkflow, trigger } from '../support/workflows.js';

const simple = {
  name: 'Simple',
  nodes: [trigger(), { id: 'tag', type: 'add_tag', params: { tag: 'x' } }],
  edges: chain('start', 'tag'),
};

describe('bad input gets a clear 4xx that names the field, and creates nothing', () => {
  let h: Harness;
  let apiKey: string;
  let workflowId: string;

  beforeAll(async () => {
    h = await startHarness({ env: { MAX_BODY_BYTES: '16384' } });
    ({ apiKey } = await h.createOrg());
    workflowId = await publishWorkflow(h, apiKey, simple);
  });
  afterAll(() => h.close());

  const cases: [string, () => [string, string, unknown, string | undefined], number, string, string?][] = [
    ['no credentials', () => ['POST', '/v1/events', { type: 'new_lead' }, undefined], 401, 'unauthorized'],
    [
      'an unknown API key',
      () => ['POST', '/v1/events', { type: 'new_lead' }, 'atl_not-a-key'],
      401,
      'unauthorized',
    ],
    ['a body that is not JSON', () => ['POST', '/v1/events', '{"type": ', apiKey], 400, 'invalid_json'],
    ['an empty body', () => ['POST', '/v1/events', '', apiKey], 400, 'invalid_json'],
    [
      'an event without a type',
      () => ['POST', '/v1/events', { lead: { id: 'a' } }, apiKey],
      400,
      'validation_failed',
      'type',
    ],
    [
      'an unknown event type',
      () => ['POST', '/v1/events', { type: 'lead_exploded' }, apiKey],
      400,
      'validation_failed',
      'type',
    ],
    [
      'an unknown field on an event',
      () => ['POST', '/v1/events', { type: 'new_lead', orgId: 'x' }, apiKey],
      400,
      'validation_failed',
      '',
    ],
    [
      'a malformed lead email',
      () => ['POST', '/v1/events', { type: 'new_lead', lead: { email: 'nope' } }, apiKey],
      400,
      'validation_failed',
      'lead.email',
    ],
    [
      'a bad event inside a batch',
      () => [
        'POST',
        '/v1/events',
        { events: [{ type: 'new_lead' }, { type: 'new_lead' }, { type: 1 }] },
        apiKey,
      ],
      400,
      'validation_failed',
      'events.2.type',
    ],
    [
      'a batch over 500 events',
      () => [
        'POST',
        '/v1/events',
        { events: Array.from({ length: 501 }, () => ({ type: 'new_lead' })) },
        apiKey,
      ],
      400,
      'validation_failed',
      'events',
    ],
    [
      'an empty batch',
      () => ['POST', '/v1/events', { events: [] }, apiKey],
      400,
      'validation_failed',
      'events',
    ],
    [
      'a body over the size limit',
      () => ['POST', '/v1/events', { type: 'new_lead', data: { blob: 'x'.repeat(20_000) } }, apiKey],
      413,
      'payload_too_large',
    ],
    [
      'a workflow with a misspelt field',
      () => [
        'POST',
        '/v1/workflows',
        { ...simple, nodes: [trigger(), { id: 'tag', type: 'add_tag', parmas: { tag: 'x' } }] },
        apiKey,
      ],
      400,
      'validation_failed',
      'definition.nodes.1',
    ],
    [
      'a wait with a negative duration',
      () => [
        'POST',
        '/v1/workflows',
        { ...simple, nodes: [trigger(), { id: 'tag', type: 'wait', params: { duration: 'PT-5M' } }] },
        apiKey,
      ],
      400,
      'validation_failed',
      'definition.nodes.1.params.duration',
    ],
    [
      'a branch condition with an invalid regex',
      () => [
        'POST',
        '/v1/workflows',
        {
          ...simple,
          nodes: [
            trigger(),
            {
              id: 'tag',
              type: 'branch',
              params: { condition: { field: 'lead.email', op: 'matches', value: '([a-z' } },
            },
          ],
        },
        apiKey,
      ],
      400,
      'validation_failed',
      'definition.nodes.1.params.condition.value',
    ],
    ['an unknown workflow', () => ['GET', '/v1/workflows/wf_missing', undefined, apiKey], 404, 'not_found'],
    ['an unknown execution', () => ['GET', '/v1/executions/x_missing', undefined, apiKey], 404, 'not_found'],
    ['an unknown route', () => ['GET', '/v1/nothing-here', undefined, apiKey], 404, 'not_found'],
    ['a wrong method', () => ['DELETE', '/v1/events', undefined, apiKey], 405, 'method_not_allowed'],
    ['an org key on the admin API', () => ['POST', '/v1/orgs', { name: 'Sneaky' }, apiKey], 403, 'forbidden'],
    [
      'an organization without a name',
      () => ['POST', '/v1/orgs', { timeZone: 'Europe/London' }, ADMIN_TOKEN],
      400,
      'validation_failed',
      'name',
    ],
    [
      'an organization in an unknown time zone',
      () => ['POST', '/v1/orgs', { name: 'Gym', timeZone: 'Mars/Olympus' }, ADMIN_TOKEN],
      400,
      'validation_failed',
      'timeZone',
    ],
    [
      'a limit that is not a number',
      () => ['GET', `/v1/workflows/${workflowId}/executions?limit=lots`, undefined, apiKey],
      400,
      'validation_failed',
      'limit',
    ],
    [
      'a path parameter that is not valid percent-encoding',
      () => ['GET', '/v1/leads/%E0', undefined, apiKey],
      400,
      'validation_failed',
      'id',
    ],
    [
      'a malformed path parameter from a caller without credentials (authentication comes first)',
      () => ['GET', '/v1/leads/%E0', undefined, undefined],
      401,
      'unauthorized',
    ],
    [
      'a malformed token on a public link route, without credentials',
      () => ['POST', '/v1/u/%E0%A4', undefined, undefined],
      400,
      'validation_failed',
      'token',
    ],
    [
      'a workflow version that is not a number',
      () => ['GET', `/v1/workflows/${workflowId}/versions/abc`, undefined, apiKey],
      400,
      'validation_failed',
      'version',
    ],
    [
      'a workflow version that is not positive',
      () => ['GET', `/v1/workflows/${workflowId}/versions/0`, undefined, apiKey],
      400,
      'validation_failed',
      'version',
    ],
  ];

  it.each(cases)('rejects %s', async (_name, request, status, code, path) => {
    const [method, url, body, token] = request();
    const response = await h.call(method, url, body, token);

    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toEqual(expect.any(String));
    if (path !== undefined)
      expect(response.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it('names the node and field when a workflow graph cannot be published', async () => {
    const created = await h.call(
      'POST',
      '/v1/workflows',
      {
        name: 'Broken',
        nodes: [
          trigger(),
          {
            id: 'check',
            type: 'branch',
            params: { condition: { field: 'lead.status', op: 'eq', value: 'member' } },
          },
          { id: 'tag', type: 'add_tag', params: { tag: 'x' } },
        ],
        edges: [
          ...chain('start', 'check'),
          { from: 'check', to: 'tag', when: 'true' },
          { from: 'check', to: 'ghost', when: 'false' },
        ],
      },
      apiKey,
    );
    const published = await h.call('POST', `/v1/workflows/${created.body.id}/publish`, undefined, apiKey);

    expect(published.status).toBe(400);
    const paths = published.body.error.issues.map((i: { path: string }) => i.path);
    expect(paths).toContain('definition.edges.2.to');
    expect(paths).toContain('definition.nodes.1');
    expect(
      (await h.call('GET', `/v1/workflows/${created.body.id}`, undefined, apiKey)).body.publishedVersion,
    ).toBeNull();
  });

  it('creates no job for a rejected batch', async () => {
    const before = await h.engine.queues.triggers.getJobCountByTypes(
      'waiting',
      'active',
      'completed',
      'failed',
    );
    await h.call(
      'POST',
      '/v1/events',
      { events: [{ type: 'new_lead', lead: { id: 'ok' } }, { type: 'nope' }] },
      apiKey,
    );
    const after = await h.engine.queues.triggers.getJobCountByTypes(
      'waiting',
      'active',
      'completed',
      'failed',
    );
    expect(after).toBe(before);
  });

  it('answers a request target the local server cannot read with a JSON 400, and keeps one starting `//` a path', async () => {
    // Arrange
    const server = createHttpServer(h.api, h.engine.config.MAX_BODY_BYTES);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const send = (target: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest({ host: '127.0.0.1', port, path: target }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += String(chunk)));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on('error', reject);
        request.end();
      });

    // Act
    const unreadable = await send('http://[');
    const empty = await send('//');
    const hostLike = await send('//x/healthz');
    server.close();

    // Assert
    expect(unreadable.status).toBe(400);
    expect(JSON.parse(unreadable.body)).toEqual({
      error: { code: 'invalid_url', message: 'the request target is not a valid URL path' },
    });
    // `//` and `//x/healthz` are paths on this server (no route, so the anonymous caller is asked to authenticate),
    // not a URL without a host or `/healthz` on a host named `x`.
    expect([empty.status, JSON.parse(empty.body).error.code]).toEqual([401, 'unauthorized']);
    expect([hostLike.status, JSON.parse(hostLike.body).error.code]).toEqual([401, 'unauthorized']);
  });
});
