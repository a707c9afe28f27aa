import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { publicIngestPatterns } from '../../src/http/ingest-routes.js';
import { linkRoutePatterns } from '../../src/http/link-routes.js';
import type { Route } from '../../src/http/router.js';
import type { ApiRequest } from '../../src/http/types.js';
import type { Logger } from '../../src/observability/logger.js';
import { HttpError } from '../../src/shared/errors.js';
import { capturedLogs } from '../support/logs.js';

const TOKEN = 'eyJvIjoib3JnXzEiLCJrIjoiYyJ9.bGVha2VkLXNpZ25hdHVyZQ';

const get = (path: string): ApiRequest => ({ method: 'GET', path, query: {}, headers: {}, body: '' });

/** A handler over one public route that fails as a broken engine does (not with an HttpError). */
function failingHandler(pattern: string, logger: Logger) {
  const route: Route<{ principal: () => Promise<never> }> = {
    method: 'GET',
    pattern,
    public: true,
    handle: () => Promise.reject(new Error('Connection is closed.')),
  };
  return createHandler({
    routes: [route],
    maxBodyBytes: 1024,
    authenticate: () => Promise.reject(new HttpError(401, 'unauthorized', 'send Authorization')),
    context: (principal) => ({ principal: principal as () => Promise<never> }),
    logger,
  });
}

describe('the request handler', () => {
  const tokenPatterns = [...linkRoutePatterns, ...publicIngestPatterns].filter((p) => p.includes(':token'));

  it.each([...new Set(tokenPatterns)])(
    'logs a request to %s that fails by its route pattern, never the token in its path',
    async (pattern) => {
      // Arrange
      const { logger, lines } = capturedLogs();
      const handle = failingHandler(pattern, logger);

      // Act
      const response = await handle(get(pattern.replace(':token', TOKEN)));

      // Assert
      expect(response.status).toBe(500);
      const output = lines.join('');
      expect(output).toContain('request failed');
      expect(JSON.parse(lines[0]!)).toMatchObject({ method: 'GET', route: pattern });
      expect(output).not.toContain(TOKEN);
    },
  );

  it('answers a path parameter that is not valid percent-encoding with a 400 naming it, not a 500', async () => {
    // Arrange
    const { logger, lines } = capturedLogs();
    const handle = failingHandler('/v1/t/c/:token', logger);

    // Act
    const response = await handle(get('/v1/t/c/%E0%A4'));

    // Assert
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: {
        code: 'validation_failed',
        message: 'invalid request: token: is not valid percent-encoding',
        issues: [{ path: 'token', message: 'is not valid percent-encoding' }],
      },
    });
    expect(lines).toEqual([]);
  });
});
