// Public route behind the unsubscribe links in emails: one-click unsubscribe (RFC 8058). It trusts only its signed
// token. The open pixel and click redirects are main's tracking routes (src/http/ingest-routes.ts).
import type { LinkKind, LinkPayload } from '../actions/links.js';
import { notFound } from '../shared/errors.js';
import { json, type Route } from './router.js';
import type { OrgRouteContext } from './settings-routes.js';

const noStore = { 'cache-control': 'no-store, max-age=0' };

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head><body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">${body}</body></html>`;

function payloadOf(context: OrgRouteContext, kind: LinkKind, token: string | undefined): LinkPayload {
  const payload = token ? context.engine.links.read(kind, token) : undefined;
  if (!payload) throw notFound('link');
  return payload;
}

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
];

/** Patterns of the routes above: they authenticate by token, not by API key. */
export const linkRoutePatterns = linkRoutes.map((route) => route.pattern);
