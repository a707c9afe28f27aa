// The ingest Lambda handler driven by API Gateway v2 fixtures: each webhook source with valid, tampered, expired and
// replayed signatures, computed with the providers' documented algorithms; the email tracking endpoints.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triggerJobId } from '../../src/events/ingest.js';
import { leadIdOf } from '../../src/leads/store.js';
import { signTrackingToken } from '../../src/tracking/tokens.js';
import { signGeneric } from '../../src/webhooks/generic.js';
import { receiveWebhook, type WebhookDeps } from '../../src/webhooks/receive.js';
import { signMeta } from '../../src/webhooks/meta.js';
import { signStripe } from '../../src/webhooks/stripe.js';
import { twilioSignature } from '../../src/webhooks/twilio.js';
import { bodyOf, fixture, withBody, withHeader } from '../support/fixtures.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

const PUBLIC_BASE_URL = 'https://hooks.example.com';
const TRACKING_SECRET = 'tracking-secret-for-tests-0123456789';
const TWILIO_TOKEN = '0123456789abcdef0123456789abcdef';
const META_SECRET = 'meta-app-secret-0123456789abcdef';
const STRIPE_SECRET = 'whsec_test_stripe_0123456789abcdef';

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

describe('ingest handler: signed webhooks and tracking', () => {
  let h: Harness;
  let handler: Handler;
  let orgId: string;
  let apiKey: string;
  let genericSecret: string;

  const now = () => Math.floor(Date.now() / 1000);
  const json = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(String(result.body));
  const triggerJob = (eventId: string) => h.engine.queues.triggers.getJob(triggerJobId(orgId, eventId));
  const triggerCount = () => h.engine.queues.triggers.getJobCountByTypes('waiting', 'active', 'completed');

  beforeAll(async () => {
    h = await startHarness({
      workers: false,
      env: { PUBLIC_BASE_URL, TRACKING_SECRET, MAX_BODY_BYTES: '8192' },
    });
    Object.assign(process.env, {
      NODE_ENV: 'test',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: h.prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      PUBLIC_BASE_URL,
      TRACKING_SECRET,
      MAX_BODY_BYTES: '8192',
    });
    ({ handler } = await import('../../handlers/http/ingest.js'));
    ({ orgId, apiKey } = await h.createOrg('Webhook Gym'));

    const generic = await h.call('POST', '/v1/org/webhooks/generic/secrets', '', apiKey);
    expect(generic.status).toBe(201);
    genericSecret = generic.body.secret;
    for (const [source, secret] of [
      ['twilio', TWILIO_TOKEN],
      ['meta', META_SECRET],
      ['stripe', STRIPE_SECRET],
    ] as const) {
      const added = await h.call(
        'POST',
        `/v1/org/webhooks/${source}/secrets`,
        { secret, ...(source === 'meta' ? { verifyToken: 'meta-verify-token' } : {}) },
        apiKey,
      );
      expect(added.status).toBe(201);
      expect(JSON.stringify(added.body)).not.toContain(secret);
    }
  });
  afterAll(() => h.close());

  describe('managing secrets', () => {
    it('lists configured sources with their URLs and never the secret values', async () => {
      const listed = await h.call('GET', '/v1/org/webhooks', undefined, apiKey);
      expect(listed.status).toBe(200);
      expect(listed.body.webhooks.map((w: any) => [w.source, w.secrets.length, w.url])).toEqual([
        ['generic', 1, `${PUBLIC_BASE_URL}/v1/webhooks/${orgId}/generic`],
        ['twilio', 1, `${PUBLIC_BASE_URL}/v1/webhooks/${orgId}/twilio`],
        ['meta', 1, `${PUBLIC_BASE_URL}/v1/webhooks/${orgId}/meta`],
        ['stripe', 1, `${PUBLIC_BASE_URL}/v1/webhooks/${orgId}/stripe`],
      ]);
      const text = JSON.stringify(listed.body);
      for (const secret of [genericSecret, TWILIO_TOKEN, META_SECRET, STRIPE_SECRET, 'meta-verify-token'])
        expect(text).not.toContain(secret);
    });

    it('requires the provider secret for twilio, meta and stripe', async () => {
      const missing = await h.call('POST', '/v1/org/webhooks/stripe/secrets', {}, apiKey);
      expect(missing.status).toBe(400);
      expect(missing.body.error.issues[0].path).toBe('secret');
    });
  });

  describe('secrets at rest', () => {
    const SEALED = /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/;
    const stored = (org: string, source: string) =>
      h.engine.redis.hget(h.engine.keys.webhookSecrets(org), source);
    const store = (org: string, source: string, record: string) =>
      h.engine.redis.hset(h.engine.keys.webhookSecrets(org), source, record);
    const genericFor = (org: string, id: string, secret: string) => {
      const body = JSON.stringify({ id, type: 'external_webhook' });
      return withHeader(
        withBody(fixture('generic', 'form-submitted', { orgId: org }), body),
        'x-atlas-signature',
        signGeneric(secret, now(), body),
      );
    };

    it('keeps every secret and the verify token sealed in Redis, none in clear', async () => {
      // Act
      const records = await Promise.all(
        ['generic', 'twilio', 'meta', 'stripe'].map((source) => stored(orgId, source)),
      );

      // Assert
      for (const secret of [genericSecret, TWILIO_TOKEN, META_SECRET, STRIPE_SECRET, 'meta-verify-token'])
        expect(records.join('\n')).not.toContain(secret);
      for (const raw of records) {
        expect(JSON.parse(raw!).secrets).toEqual([
          {
            id: expect.stringMatching(/^ws_/),
            createdAt: expect.any(String),
            sealed: expect.stringMatching(SEALED),
          },
        ]);
      }
      const meta = JSON.parse(records[2]!);
      expect(meta.sealedVerifyToken).toMatch(SEALED);
      expect(meta.verifyToken).toBeUndefined();
    });

    it('verifies with a record stored in clear before sealing, seals it at the next rotation, and both secrets verify', async () => {
      // Arrange
      const legacy = await h.createOrg('Legacy Gym');
      const oldSecret = 'legacy-generic-secret-0123456789';
      await store(
        legacy.orgId,
        'generic',
        JSON.stringify({
          secrets: [{ id: 'ws_0123456789ab', secret: oldSecret, createdAt: '2025-01-01T00:00:00.000Z' }],
        }),
      );

      // Act
      const beforeRotation = await handler(genericFor(legacy.orgId, 'legacy-before', oldSecret));
      const added = await h.call('POST', '/v1/org/webhooks/generic/secrets', '', legacy.apiKey);
      const raw = await stored(legacy.orgId, 'generic');
      const withOld = await handler(genericFor(legacy.orgId, 'legacy-old', oldSecret));
      const withNew = await handler(genericFor(legacy.orgId, 'legacy-new', added.body.secret));

      // Assert
      expect(beforeRotation.statusCode).toBe(202);
      expect(added.status).toBe(201);
      expect(added.body.secrets.map((entry: any) => entry.id)).toEqual([
        added.body.created.id,
        'ws_0123456789ab',
      ]);
      expect(raw).not.toContain(oldSecret);
      expect(raw).not.toContain(added.body.secret);
      expect(JSON.parse(raw!).secrets.map((entry: any) => entry.sealed)).toEqual([
        expect.stringMatching(SEALED),
        expect.stringMatching(SEALED),
      ]);
      expect([withOld.statusCode, withNew.statusCode]).toEqual([202, 202]);
    });

    it("answers Meta's handshake with a verify token stored in clear before sealing, and keeps it, sealed, when the app secret rotates", async () => {
      // Arrange
      const legacy = await h.createOrg('Legacy Meta Gym');
      const handshake = () =>
        handler(
          fixture('meta', 'verify-subscription', { orgId: legacy.orgId, verifyToken: 'legacy-verify' }),
        );
      await store(
        legacy.orgId,
        'meta',
        JSON.stringify({
          secrets: [{ id: 'ws_ab0123456789', secret: META_SECRET, createdAt: '2025-01-01T00:00:00.000Z' }],
          verifyToken: 'legacy-verify',
        }),
      );

      // Act
      const beforeRotation = await handshake();
      const added = await h.call(
        'POST',
        '/v1/org/webhooks/meta/secrets',
        { secret: 'meta-app-secret-rotated-0123456789' },
        legacy.apiKey,
      );
      const raw = await stored(legacy.orgId, 'meta');
      const afterRotation = await handshake();

      // Assert
      expect(beforeRotation.statusCode).toBe(200);
      expect(added.status).toBe(201);
      expect(added.body.verifyToken).toBe('set');
      expect(raw).not.toContain('legacy-verify');
      expect(raw).not.toContain(META_SECRET);
      expect(afterRotation.statusCode).toBe(200);
    });

    it('does not verify with a record sealed for another organization, or moved to another source', async () => {
      // Arrange: organization A's generic record copied to B, and B's own generic record moved to its stripe field.
      const other = await h.createOrg('Copycat Gym');
      const own = await h.call('POST', '/v1/org/webhooks/generic/secrets', '', other.apiKey);
      await store(other.orgId, 'stripe', (await stored(other.orgId, 'generic'))!);
      await store(other.orgId, 'generic', (await stored(orgId, 'generic'))!);
      const stripe = fixture('stripe', 'checkout-session-completed', { orgId: other.orgId });

      // Act
      const copied = await handler(genericFor(other.orgId, 'copied-record', genericSecret));
      const moved = await handler(
        withHeader(stripe, 'stripe-signature', signStripe(own.body.secret, now(), bodyOf(stripe))),
      );

      // Assert: answered like a source that is not set up.
      expect([copied.statusCode, json(copied).error.code]).toEqual([404, 'not_found']);
      expect([moved.statusCode, json(moved).error.code]).toEqual([404, 'not_found']);
      expect(
        await h.engine.queues.triggers.getJob(triggerJobId(other.orgId, 'copied-record')),
      ).toBeUndefined();
    });
  });

  describe('routes', () => {
    const get = (path: string, authorization?: string): APIGatewayProxyEventV2 => {
      const base = fixture('generic', 'form-submitted', { orgId });
      return {
        ...base,
        rawPath: path,
        body: '',
        headers: authorization ? { authorization } : {},
        requestContext: {
          ...base.requestContext,
          http: { ...base.requestContext.http, method: 'GET', path },
        },
      };
    };

    it('answers a path it does not serve only to a caller with a key, so no route is revealed anonymously', async () => {
      const anonymous = await handler(get('/v1/workflows'));
      const withKey = await handler(get('/v1/workflows', `Bearer ${apiKey}`));
      const health = await handler(get('/healthz'));

      expect([anonymous.statusCode, json(anonymous).error.code]).toEqual([401, 'unauthorized']);
      expect([withKey.statusCode, json(withKey).error.code]).toEqual([404, 'not_found']);
      expect(health.statusCode).toBe(200);
    });
  });

  describe('generic', () => {
    const signed = (body: string, secret: string, at = now()) =>
      withHeader(
        withBody(fixture('generic', 'form-submitted', { orgId }), body),
        'x-atlas-signature',
        signGeneric(secret, at, body),
      );

    it('accepts a valid signature, enqueues the event before answering, and refuses the same request again', async () => {
      // Arrange
      const event = fixture('generic', 'form-submitted', { orgId });
      const request = signed(bodyOf(event), genericSecret);

      // Act
      const first = await handler(request);
      const replay = await handler(request);

      // Assert
      expect(first.statusCode).toBe(202);
      expect(json(first)).toEqual({ accepted: [{ id: 'crm-form-1001' }] });
      const job = await triggerJob('crm-form-1001');
      expect(job?.data).toMatchObject({
        orgId,
        type: 'form_submitted',
        lead: { email: 'maria@example.com' },
      });
      expect(replay.statusCode).toBe(403);
      expect(json(replay).error.code).toBe('replayed');
    });

    it("accepts a provider's retry of a request that died before its event was queued", async () => {
      // Arrange: the first delivery's process stops while it queues the event (a crash, a Lambda timeout)
      const body = JSON.stringify({
        ...JSON.parse(bodyOf(fixture('generic', 'form-submitted', { orgId }))),
        id: 'died-once',
      });
      const request = signed(body, genericSecret);
      const hanging = {
        triggers: { add: () => new Promise(() => {}), addBulk: () => new Promise(() => {}) },
      };
      const deps = { ...h.engine, queues: hanging } as unknown as WebhookDeps;
      void receiveWebhook(deps, orgId, 'generic', {
        method: 'POST',
        path: `/v1/webhooks/${orgId}/generic`,
        query: {},
        headers: {
          'content-type': 'application/json',
          'x-atlas-signature': request.headers['x-atlas-signature']!,
        },
        body,
      });
      await new Promise((r) => setTimeout(r, 200));

      // Act: the provider delivers it again
      const retried = await handler(request);

      // Assert: accepted and queued; the same request after that is a replay
      expect(retried.statusCode).toBe(202);
      expect(await triggerJob('died-once')).toBeDefined();
      expect((await handler(request)).statusCode).toBe(403);
    });

    it('refuses a tampered body and an expired signature, creating nothing', async () => {
      const before = await triggerCount();
      const body = JSON.stringify({ id: 'generic-tampered', type: 'new_lead' });
      const tampered = withBody(signed(body, genericSecret), body.replace('new_lead', 'form_submitted'));
      const expired = signed(
        JSON.stringify({ id: 'generic-old', type: 'new_lead' }),
        genericSecret,
        now() - 301,
      );
      const unsigned = withHeader(signed(body, genericSecret), 'x-atlas-signature', undefined);

      expect([(await handler(tampered)).statusCode, json(await handler(tampered)).error.code]).toEqual([
        401,
        'signature_invalid',
      ]);
      expect(json(await handler(expired)).error).toMatchObject({ code: 'signature_expired' });
      expect((await handler(expired)).statusCode).toBe(403);
      expect((await handler(unsigned)).statusCode).toBe(401);
      expect(await triggerCount()).toBe(before);
      expect(await triggerJob('generic-tampered')).toBeUndefined();
    });

    it('keeps the previous secret valid after a rotation, and drops the oldest at the third', async () => {
      const rotated = await h.call('POST', '/v1/org/webhooks/generic/secrets', '', apiKey);
      const body = (id: string) => JSON.stringify({ id, type: 'external_webhook' });
      expect((await handler(signed(body('rot-old'), genericSecret))).statusCode).toBe(202);
      expect((await handler(signed(body('rot-new'), rotated.body.secret))).statusCode).toBe(202);

      const third = await h.call('POST', '/v1/org/webhooks/generic/secrets', '', apiKey);
      expect(third.body.secrets).toHaveLength(2);
      expect((await handler(signed(body('rot-oldest'), genericSecret))).statusCode).toBe(401);
      expect((await handler(signed(body('rot-third'), third.body.secret))).statusCode).toBe(202);
      genericSecret = third.body.secret;
    });

    it('answers 413 for an oversized body and 400 naming the field for a bad payload', async () => {
      const big = JSON.stringify({ type: 'new_lead', data: { blob: 'x'.repeat(9000) } });
      const oversized = await handler(signed(big, genericSecret));
      expect(oversized.statusCode).toBe(413);
      expect(json(oversized).error.code).toBe('payload_too_large');
      const bad = await handler(signed(JSON.stringify({ type: 'lead_exploded' }), genericSecret));
      expect(bad.statusCode).toBe(400);
      expect(json(bad).error.issues[0].path).toBe('type');
    });

    it('answers 404 for an organization or source without a configured webhook', async () => {
      const body = JSON.stringify({ type: 'new_lead' });
      const other = fixture('generic', 'form-submitted', { orgId: 'org_0000000000000000' });
      const result = await handler(
        withHeader(withBody(other, body), 'x-atlas-signature', signGeneric('x'.repeat(20), now(), body)),
      );
      expect(result.statusCode).toBe(404);
      const unknown = { ...other, rawPath: `/v1/webhooks/${orgId}/zapier` };
      expect((await handler(unknown)).statusCode).toBe(404);
    });
  });

  describe('twilio', () => {
    const sign = (event: APIGatewayProxyEventV2, token = TWILIO_TOKEN) => {
      const params = [...new URLSearchParams(bodyOf(event)).entries()];
      return withHeader(
        event,
        'x-twilio-signature',
        twilioSignature(token, `${PUBLIC_BASE_URL}${event.rawPath}`, params),
      );
    };

    it('turns an inbound SMS into sms_replied and refuses its replay', async () => {
      // Arrange
      const request = sign(fixture('twilio', 'inbound-sms', { orgId }));

      const signature = request.headers['x-twilio-signature']!;
      const respelled = withHeader(request, 'x-twilio-signature', signature.replace(/=+$/, ''));

      // Act
      const first = await handler(request);
      const replay = await handler(request);
      const respelledReplay = await handler(respelled);

      // Assert
      expect(first.statusCode).toBe(200);
      expect(respelledReplay.statusCode).toBe(403);
      expect(first.headers?.['content-type']).toBe('text/xml');
      expect(first.body).toContain('<Response></Response>');
      const job = await triggerJob('twilio_SM8f1f9e7d3c2b1a0f9e8d7c6b5a4f3e2d');
      expect(job?.data).toMatchObject({
        type: 'sms_replied',
        lead: { phone: '+447700900123' },
        data: { channel: 'sms', body: 'Yes please, Tuesday at 6pm works' },
      });
      expect(replay.statusCode).toBe(403);
    });

    it('turns a WhatsApp STOP into sms_replied marked as an opt-out, and writes no lead field at ingest', async () => {
      // Act
      const result = await handler(sign(fixture('twilio', 'whatsapp-stop', { orgId })));

      // Assert: the trigger worker applies the opt-out (test/integration/consent.test.ts), not the ingest function.
      expect(result.statusCode).toBe(200);
      const job = await triggerJob('twilio_SM1a2b3c4d5e6f708192a3b4c5d6e7f809');
      expect(job?.data).toMatchObject({
        type: 'sms_replied',
        lead: { phone: '+447700900123' },
        data: {
          channel: 'whatsapp',
          from: 'whatsapp:+447700900123',
          body: 'STOP',
          consent: { channel: 'whatsapp', granted: false },
        },
      });
      expect(await h.engine.leads.get(orgId, leadIdOf({ phone: '+447700900123' })!)).toBeUndefined();
    });

    it('refuses a changed parameter, a signature for another URL, and another auth token', async () => {
      const event = fixture('twilio', 'inbound-sms', { orgId });
      const signed = sign(event);
      const tampered = withBody(signed, bodyOf(event).replace('Tuesday', 'Friday'));
      const otherUrl = withHeader(
        event,
        'x-twilio-signature',
        twilioSignature(TWILIO_TOKEN, `https://elsewhere.example.com${event.rawPath}`, [
          ...new URLSearchParams(bodyOf(event)).entries(),
        ]),
      );
      for (const request of [tampered, otherUrl, sign(event, 'ffffffffffffffffffffffffffffffff')]) {
        const result = await handler(request);
        expect(result.statusCode).toBe(401);
        expect(json(result).error.code).toBe('signature_invalid');
      }
    });
  });

  describe('meta', () => {
    it('answers the subscription handshake with hub.challenge, and 403 for a wrong verify token', async () => {
      const ok = await handler(
        fixture('meta', 'verify-subscription', { orgId, verifyToken: 'meta-verify-token' }),
      );
      expect([ok.statusCode, ok.body]).toEqual([200, '1158201444']);
      const wrong = await handler(fixture('meta', 'verify-subscription', { orgId, verifyToken: 'guess' }));
      expect(wrong.statusCode).toBe(403);
    });

    it('turns a leadgen change into new_lead and form_submitted, and refuses tampering and replay', async () => {
      const event = fixture('meta', 'leadgen', { orgId });
      const signed = withHeader(event, 'x-hub-signature-256', signMeta(META_SECRET, bodyOf(event)));

      const result = await handler(signed);
      expect(result.statusCode).toBe(200);
      expect(json(result).accepted.map((a: any) => a.id)).toEqual([
        'meta_987654321098765_new_lead',
        'meta_987654321098765_form_submitted',
      ]);
      expect((await triggerJob('meta_987654321098765_new_lead'))?.data).toMatchObject({
        type: 'new_lead',
        lead: { id: 'meta_987654321098765', source: 'facebook' },
        data: { formId: '1234567890123456', pageId: '104938271234567' },
      });
      expect((await handler(signed)).statusCode).toBe(403);
      const tampered = withBody(signed, bodyOf(event).replace('987654321098765', '111111111111111'));
      expect((await handler(tampered)).statusCode).toBe(401);
    });
  });

  describe('stripe', () => {
    const sign = (event: APIGatewayProxyEventV2, at = now()) =>
      withHeader(event, 'stripe-signature', signStripe(STRIPE_SECRET, at, bodyOf(event)));

    it('turns checkout.session.completed into api_event for the customer, once', async () => {
      const request = sign(fixture('stripe', 'checkout-session-completed', { orgId }));
      const result = await handler(request);
      expect(result.statusCode).toBe(200);
      expect((await triggerJob('stripe_evt_1P3xYzLkdIwHu7ix0abcDEFG'))?.data).toMatchObject({
        type: 'api_event',
        lead: { email: 'sarah@example.com', stripeCustomerId: 'cus_Q1w2E3r4T5y6U7' },
        data: { provider: 'stripe', stripeType: 'checkout.session.completed' },
      });
      expect((await handler(request)).statusCode).toBe(403);
    });

    it('acknowledges event types it does not forward, and refuses expired and tampered ones', async () => {
      const invoice = await handler(sign(fixture('stripe', 'invoice-paid', { orgId })));
      expect([invoice.statusCode, json(invoice)]).toEqual([200, { ignored: true, type: 'invoice.paid' }]);
      const event = fixture('stripe', 'checkout-session-completed', { orgId });
      expect((await handler(sign(event, now() - 600))).statusCode).toBe(403);
      expect((await handler(withBody(sign(event), bodyOf(event).replace('4900', '1')))).statusCode).toBe(401);
    });
  });

  describe('email tracking', () => {
    const claims = { orgId: '', executionId: 'x_track1', leadId: 'em_tracked', nodeId: 'welcome' };

    it('serves the open pixel and records one email_opened however often it is fetched', async () => {
      const token = signTrackingToken(TRACKING_SECRET, { ...claims, orgId, kind: 'open' });
      const first = await handler(fixture('tracking', 'open-pixel', { token }));
      const again = await handler(fixture('tracking', 'open-pixel', { token }));

      expect(first.statusCode).toBe(200);
      expect(first.isBase64Encoded).toBe(true);
      expect(first.headers?.['content-type']).toBe('image/gif');
      expect(first.headers?.['cache-control']).toContain('no-store');
      expect(Buffer.from(String(first.body), 'base64').subarray(0, 6).toString()).toBe('GIF89a');
      expect(again.statusCode).toBe(200);
      const jobs = await h.engine.queues.triggers.getJobs(['waiting', 'prioritized']);
      const opens = jobs.filter((job) => job.data.type === 'email_opened' && job.data.orgId === orgId);
      expect(opens).toHaveLength(1);
      expect(opens[0]!.data).toMatchObject({ lead: { id: 'em_tracked' }, data: { executionId: 'x_track1' } });
    });

    it('redirects a click to the signed URL only, and refuses a tampered token', async () => {
      const url = 'https://gym.example.com/book?class=spin';
      const token = signTrackingToken(TRACKING_SECRET, { ...claims, orgId, kind: 'click', url });
      const result = await handler(fixture('tracking', 'click-redirect', { token }));
      expect(result.statusCode).toBe(302);
      expect(result.headers?.location).toBe(url);

      const [payload, mac] = token.split('.') as [string, string];
      const swapped = Buffer.from(
        JSON.stringify({
          ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
          u: 'https://evil.example/',
        }),
      ).toString('base64url');
      const refused = await handler(fixture('tracking', 'click-redirect', { token: `${swapped}.${mac}` }));
      expect(refused.statusCode).toBe(403);
      expect(refused.headers?.location).toBeUndefined();
      expect(json(refused).error.code).toBe('invalid_token');
    });
  });
});
