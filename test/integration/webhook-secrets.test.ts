// The webhook secret store on Redis when a sealed value does not open: another key, a tampered value, a record that is
// not one. The webhook sees such a source as not set up, and the log names what was ignored, never its value.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { createSecretBox } from '../../src/orgs/secrets.js';
import { createWebhookSecretStore } from '../../src/webhooks/secrets.js';
import { startHarness, type Harness } from '../support/harness.js';
import { capturedLogs } from '../support/logs.js';

const KEY_BEFORE = Buffer.alloc(32, 1).toString('base64');
const KEY_AFTER = Buffer.alloc(32, 2).toString('base64');

describe('webhook secret store: values that do not open', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(() => h.close());

  const newOrgId = () => `org_${randomBytes(8).toString('hex')}`;
  const storeWith = (key: string, logger = createLogger('silent')) =>
    createWebhookSecretStore(h.engine.redis, h.engine.keys, createSecretBox(key), logger);

  it('ignores a secret sealed with another key, logs it once without its value, and verifies with one added since', async () => {
    // Arrange
    const orgId = newOrgId();
    const old = await storeWith(KEY_BEFORE).add(orgId, 'generic', {});
    const { logger, lines } = capturedLogs('warn');
    const store = storeWith(KEY_AFTER, logger);

    // Act
    const unreadable = await store.active(orgId, 'generic');
    const again = await store.active(orgId, 'generic');
    const added = await store.add(orgId, 'generic', {});
    const rotated = await store.active(orgId, 'generic');

    // Assert
    expect(unreadable).toBeUndefined();
    expect(again).toBeUndefined();
    expect(rotated).toEqual({ secrets: [added.secret] });
    const logged = lines.map((line) => JSON.parse(line));
    expect(logged.map(({ orgId, source, what }) => ({ orgId, source, what }))).toEqual([
      { orgId, source: 'generic', what: old.created.id },
      { orgId, source: 'generic', what: old.created.id },
    ]);
    expect(lines.join('')).not.toContain(old.secret);
    expect(lines.join('')).not.toContain(added.secret);
  });

  it('answers a tampered value, and a stored text that is no record, as a source that is not set up', async () => {
    // Arrange
    const orgId = newOrgId();
    const store = storeWith(KEY_BEFORE);
    await store.add(orgId, 'stripe', { secret: 'whsec_tamper_0123456789abcdef' });
    const key = h.engine.keys.webhookSecrets(orgId);
    const record = JSON.parse((await h.engine.redis.hget(key, 'stripe'))!);
    const [version, iv, tag, ciphertext] = record.secrets[0].sealed.split('.');
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    record.secrets[0].sealed = [version, iv, tag, flipped.toString('base64url')].join('.');

    // Act
    await h.engine.redis.hset(key, 'stripe', JSON.stringify(record));
    await h.engine.redis.hset(key, 'twilio', 'not json');

    // Assert
    expect(await store.active(orgId, 'stripe')).toBeUndefined();
    expect(await store.active(orgId, 'twilio')).toBeUndefined();
  });
});
