// Secrets at rest: AES-256-GCM with a random 96-bit IV per value, bound to its owner by additional data.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** The key development and tests use when SETTINGS_ENCRYPTION_KEY is unset. Public, so never for production. */
export const DEVELOPMENT_KEY = createHash('sha256')
  .update('atlas-automations development settings key')
  .digest();

export interface SecretBox {
  /** `v1.<iv>.<tag>.<ciphertext>` in base64url; `aad` binds it to one owner (organization and section). */
  seal(plaintext: string, aad: string): string;
  /** Throws when the value was not sealed with this key and `aad` (tampered, moved, or another key). */
  open(sealed: string, aad: string): string;
  /** A subkey for another purpose (signing links), derived with HKDF so the settings key is never reused directly. */
  derive(purpose: string): Buffer;
}

export function createSecretBox(base64Key: string | undefined): SecretBox {
  const key = base64Key ? Buffer.from(base64Key, 'base64') : DEVELOPMENT_KEY;
  if (key.length !== 32) throw new Error('the settings encryption key must be 32 bytes');
  return {
    seal(plaintext, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url')).join('.');
    },
    open(sealed, aad) {
      const [version, iv, tag, ciphertext] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || ciphertext === undefined) throw new Error('not a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    },
    derive(purpose) {
      return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `atlas:${purpose}`, 32));
    },
  };
}
