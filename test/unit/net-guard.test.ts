import { describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../../src/actions/net-guard.js';

describe('createAddressPolicy', () => {
  describe('with an empty allowlist', () => {
    const policy = createAddressPolicy([]);

    it.each([
      ['127.0.0.1', 'loopback'],
      ['127.10.20.30', 'loopback'],
      ['::1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['10.255.255.255', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.254', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'linkLocal'],
      ['fd00:ec2::254', 'uniqueLocal'],
      ['fe80::1', 'linkLocal'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:169.254.169.254', 'linkLocal'],
      ['::ffff:10.0.0.1', 'private'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
    ])('refuses %s as %s', (address, range) => {
      // Act
      const reason = policy.refusal(address);

      // Assert
      expect(reason).toBe(`${address} is a ${range} address`);
    });

    it.each([
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '172.15.255.255',
      '2606:2800:220:1:248:1893:25c8:1946',
    ])('allows the public address %s', (address) => {
      // Act + Assert
      expect(policy.refusal(address)).toBeUndefined();
    });

    it('refuses a host name passed where an address is expected', () => {
      // Act + Assert
      expect(policy.refusal('example.com')).toBe('"example.com" is not an IP address');
      expect(policy.refusal('')).toBe('"" is not an IP address');
    });

    it('allows no host by name', () => {
      // Act + Assert
      expect(policy.hostAllowed('localhost')).toBe(false);
      expect(policy.hostAllowed('example.com')).toBe(false);
    });
  });

  describe('with an allowlist', () => {
    it('admits a private range given as a CIDR, and nothing outside it', () => {
      // Arrange
      const policy = createAddressPolicy(['10.0.0.0/8']);

      // Act + Assert
      expect(policy.refusal('10.1.2.3')).toBeUndefined();
      expect(policy.refusal('::ffff:10.1.2.3')).toBeUndefined();
      expect(policy.refusal('192.168.1.1')).toBe('192.168.1.1 is a private address');
      expect(policy.refusal('127.0.0.1')).toBe('127.0.0.1 is a loopback address');
    });

    it('admits a single IP exactly', () => {
      // Arrange
      const policy = createAddressPolicy(['192.168.1.20']);

      // Act + Assert
      expect(policy.refusal('192.168.1.20')).toBeUndefined();
      expect(policy.refusal('192.168.1.21')).toBe('192.168.1.21 is a private address');
    });

    it('admits an IPv6 range without admitting IPv4 addresses', () => {
      // Arrange
      const policy = createAddressPolicy(['fd12:3456::/32']);

      // Act + Assert
      expect(policy.refusal('fd12:3456::10')).toBeUndefined();
      expect(policy.refusal('fd12:3457::10')).toBe('fd12:3457::10 is a uniqueLocal address');
      expect(policy.refusal('10.0.0.1')).toBe('10.0.0.1 is a private address');
    });

    it('admits a host name case-insensitively without admitting its neighbours or any address', () => {
      // Arrange
      const policy = createAddressPolicy(['Hooks.Internal']);

      // Act + Assert
      expect(policy.hostAllowed('hooks.internal')).toBe(true);
      expect(policy.hostAllowed('HOOKS.INTERNAL')).toBe(true);
      expect(policy.hostAllowed('evil.hooks.internal')).toBe(false);
      expect(policy.refusal('10.0.0.1')).toBe('10.0.0.1 is a private address');
    });

    it('mixes ranges, addresses and host names', () => {
      // Arrange
      const policy = createAddressPolicy(['172.16.0.0/12', '127.0.0.1', 'crm.local']);

      // Act + Assert
      expect(policy.refusal('172.20.1.1')).toBeUndefined();
      expect(policy.refusal('127.0.0.1')).toBeUndefined();
      expect(policy.refusal('127.0.0.2')).toBe('127.0.0.2 is a loopback address');
      expect(policy.refusal('169.254.169.254')).toBe('169.254.169.254 is a linkLocal address');
      expect(policy.hostAllowed('crm.local')).toBe(true);
    });

    it('fails fast on a malformed CIDR', () => {
      // Act + Assert
      expect(() => createAddressPolicy(['10.0.0.0/33'])).toThrow();
    });
  });
});
