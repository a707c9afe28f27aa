import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TWILIO_SID, TWILIO_TOKEN } from '../support/fakes/twilio.js';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';
import { configure, providerEnv, settingsFor, startFakes, type Fakes } from '../support/providers.js';
import { capturedLogs } from '../support/logs.js';
import { chain, publishWorkflow, settledExecution, trigger } from '../support/workflows.js';

describe('per-organization provider settings', () => {
  let h: Harness;
  let fakes: Fakes;

  beforeAll(async () => {
    fakes = await startFakes();
    h = await startHarness({
      env: providerEnv(fakes, { SETTINGS_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') }),
    });
  });
  afterAll(async () => {
    await h.close();
    await fakes.close();
  });

  it('secrets go in and never come back out of the API', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();

    // Act
    const put = await h.call('PUT', '/v1/org/settings/twilio', settingsFor(fakes).twilio, apiKey);
    const smtp = await h.call('PUT', '/v1/org/settings/email', settingsFor(fakes).smtp, apiKey);
    const got = await h.call('GET', '/v1/org/settings', undefined, apiKey);

    // Assert
    expect(put.status).toBe(200);
    expect(put.body.settings).toEqual({
      accountSid: TWILIO_SID,
      authToken: 'set',
      smsFrom: '+447700900001',
      whatsappFrom: '+447700900002',
    });
    expect(smtp.body.settings.smtp.password).toBe('set');
    expect(got.body.settings.twilio.authToken).toBe('set');
    expect(got.body.settings.email.smtp).toMatchObject({ user: 'mailer', password: 'set' });
    const everything = JSON.stringify([put.body, smtp.body, got.body]);
    expect(everything).not.toContain(TWILIO_TOKEN);
    expect(everything).not.toContain('smtp-password-secret');
  });

  it('stores secrets sealed (AES-256-GCM), not in clear', async () => {
    // Arrange
    const { apiKey, orgId } = await h.createOrg();

    // Act
    await h.call('PUT', '/v1/org/settings/twilio', settingsFor(fakes).twilio, apiKey);
    const raw = await h.engine.redis.hget(h.engine.keys.settings(orgId), 'twilio');

    // Assert
    expect(raw).not.toContain(TWILIO_TOKEN);
    const stored = JSON.parse(raw!);
    expect(stored.public).toEqual({
      accountSid: TWILIO_SID,
      smsFrom: '+447700900001',
      whatsappFrom: '+447700900002',
    });
    expect(stored.sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect((await h.engine.settings.get(orgId)).twilio?.authToken).toBe(TWILIO_TOKEN);
  });

  it('a sealed value moved to another organization does not open', async () => {
    // Arrange
    const a = await h.createOrg();
    const b = await h.createOrg();
    await h.call('PUT', '/v1/org/settings/twilio', settingsFor(fakes).twilio, a.apiKey);
    const raw = await h.engine.redis.hget(h.engine.keys.settings(a.orgId), 'twilio');

    // Act
    await h.engine.redis.hset(h.engine.keys.settings(b.orgId), 'twilio', raw!);

    // Assert
    await expect(h.engine.settings.get(b.orgId)).rejects.toThrow();
  });

  it('a secret left out of an update keeps its value; the provider still authenticates', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['twilio']);
    const { authToken: _token, ...withoutToken } = settingsFor(fakes).twilio;

    // Act
    const updated = await h.call(
      'PUT',
      '/v1/org/settings/twilio',
      { ...withoutToken, smsFrom: '+447700900099' },
      apiKey,
    );
    const workflowId = await publishWorkflow(h, apiKey, {
      name: 'Text',
      nodes: [trigger(), { id: 'sms', type: 'send_sms', params: { body: 'still works' } }],
      edges: chain('start', 'sms'),
    });
    await h.call('POST', '/v1/events', { type: 'new_lead', lead: { phone: '+447700900990' } }, apiKey);
    const execution = await settledExecution(h, apiKey, workflowId);

    // Assert
    expect(updated.body.settings).toMatchObject({ authToken: 'set', smsFrom: '+447700900099' });
    expect(execution.status).toBe('completed');
    expect(fakes.twilio.messages.find((m) => m.to === '+447700900990')?.from).toBe('+447700900099');
  });

  it('answers bad settings with a 400 that names the field, and unknown sections with a 404', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    const { authToken: _token, ...withoutToken } = settingsFor(fakes).twilio;

    // Act
    const badSid = await h.call(
      'PUT',
      '/v1/org/settings/twilio',
      { ...settingsFor(fakes).twilio, accountSid: 'AC1' },
      apiKey,
    );
    const noToken = await h.call('PUT', '/v1/org/settings/twilio', withoutToken, apiKey);
    const typo = await h.call(
      'PUT',
      '/v1/org/settings/twilio',
      { ...settingsFor(fakes).twilio, smsFromm: '+1' },
      apiKey,
    );
    const unknown = await h.call('PUT', '/v1/org/settings/fax', {}, apiKey);
    const admin = await h.call('GET', '/v1/org/settings', undefined, ADMIN_TOKEN);

    // Assert
    expect(badSid.status).toBe(400);
    expect(badSid.body.error.issues[0].path).toBe('twilio.accountSid');
    expect(noToken.status).toBe(400);
    expect(noToken.body.error.issues).toEqual([
      { path: 'twilio.authToken', message: 'required (a secret; send it once)' },
    ]);
    expect(typo.status).toBe(400);
    expect(unknown.status).toBe(404);
    expect(admin.status).toBe(403);
  });

  it('removes a section', async () => {
    // Arrange
    const { apiKey } = await h.createOrg();
    await configure(h, apiKey, fakes, ['stripe']);

    // Act
    const removed = await h.call('DELETE', '/v1/org/settings/stripe', undefined, apiKey);
    const again = await h.call('DELETE', '/v1/org/settings/stripe', undefined, apiKey);

    // Assert
    expect(removed.status).toBe(200);
    expect(again.status).toBe(404);
    expect((await h.call('GET', '/v1/org/settings', undefined, apiKey)).body.settings).toEqual({});
  });

  it('never logs a secret, even when the whole settings object is logged', async () => {
    // Arrange
    const { apiKey, orgId } = await h.createOrg();
    await configure(h, apiKey, fakes, ['smtp', 'twilio', 'meta', 'stripe', 'crm', 'webhooks']);
    const { logger, lines } = capturedLogs();

    // Act
    const settings = await h.engine.settings.get(orgId);
    logger.info({ settings, orgId }, 'settings loaded');
    logger.info({ org: { settings } }, 'nested deeper');

    // Assert
    const output = lines.join('');
    for (const secret of [
      TWILIO_TOKEN,
      'smtp-password-secret',
      'EAAB-meta-access-token',
      'sk_test_fake',
      'crm-api-token',
      'whsec-',
    ]) {
      expect(output).not.toContain(secret);
    }
    expect(output).toContain('[redacted]');
    expect(output).toContain(TWILIO_SID);
  });
});
