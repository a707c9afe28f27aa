// Public routes behind the links in emails: one-click unsubscribe (RFC 8058), the open pixel and click redirects.
// Each trusts only its signed token; opens and clicks become `email_opened` and `link_clicked` events.
import { createHash } from 'node:crypto';
import type { LinkKind, LinkPayload } from '../actions/links.js';
import { ingestEvents } from '../events/ingest.js';
import type { EventInput } from '../events/schema.js';
import { notFound } from '../shared/errors.js';
import { json, type Route } from './router.js';
import type { OrgRouteContext } from './settings-routes.js';

const PIXEL =
  '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1" viewBox="0 0 1 1"><rect width="1" height="1" fill="none"/></svg>';
const noStore = { 'cache-control': 'no-store, max-age=0' };

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">${body}</body></html>`;

function payloadOf(context: OrgRouteContext, kind: LinkKind, token: string | undefined): LinkPayload {
  const payload = token ? context.engine.links.read(kind, token) : undefined;
  if (!payload) throw notFound('link');
  return payload;
}

/** Records an open or a click as an event; a failure must not break the redirect or the image, so it is logged. */
async function track(context: OrgRouteContext, payload: LinkPayload, event: EventInput): Promise<void> {
  try {
    await ingestEvents(context.engine, payload.orgId, [event]);
  } catch (error) {
    context.engine.logger.error(
      { err: error, orgId: payload.orgId, type: event.type },
      'tracking event lost',
    );
  }
}

const messageData = (payload: LinkPayload) => ({
  ...(payload.executionId ? { executionId: payload.executionId } : {}),
  ...(payload.nodeId ? { nodeId: payload.nodeId } : {}),
});

export const linkRoutes: Route<OrgRouteContext>[] = [
  {
    method: 'GET',
    pattern: '/v1/u/:token',
    // A GET only asks: link scanners follow links, so only the POST (the button, or the mail client's one-click) acts.
    async handle(request, { token }, context) {
      payloadOf(context, 'unsubscribe', token);
      return json(
        200,
        page(
          'Unsubscribe',
          `<p>Stop receiving these emails?</p><form method="post" action="${request.path}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
        ),
        { 'content-type': 'text/html; charset=utf-8', ...noStore },
      );
    },
  },
  {
    method: 'POST',
    pattern: '/v1/u/:token',
    async handle(_request, { token }, context) {
      const payload = payloadOf(context, 'unsubscribe', token);
      await context.engine.consent.change({
        orgId: payload.orgId,
        channel: payload.channel ?? 'email',
        optedIn: false,
        source: 'unsubscribe_link',
        ...(payload.leadId ? { leadId: payload.leadId } : {}),
        ...(payload.address ? { address: payload.address } : {}),
      });
      return json(
        200,
        page('Unsubscribed', '<p>You are unsubscribed. You will not receive these emails again.</p>'),
        {
          'content-type': 'text/html; charset=utf-8',
          ...noStore,
        },
      );
    },
  },
  {
    method: 'GET',
    pattern: '/v1/t/o/:token',
    async handle(_request, { token }, context) {
      const payload = payloadOf(context, 'open', token);
      await track(context, payload, {
        id: `open:${payload.executionId}:${payload.nodeId}`,
        type: 'email_opened',
        ...(payload.leadId ? { lead: { id: payload.leadId } } : {}),
        data: messageData(payload),
      });
      return json(200, PIXEL, { 'content-type': 'image/svg+xml', ...noStore });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/t/c/:token',
    async handle(_request, { token }, context) {
      const payload = payloadOf(context, 'click', token);
      const url = payload.url ?? '';
      if (!/^https?:\/\//i.test(url)) throw notFound('link');
      const hash = createHash('sha256').update(url).digest('base64url').slice(0, 16);
      await track(context, payload, {
        id: `click:${payload.executionId}:${payload.nodeId}:${hash}`,
        type: 'link_clicked',
        ...(payload.leadId ? { lead: { id: payload.leadId } } : {}),
        data: { ...messageData(payload), url },
      });
      return json(302, '', { location: url, ...noStore });
    },
  },
];

/** Patterns of the routes above: they authenticate by token, not by API key. */
export const linkRoutePatterns = linkRoutes.map((route) => route.pattern);
