// Signed one-click unsubscribe links in emails. A token is its payload and an HMAC over it, so the public route that
// receives it trusts nothing else and needs no lookup. Open and click tracking use src/tracking/tokens.ts.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkKind = 'unsubscribe';

export interface LinkPayload {
  orgId: string;
  leadId?: string;
  executionId?: string;
  nodeId?: string;
  /** The address that unsubscribes (for the suppression list when the lead is unknown). */
  address?: string;
  channel?: 'email' | 'sms' | 'whatsapp';
}

const paths: Record<LinkKind, string> = { unsubscribe: 'u' };

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
