// Signed links in emails: one-click unsubscribe, the open pixel and click tracking. A token is its payload and an
// HMAC over it, so the public routes that receive them trust nothing else and need no lookup.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkKind = 'unsubscribe' | 'open' | 'click';

export interface LinkPayload {
  orgId: string;
  leadId?: string;
  executionId?: string;
  nodeId?: string;
  /** The address that unsubscribes (for the suppression list when the lead is unknown). */
  address?: string;
  channel?: 'email' | 'sms' | 'whatsapp';
  /** The destination of a tracked click. */
  url?: string;
}

const paths: Record<LinkKind, string> = { unsubscribe: 'u', open: 't/o', click: 't/c' };

export function createLinks({ secret, baseUrl }: { secret: Buffer; baseUrl: string }) {
  const root = baseUrl.replace(/\/+$/, '');
  const mac = (kind: LinkKind, body: string) =>
    createHmac('sha256', secret).update(`${kind}.${body}`).digest().subarray(0, 20);

  const token = (kind: LinkKind, payload: LinkPayload) => {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${mac(kind, body).toString('base64url')}`;
  };

  return {
    url: (kind: LinkKind, payload: LinkPayload) => `${root}/v1/${paths[kind]}/${token(kind, payload)}`,

    /** The payload of a token this engine signed for `kind`, or undefined (compared in constant time). */
    read(kind: LinkKind, text: string): LinkPayload | undefined {
      const [body, signature] = text.split('.');
      if (!body || !signature || text.length > 4096) return undefined;
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(kind, body);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      // Only the canonical spelling: base64url's last character carries unused bits that decode alike.
      if (given.toString('base64url') !== signature) return undefined;
      try {
        const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkPayload;
        return typeof payload.orgId === 'string' ? payload : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
export type Links = ReturnType<typeof createLinks>;
