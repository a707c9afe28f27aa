// Email engagement tracking tokens: the claims (organization, execution, lead, node and, for a click, the URL) in
// base64url JSON, followed by an HMAC-SHA256 over them keyed by TRACKING_SECRET. Forging or editing one is refused.
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from '../shared/zod.js';
import { LeadId, type EventInput } from '../events/schema.js';
import { HttpError } from '../shared/errors.js';
import { stableId } from '../shared/ids.js';

export interface TrackingClaims {
  kind: 'open' | 'click';
  orgId: string;
  executionId: string;
  leadId: string;
  nodeId: string;
  /** For a click: the only URL the redirect goes to. */
  url?: string;
}

const Id = z.string().check(z.minLength(1), z.maxLength(200));
const HttpUrl = z.url({ protocol: /^https?$/ }).check(z.maxLength(4096));

const Wire = z.strictObject({
  v: z.literal(1),
  k: z.enum(['o', 'c']),
  o: Id,
  x: Id,
  l: LeadId,
  n: Id,
  u: z.optional(HttpUrl),
});

const mac = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(`atlas-tracking.${payload}`).digest();

/** Signs tracking claims into a URL-safe token. A click token must carry an http(s) URL. */
export function signTrackingToken(secret: string, claims: TrackingClaims): string {
  if (claims.kind === 'click') HttpUrl.parse(claims.url);
  const wire = Wire.parse({
    v: 1,
    k: claims.kind === 'open' ? 'o' : 'c',
    o: claims.orgId,
    x: claims.executionId,
    l: claims.leadId,
    n: claims.nodeId,
    ...(claims.kind === 'click' ? { u: claims.url } : {}),
  });
  const payload = Buffer.from(JSON.stringify(wire)).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The pixel and redirect URLs an email provider puts into a message. */
export function trackingUrls(baseUrl: string, secret: string, claims: Omit<TrackingClaims, 'kind' | 'url'>) {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    openPixel: `${base}/v1/t/o/${signTrackingToken(secret, { ...claims, kind: 'open' })}`,
    click: (url: string) => `${base}/v1/t/c/${signTrackingToken(secret, { ...claims, kind: 'click', url })}`,
  };
}

const refused = () => new HttpError(403, 'invalid_token', 'the tracking token is not valid');

/** Verifies a token in constant time and returns its claims; any tampering, or a token of the other kind, is a 403. */
export function verifyTrackingToken(
  secret: string,
  token: string,
  kind: TrackingClaims['kind'],
): TrackingClaims {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined || token.length > 8192) throw refused();
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw refused();
  }
  const wire = Wire.safeParse(decoded);
  if (!wire.success || wire.data.k !== (kind === 'open' ? 'o' : 'c')) throw refused();
  if (kind === 'click' && !wire.data.u) throw refused();
  return {
    kind,
    orgId: wire.data.o,
    executionId: wire.data.x,
    leadId: wire.data.l,
    nodeId: wire.data.n,
    ...(wire.data.u ? { url: wire.data.u } : {}),
  };
}

/**
 * The event a hit produces. Its id is derived from the claims, so an email's opens count once per execution and
 * node (mail clients and proxies fetch pixels repeatedly), and its clicks once per execution, node and URL, for as
 * long as event ids are remembered (EVENT_DEDUPE_TTL_SECONDS).
 */
export function trackingEvent(claims: TrackingClaims): EventInput {
  const type = claims.kind === 'open' ? 'email_opened' : 'link_clicked';
  const parts = [claims.executionId, claims.nodeId, ...(claims.url ? [claims.url] : [])];
  return {
    id: `${claims.kind}_${stableId(...parts)}`,
    type,
    lead: { id: claims.leadId },
    data: {
      executionId: claims.executionId,
      nodeId: claims.nodeId,
      ...(claims.url ? { url: claims.url } : {}),
    },
  };
}

/** A transparent 1×1 GIF. */
export const TRANSPARENT_GIF = Buffer.from(
  'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7',
  'base64',
);
