// Ids derived from the work they name, so a retried producer arrives at the same id.
import { createHash } from 'node:crypto';

/** A short, ':'-free hash of the parts, for job and execution ids built from values that may hold any character. */
export function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 24);
}

/** FNV-1a: a fast, stable 32-bit hash for spreading keys over partitions and variants. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
