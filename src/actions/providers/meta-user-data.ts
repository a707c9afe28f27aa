// Meta Conversions API customer information parameters: each value normalised as Meta specifies, then SHA-256
// hashed (hex, lower case). Click ids, IP and user agent are sent as they are, never hashed.
import { createHash } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const lower = (value: unknown) =>
  (typeof value === 'string' || typeof value === 'number' ? String(value) : '')
    .normalize('NFC')
    .trim()
    .toLowerCase();

/** Letters only: lower case, punctuation, symbols and spaces removed (names, cities). */
const letters = (value: unknown) => lower(value).replace(/[\p{P}\p{S}\s]/gu, '');

/** Each normaliser returns '' when the value is unusable; empty values are left out. */
export const normalisers = {
  /** Trimmed, lower case. */
  em: (value: unknown) => {
    const email = lower(value);
    return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email) ? email : '';
  },
  /** Digits only, with the country code and without leading zeros (`+44 7700 900123` → `447700900123`). */
  ph: (value: unknown) => lower(value).replace(/\D/g, '').replace(/^0+/, ''),
  fn: letters,
  ln: letters,
  /** `f` or `m`. */
  ge: (value: unknown) => {
    const first = lower(value).charAt(0);
    return first === 'f' || first === 'm' ? first : '';
  },
  /** YYYYMMDD. */
  db: (value: unknown) => {
    const match = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(lower(value));
    return match ? `${match[1]}${match[2]}${match[3]}` : '';
  },
  ct: letters,
  /** Two-letter code for US states; otherwise letters only. */
  st: letters,
  /** Lower case without spaces or dashes; US ZIP codes keep their first five digits. */
  zp: (value: unknown) => {
    const zip = lower(value).replace(/[\s-]/g, '');
    return /^\d{5}\d{4}$/.test(zip) ? zip.slice(0, 5) : zip;
  },
  /** ISO 3166-1 alpha-2, lower case. */
  country: (value: unknown) => {
    const code = letters(value);
    return code.length === 2 ? code : '';
  },
  /** Any stable id of the lead; hashing is recommended. */
  external_id: (value: unknown) => lower(value),
} as const;

type HashedKey = keyof typeof normalisers;

/** Lead field names (first found wins) for each Meta parameter. */
const leadFields: Record<HashedKey, string[]> = {
  em: ['email'],
  ph: ['phone'],
  fn: ['firstName'],
  ln: ['lastName'],
  ge: ['gender'],
  db: ['dateOfBirth', 'birthday', 'birthDate'],
  ct: ['city'],
  st: ['state', 'region'],
  zp: ['zip', 'postcode', 'postalCode'],
  country: ['country', 'countryCode'],
  external_id: ['id'],
};

/** `user_data` for a lead: normalised and hashed values as one-element arrays; fbc/fbp/IP/agent in clear. */
export function metaUserData(lead: Record<string, unknown> | undefined): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (!lead) return data;
  for (const [key, fields] of Object.entries(leadFields) as [HashedKey, string[]][]) {
    const raw = fields.map((field) => lead[field]).find((value) => value !== undefined && value !== null);
    const normalised = raw === undefined ? '' : normalisers[key](raw);
    if (normalised) data[key] = [sha256(normalised)];
  }
  for (const [key, field] of [
    ['fbc', 'fbc'],
    ['fbp', 'fbp'],
    ['client_ip_address', 'ipAddress'],
    ['client_user_agent', 'userAgent'],
  ] as const) {
    if (typeof lead[field] === 'string' && lead[field]) data[key] = lead[field];
  }
  return data;
}
