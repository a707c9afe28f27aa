import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { metaUserData, normalisers } from '../../src/actions/providers/meta-user-data.js';

/** SHA-256("abc"), the FIPS 180-2 test vector. */
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('Meta customer information normalisation', () => {
  it.each([
    ['em', '  John.Smith@Example.COM ', 'john.smith@example.com'],
    ['em', 'not an email', ''],
    ['ph', '+44 (0)7700-900123', '4407700900123'],
    ['ph', '001 650 555 1212', '16505551212'],
    ['fn', " Mary-Ann O'Neil ", 'maryannoneil'],
    ['ln', 'Ñúñez', 'ñúñez'],
    ['ge', 'Female', 'f'],
    ['ge', 'x', ''],
    ['db', '1990-02-07', '19900207'],
    ['ct', 'San Francisco', 'sanfrancisco'],
    ['st', 'CA', 'ca'],
    ['zp', '94025-1234', '94025'],
    ['zp', 'SW1A 1AA', 'sw1a1aa'],
    ['country', 'GB', 'gb'],
    ['country', 'Britain', ''],
  ] as const)('%s: %j → %j', (key, input, expected) => {
    expect(normalisers[key](input)).toBe(expected);
  });

  it('hashes each normalised value with SHA-256 (lower-case hex)', () => {
    // Act
    const data = metaUserData({ id: 'L1', tags: [], firstName: ' ABC ' });

    // Assert
    expect(data.fn).toEqual([SHA256_ABC]);
    expect(data.external_id).toEqual([createHash('sha256').update('l1').digest('hex')]);
  });

  it('leaves out missing and unusable values, and sends click ids, IP and user agent unhashed', () => {
    // Act
    const data = metaUserData({
      id: 'L2',
      tags: [],
      email: 'nope',
      fbc: 'fb.1.1554763741205.AbCdEfGhIjKlMnOpQrSt',
      fbp: 'fb.1.1558571054389.1098115397',
      ipAddress: '203.0.113.7',
      userAgent: 'Mozilla/5.0',
    });

    // Assert
    expect(data.em).toBeUndefined();
    expect(data).toMatchObject({
      fbc: 'fb.1.1554763741205.AbCdEfGhIjKlMnOpQrSt',
      fbp: 'fb.1.1558571054389.1098115397',
      client_ip_address: '203.0.113.7',
      client_user_agent: 'Mozilla/5.0',
    });
  });
});
