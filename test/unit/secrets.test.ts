import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../../src/orgs/secrets.js';

const key = Buffer.alloc(32, 3).toString('base64');

describe('secret box (AES-256-GCM)', () => {
  it('seals with a fresh IV each time and opens with the same key and owner', () => {
    // Arrange
    const box = createSecretBox(key);

    // Act
    const a = box.seal('token-123', 'org_1:twilio');
    const b = box.seal('token-123', 'org_1:twilio');

    // Assert
    expect(a).not.toBe(b);
    expect(a).not.toContain('token-123');
    expect(box.open(a, 'org_1:twilio')).toBe('token-123');
  });

  it('refuses to open for another owner, with another key, or after tampering', () => {
    // Arrange
    const box = createSecretBox(key);
    const sealed = box.seal('token-123', 'org_1:twilio');
    const [version, iv, tag, ciphertext] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0] = flipped[0]! ^ 1;

    // Act + Assert
    expect(() => box.open(sealed, 'org_2:twilio')).toThrow();
    expect(() =>
      createSecretBox(Buffer.alloc(32, 4).toString('base64')).open(sealed, 'org_1:twilio'),
    ).toThrow();
    expect(() =>
      box.open([version, iv, tag, flipped.toString('base64url')].join('.'), 'org_1:twilio'),
    ).toThrow();
    expect(() => box.open('garbage', 'org_1:twilio')).toThrow('not a sealed value');
  });

  it('derives distinct subkeys per purpose, never the key itself', () => {
    // Arrange
    const box = createSecretBox(key);

    // Act + Assert
    expect(box.derive('links').equals(box.derive('links'))).toBe(true);
    expect(box.derive('links').equals(box.derive('other'))).toBe(false);
    expect(box.derive('links').equals(Buffer.from(key, 'base64'))).toBe(false);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => createSecretBox(Buffer.alloc(16).toString('base64'))).toThrow('32 bytes');
  });
});
