// Receiving a signed webhook: find the organization's secrets for the source, verify the signature in constant time,
// parse the payload, refuse a replay, then ingest the events it maps to. Nothing is written before all checks pass.
import type { Config } from '../config/config.js';
import { ingestEvents, type IngestDeps } from '../events/ingest.js';
import type { EventInput } from '../events/schema.js';
import { jsonBody } from '../http/auth.js';
import { json, parseWith } from '../http/router.js';
import type { ApiRequest, ApiResponse } from '../http/types.js';
import { HttpError } from '../shared/errors.js';
import { GENERIC_SIGNATURE_HEADER, GenericPayload, genericEvent, verifyGeneric } from './generic.js';
import { answerChallenge, MetaNotification, metaEvents, verifyMeta } from './meta.js';
import { createReplayGuard } from './replay.js';
import { WebhookSource, type WebhookSecretStore } from './secrets.js';
import { isForwarded, StripeEvent, stripeEvent, verifyStripe } from './stripe.js';
import { EMPTY_TWIML, TwilioMessage, twilioEvent, verifyTwilio } from './twilio.js';

export interface WebhookDeps extends IngestDeps {
  webhookSecrets: Pick<WebhookSecretStore, 'active'>;
  config: Pick<
    Config,
    | 'EVENT_DEDUPE_TTL_SECONDS'
    | 'PUBLIC_BASE_URL'
    | 'WEBHOOK_TOLERANCE_SECONDS'
    | 'WEBHOOK_REPLAY_TTL_SECONDS'
  >;
}

interface Accepting {
  /** What the replay guard remembers: the verified signature. */
  signature: string;
  replayTtlSeconds: number;
  events: EventInput[];
  respond(accepted: Awaited<ReturnType<typeof ingestEvents>>): ApiResponse;
}

const OrgId = /^[A-Za-z0-9_-]{1,64}$/;

const notConfigured = (source: string) =>
  new HttpError(404, 'not_found', `no ${source} webhook is configured for this organization`);

async function secretsFor(deps: WebhookDeps, orgId: string, sourceName: string) {
  const source = WebhookSource.safeParse(sourceName);
  if (!source.success)
    throw new HttpError(
      404,
      'not_found',
      `unknown webhook source ${sourceName}; use generic, twilio, meta or stripe`,
    );
  if (!OrgId.test(orgId)) throw notConfigured(source.data);
  const active = await deps.webhookSecrets.active(orgId, source.data);
  if (!active) throw notConfigured(source.data);
  return { source: source.data, ...active };
}

/** The URL Twilio called: the configured public base URL, the path, and the query string as received. */
export function publicUrl(request: ApiRequest, base: string | undefined): string {
  const origin = (base ?? `http://${request.headers.host ?? 'localhost'}`).replace(/\/+$/, '');
  const query = request.rawQuery ?? new URLSearchParams(request.query).toString();
  return `${origin}${request.path}${query ? `?${query}` : ''}`;
}

/** `GET /v1/webhooks/{orgId}/meta`: Meta's subscription handshake. */
export async function answerWebhookChallenge(
  deps: WebhookDeps,
  orgId: string,
  sourceName: string,
  request: ApiRequest,
): Promise<ApiResponse> {
  const { source, verifyToken } = await secretsFor(deps, orgId, sourceName);
  if (source !== 'meta')
    throw new HttpError(405, 'method_not_allowed', `GET is only for Meta's subscription handshake`);
  return {
    status: 200,
    body: answerChallenge(request.query, verifyToken),
    headers: { 'content-type': 'text/plain' },
  };
}

/** `POST /v1/webhooks/{orgId}/{source}`. */
export async function receiveWebhook(
  deps: WebhookDeps,
  orgId: string,
  sourceName: string,
  request: ApiRequest,
): Promise<ApiResponse> {
  const { source, secrets } = await secretsFor(deps, orgId, sourceName);
  const nowSeconds = Math.floor((deps.now?.() ?? new Date()).getTime() / 1000);
  const tolerance = deps.config.WEBHOOK_TOLERANCE_SECONDS;
  const timestampedTtl = tolerance * 2 + 60;
  let accepting: Accepting;

  switch (source) {
    case 'generic': {
      const verified = verifyGeneric({
        header: request.headers[GENERIC_SIGNATURE_HEADER],
        body: request.body,
        secrets,
        nowSeconds,
        toleranceSeconds: tolerance,
      });
      const payload = parseWith(GenericPayload, jsonBody(request));
      accepting = {
        signature: verified.signature,
        replayTtlSeconds: timestampedTtl,
        events: [genericEvent(payload, verified)],
        respond: (accepted) => json(202, { accepted }),
      };
      break;
    }
    case 'stripe': {
      const verified = verifyStripe({
        header: request.headers['stripe-signature'],
        body: request.body,
        secrets,
        nowSeconds,
        toleranceSeconds: tolerance,
      });
      const event = parseWith(StripeEvent, jsonBody(request));
      if (!isForwarded(event.type)) return json(200, { ignored: true, type: event.type });
      accepting = {
        signature: verified.signature,
        replayTtlSeconds: timestampedTtl,
        events: [stripeEvent(event)],
        respond: (accepted) => json(200, { accepted }),
      };
      break;
    }
    case 'twilio': {
      const params = [...new URLSearchParams(request.body).entries()];
      const signature = verifyTwilio({
        header: request.headers['x-twilio-signature'],
        url: publicUrl(request, deps.config.PUBLIC_BASE_URL),
        params,
        secrets,
      });
      accepting = {
        signature,
        replayTtlSeconds: deps.config.WEBHOOK_REPLAY_TTL_SECONDS,
        events: [twilioEvent(parseWith(TwilioMessage, Object.fromEntries(params)))],
        respond: () => ({ status: 200, body: EMPTY_TWIML, headers: { 'content-type': 'text/xml' } }),
      };
      break;
    }
    case 'meta': {
      const signature = verifyMeta({
        header: request.headers['x-hub-signature-256'],
        body: request.body,
        secrets,
      });
      const { events, issues } = metaEvents(parseWith(MetaNotification, jsonBody(request)));
      if (issues.length > 0) {
        throw new HttpError(
          400,
          'validation_failed',
          `invalid request: ${issues[0]}`,
          issues.map((issue) => {
            const [path, ...message] = issue.split(': ');
            return { path: path!, message: message.join(': ') };
          }),
        );
      }
      accepting = {
        signature,
        replayTtlSeconds: deps.config.WEBHOOK_REPLAY_TTL_SECONDS,
        events,
        respond: (accepted) => json(200, { accepted }),
      };
      break;
    }
  }

  // Refused once accepted; remembered only after its events are queued. Requests racing each other both pass, and
  // their events are one: every source's event id is derived from the request, and ingest accepts an id once.
  const guard = createReplayGuard(deps.redis, deps.keys);
  if (await guard.seen(orgId, source, accepting.signature))
    throw new HttpError(403, 'replayed', 'this signed request was already received');
  const accepted = accepting.events.length > 0 ? await ingestEvents(deps, orgId, accepting.events) : [];
  await guard.remember(orgId, source, accepting.signature, accepting.replayTtlSeconds);
  return accepting.respond(accepted);
}
