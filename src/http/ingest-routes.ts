// The ingest side of the public API: events, signed webhooks and email tracking. The management API includes these
// routes, and the lean ingest Lambda serves them alone (handlers/http/ingest.ts) so its bundle stays small.
import type { Config } from '../config/config.js';
import { ingestEvents } from '../events/ingest.js';
import { EventBatch, EventInput } from '../events/schema.js';
import type { Logger } from '../observability/logger.js';
import type { OrgStore } from '../orgs/store.js';
import type { RedisClient } from '../queue/redis.js';
import { HttpError } from '../shared/errors.js';
import {
  TRANSPARENT_GIF,
  trackingEvent,
  verifyTrackingToken,
  type TrackingClaims,
} from '../tracking/tokens.js';
import { answerWebhookChallenge, receiveWebhook, type WebhookDeps } from '../webhooks/receive.js';
import { createAuthenticator, jsonBody, orgOf, type AuthContext } from './auth.js';
import { createHandler } from './handler.js';
import { json, parseWith, type Route } from './router.js';

/** What ingest needs of the engine: Redis, the triggers queue, organizations and lead fields. */
export interface IngestServices extends WebhookDeps {
  config: Config;
  redis: RedisClient;
  orgs: Pick<OrgStore, 'authenticate' | 'get'>;
  logger: Logger;
}

export interface IngestContext extends AuthContext {
  engine: IngestServices;
}

const noStore = { 'cache-control': 'no-store, no-cache, must-revalidate, private', pragma: 'no-cache' };

/** Verifies a tracking token and ingests its event; a failure to record never breaks the reader's click or pixel. */
async function track(
  engine: IngestServices,
  token: string,
  kind: TrackingClaims['kind'],
): Promise<TrackingClaims> {
  const secret = engine.config.TRACKING_SECRET;
  if (!secret) throw new HttpError(404, 'not_found', 'email tracking is not configured');
  const claims = verifyTrackingToken(secret, token, kind);
  try {
    await ingestEvents(engine, claims.orgId, [trackingEvent(claims)]);
  } catch (error) {
    engine.logger.error(
      { err: error, orgId: claims.orgId, executionId: claims.executionId, nodeId: claims.nodeId, kind },
      'tracking event not recorded',
    );
  }
  return claims;
}

export const ingestRoutes: Route<IngestContext>[] = [
  {
    method: 'POST',
    pattern: '/v1/events',
    async handle(request, _params, context) {
      const orgId = await orgOf(context);
      const payload = jsonBody(request);
      const events =
        payload !== null && typeof payload === 'object' && 'events' in payload
          ? parseWith(EventBatch, payload).events
          : [parseWith(EventInput, payload)];
      const accepted = await ingestEvents(context.engine, orgId, events);
      return json(202, { accepted });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/webhooks/:orgId/:source',
    handle: (request, { orgId, source }, { engine }) => receiveWebhook(engine, orgId!, source!, request),
  },
  {
    method: 'GET',
    pattern: '/v1/webhooks/:orgId/:source',
    handle: (request, { orgId, source }, { engine }) =>
      answerWebhookChallenge(engine, orgId!, source!, request),
  },
  {
    method: 'GET',
    pattern: '/v1/t/o/:token',
    async handle(_request, { token }, { engine }) {
      await track(engine, token!, 'open');
      return { status: 200, body: TRANSPARENT_GIF, headers: { 'content-type': 'image/gif', ...noStore } };
    },
  },
  {
    method: 'GET',
    pattern: '/v1/t/c/:token',
    async handle(_request, { token }, { engine }) {
      const claims = await track(engine, token!, 'click');
      return { status: 302, body: '', headers: { location: claims.url!, ...noStore } };
    },
  },
];

/** Routes that authenticate by signature or token instead of an API key. */
export const publicIngestPatterns = ['/v1/webhooks/:orgId/:source', '/v1/t/o/:token', '/v1/t/c/:token'];

/** The lean ingest API: the routes above and `/healthz`, over ingest services only (no workers, no actions). */
export function createIngestApi(engine: IngestServices) {
  const routes: Route<IngestContext>[] = [
    {
      method: 'GET',
      pattern: '/healthz',
      async handle() {
        const pong = await engine.redis.ping();
        return json(200, { ok: pong === 'PONG', redis: pong === 'PONG' ? 'up' : 'down' });
      },
    },
    ...ingestRoutes,
  ];
  const open = new Set(['/healthz', ...publicIngestPatterns]);
  return createHandler<IngestContext>({
    routes,
    maxBodyBytes: engine.config.MAX_BODY_BYTES,
    authenticate: createAuthenticator(engine.orgs, engine.config.ADMIN_TOKEN),
    context: (principal) => ({ engine, principal }),
    isPublic: (route) => open.has(route.pattern),
    logger: engine.logger,
  });
}
