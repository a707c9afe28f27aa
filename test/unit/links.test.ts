import { describe, expect, it } from 'vitest';
import { createLinks } from '../../src/actions/links.js';

const links = createLinks({ secret: Buffer.alloc(32, 1), baseUrl: 'https://atlas.test/' });
const tokenOf = (url: string) => url.split('/').at(-1)!;

describe('signed links', () => {
  it('round-trips a payload', () => {
    // Arrange
    const url = links.url('unsubscribe', {
      orgId: 'org_1',
      leadId: 'L1',
      address: 'a@b.c',
      channel: 'email',
    });

    // Act + Assert
    expect(url).toMatch(/^https:\/\/atlas\.test\/v1\/u\/[\w-]+\.[\w-]+$/);
    expect(links.read('unsubscribe', tokenOf(url))).toEqual({
      orgId: 'org_1',
      leadId: 'L1',
      address: 'a@b.c',
      channel: 'email',
    });
  });

  it('refuses a tampered payload, a tampered signature, another key and garbage', () => {
    // Arrange
    const token = tokenOf(links.url('unsubscribe', { orgId: 'org_1', address: 'a@b.c' }));
    const [body, signature] = token.split('.') as [string, string];
    const forgedBody = Buffer.from(JSON.stringify({ orgId: 'org_2', address: 'a@b.c' })).toString(
      'base64url',
    );
    const other = createLinks({ secret: Buffer.alloc(32, 2), baseUrl: 'https://atlas.test' });

    // Act + Assert
    expect(links.read('unsubscribe', `${forgedBody}.${signature}`)).toBeUndefined();
    expect(links.read('unsubscribe', `${body}.${signature.slice(0, -2)}AA`)).toBeUndefined();
    expect(other.read('unsubscribe', token)).toBeUndefined();
    expect(links.read('unsubscribe', 'nonsense')).toBeUndefined();
    // 20 bytes in base64url leave 2 unused bits in the last character: a spelling that decodes alike is refused too.
    const last = signature.at(-1)!;
    const twin = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(last) ^ 1
    ]!;
    expect(links.read('unsubscribe', `${body}.${signature.slice(0, -1)}${twin}`)).toBeUndefined();
    expect(links.read('unsubscribe', '')).toBeUndefined();
  });
});
