import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

/** The message of the ConfigError that loading `env` throws. */
function configErrorFor(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw`);
}

const adminToken = 'a-very-long-admin-token';
const settingsKey = Buffer.alloc(32, 7).toString('base64');

describe('loadConfig', () => {
  it('fills every default from an empty environment', () => {
    // Act
    const config = loadConfig({});

    // Assert
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_CLUSTER_NODES: [],
      REDIS_TLS: false,
      QUEUE_PREFIX: 'atlas',
      PORT: 3000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      WORKER_CONCURRENCY: 50,
      JOB_ATTEMPTS: 3,
      JOB_BACKOFF_MS: 2000,
      EVENT_DEDUPE_TTL_SECONDS: 2_592_000,
      RETENTION_DAYS: 30,
      WEBHOOK_ALLOWLIST: [],
      MAX_BODY_BYTES: 1_048_576,
      TWILIO_BASE_URL: 'https://api.twilio.com',
      STRIPE_BASE_URL: 'https://api.stripe.com',
      META_GRAPH_BASE_URL: 'https://graph.facebook.com',
      AI_BASE_URL: 'https://api.openai.com/v1',
    });
    expect(config.ADMIN_TOKEN).toBeUndefined();
    expect(config.SMTP_URL).toBeUndefined();
  });

  it('returns a frozen object', () => {
    // Act
    const config = loadConfig({});

    // Assert
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads values from the environment it is given, coercing numbers and booleans', () => {
    // Arrange
    const env = {
      PORT: '8080',
      QUEUE_PREFIX: 'tenant_a-1',
      REDIS_URL: 'rediss://cache.example.internal:6380',
      REDIS_TLS: 'true',
      WORKER_CONCURRENCY: '8',
      JOB_ATTEMPTS: '5',
      LOG_LEVEL: 'debug',
      STRIPE_BASE_URL: 'http://localhost:12111',
    };

    // Act
    const config = loadConfig(env);

    // Assert
    expect(config).toMatchObject({
      PORT: 8080,
      QUEUE_PREFIX: 'tenant_a-1',
      REDIS_URL: 'rediss://cache.example.internal:6380',
      REDIS_TLS: true,
      WORKER_CONCURRENCY: 8,
      JOB_ATTEMPTS: 5,
      LOG_LEVEL: 'debug',
      STRIPE_BASE_URL: 'http://localhost:12111',
    });
  });

  it('ignores variables it does not know', () => {
    // Act
    const config = loadConfig({ PATH: '/usr/bin', HOME: '/root' }) as Record<string, unknown>;

    // Assert
    expect(config.PATH).toBeUndefined();
    expect(config.HOME).toBeUndefined();
  });

  describe('errors name the variable', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '80.5'],
      ['QUEUE_PREFIX', 'my prefix'],
      ['QUEUE_PREFIX', 'a:b'],
      ['QUEUE_PREFIX', 'x'.repeat(41)],
      ['REDIS_URL', 'http://localhost:6379'],
      ['REDIS_TLS', 'maybe'],
      ['NODE_ENV', 'staging'],
      ['LOG_LEVEL', 'verbose'],
      ['WORKER_CONCURRENCY', '0'],
      ['JOB_ATTEMPTS', 'three'],
      ['MAX_BODY_BYTES', '10'],
      ['STRIPE_BASE_URL', 'not a url'],
      ['ADMIN_TOKEN', 'short'],
    ])('rejects %s=%j', (name, value) => {
      // Act
      const message = configErrorFor({ [name]: value });

      // Assert
      expect(message).toMatch(new RegExp(`^\\s*${name}(\\.\\d+)?: `, 'm'));
    });

    it('names every invalid variable at once', () => {
      // Act
      const message = configErrorFor({ PORT: 'abc', QUEUE_PREFIX: 'has spaces' });

      // Assert
      expect(message).toContain('PORT: ');
      expect(message).toContain('QUEUE_PREFIX: letters, digits, _ and - only');
    });

    it("explains a value in zod's English messages, though this file loads only zod/mini", () => {
      // Act
      const message = configErrorFor({ PORT: 'abc', WORKER_CONCURRENCY: '0', REDIS_URL: 'http://localhost' });

      // Assert
      expect(message).toContain('PORT: Invalid input: expected number, received NaN');
      expect(message).toContain('WORKER_CONCURRENCY: Too small: expected number to be >=1');
      expect(message).toContain('REDIS_URL: Invalid URL');
    });

    it('uses the ConfigError name', () => {
      // Act
      const error = (() => {
        try {
          loadConfig({ PORT: 'abc' });
        } catch (caught) {
          return caught as Error;
        }
        return undefined;
      })();

      // Assert
      expect(error?.name).toBe('ConfigError');
    });
  });

  describe('REDIS_CLUSTER_NODES', () => {
    it('splits a comma-separated list of host:port seeds, trimming blanks', () => {
      // Act
      const config = loadConfig({
        REDIS_CLUSTER_NODES: ' node-a.cache:7000, node-b.cache:7001 ,,10.0.0.3:6379 ',
      });

      // Assert
      expect(config.REDIS_CLUSTER_NODES).toEqual(['node-a.cache:7000', 'node-b.cache:7001', '10.0.0.3:6379']);
    });

    it.each(['node-a:7000,node-b', 'node-a', 'node-a:port', 'node a:7000'])('rejects %j', (value) => {
      // Act
      const message = configErrorFor({ REDIS_CLUSTER_NODES: value });

      // Assert
      expect(message).toMatch(/REDIS_CLUSTER_NODES(\.\d+)?: each node must be host:port/);
    });

    it('is an empty list when unset or blank', () => {
      // Act + Assert
      expect(loadConfig({}).REDIS_CLUSTER_NODES).toEqual([]);
      expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).REDIS_CLUSTER_NODES).toEqual([]);
    });
  });

  it('splits the webhook allowlist', () => {
    // Act
    const config = loadConfig({ WEBHOOK_ALLOWLIST: '10.0.0.0/8, 192.168.1.20 ,hooks.internal' });

    // Assert
    expect(config.WEBHOOK_ALLOWLIST).toEqual(['10.0.0.0/8', '192.168.1.20', 'hooks.internal']);
  });

  describe('ingest and AWS settings', () => {
    it('defaults to webhook windows of 5 minutes and 24 hours, the atlas.crm source, and no engine events', () => {
      // Act
      const config = loadConfig({});

      // Assert
      expect(config).toMatchObject({
        WEBHOOK_TOLERANCE_SECONDS: 300,
        WEBHOOK_REPLAY_TTL_SECONDS: 86_400,
        EVENTBRIDGE_SOURCES: ['atlas.crm'],
        ENGINE_EVENTS_SOURCE: 'atlas.automations',
        QUEUE_METRICS_INTERVAL_MS: 0,
        METRICS_NAMESPACE: 'AtlasAutomations',
        STAGE: 'local',
      });
      expect(config.ENGINE_EVENTS_BUS).toBeUndefined();
      expect(config.TRACKING_SECRET).toBeUndefined();
      expect(config.PUBLIC_BASE_URL).toBeUndefined();
    });

    it('splits the EventBridge sources and names bad values', () => {
      expect(loadConfig({ EVENTBRIDGE_SOURCES: 'atlas.crm, atlas.billing' }).EVENTBRIDGE_SOURCES).toEqual([
        'atlas.crm',
        'atlas.billing',
      ]);
      expect(configErrorFor({ TRACKING_SECRET: 'short' })).toContain(
        'TRACKING_SECRET: must be at least 32 characters',
      );
      expect(configErrorFor({ PUBLIC_BASE_URL: 'ftp://x.example' })).toContain('PUBLIC_BASE_URL');
      expect(configErrorFor({ EVENTBRIDGE_ENDPOINT: 'not a url' })).toContain('EVENTBRIDGE_ENDPOINT');
    });
  });

  describe('production', () => {
    it('throws without ADMIN_TOKEN, naming it', () => {
      // Act
      const message = configErrorFor({ NODE_ENV: 'production' });

      // Assert
      expect(message).toContain('ADMIN_TOKEN: required in production');
    });

    it('loads with an ADMIN_TOKEN of at least 16 characters and a settings key', () => {
      // Act
      const config = loadConfig({
        NODE_ENV: 'production',
        ADMIN_TOKEN: adminToken,
        SETTINGS_ENCRYPTION_KEY: settingsKey,
      });

      // Assert
      expect(config.NODE_ENV).toBe('production');
      expect(config.ADMIN_TOKEN).toBe(adminToken);
    });

    it('throws without SETTINGS_ENCRYPTION_KEY, naming it and how to make one', () => {
      // Act
      const message = configErrorFor({ NODE_ENV: 'production', ADMIN_TOKEN: adminToken });

      // Assert
      expect(message).toContain('SETTINGS_ENCRYPTION_KEY: required in production');
      expect(message).toContain('openssl rand -base64 32');
    });

    it('does not demand ADMIN_TOKEN in development or test', () => {
      // Act + Assert
      expect(() => loadConfig({ NODE_ENV: 'development' })).not.toThrow();
      expect(() => loadConfig({ NODE_ENV: 'test' })).not.toThrow();
    });
  });
});

describe('empty variables', () => {
  it('treats a variable set to the empty string as unset', () => {
    const config = loadConfig({ PORT: '', WORKER_CONCURRENCY: '', ACTION_QUEUE_PARTITIONS: '4' });

    expect(config.PORT).toBe(3000);
    expect(config.WORKER_CONCURRENCY).toBe(50);
    expect(config.ACTION_QUEUE_PARTITIONS).toBe(4);
  });
});

describe('provider settings', () => {
  it('refuses a settings key that is not 32 bytes of base64', () => {
    // Act
    const message = configErrorFor({ SETTINGS_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') });

    // Assert
    expect(message).toContain('SETTINGS_ENCRYPTION_KEY: must be 32 bytes, base64-encoded');
  });

  it('parses RATE_LIMITS and FREQUENCY_CAPS as JSON, naming the variable when they are not', () => {
    // Act
    const config = loadConfig({
      RATE_LIMITS: '{"send_sms":{"limit":3,"windowMs":1000}}',
      FREQUENCY_CAPS: '{"sms":{"limit":1,"windowMs":60000}}',
    });
    const broken = configErrorFor({ RATE_LIMITS: '{send_sms: 3}' });
    const invalid = configErrorFor({ FREQUENCY_CAPS: '{"sms":{"limit":0,"windowMs":1000}}' });

    // Assert
    expect(config.RATE_LIMITS).toEqual({ send_sms: { limit: 3, windowMs: 1000 } });
    expect(config.FREQUENCY_CAPS).toEqual({ sms: { limit: 1, windowMs: 60_000 } });
    expect(broken).toContain('RATE_LIMITS: must be JSON');
    expect(invalid).toContain('FREQUENCY_CAPS.sms.limit');
  });

  it('demands SMTP_URL when EMAIL_PROVIDER is smtp', () => {
    // Act + Assert
    expect(configErrorFor({ EMAIL_PROVIDER: 'smtp' })).toContain(
      'SMTP_URL: required when EMAIL_PROVIDER is smtp',
    );
  });
});
