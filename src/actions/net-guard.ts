// Outbound address policy: webhooks may reach only public unicast addresses unless the allowlist admits a host or range.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface AddressPolicy {
  /** Whether the host name itself is allowlisted (then any address it resolves to is allowed). */
  hostAllowed(host: string): boolean;
  /** Why an address is refused, or undefined when it may be reached. */
  refusal(address: string): string | undefined;
}

export function createAddressPolicy(allowlist: readonly string[]): AddressPolicy {
  const hosts = new Set<string>();
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const entry of allowlist) {
    if (entry.includes('/')) ranges.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else hosts.add(entry.toLowerCase());
  }

  const inAllowedRange = (address: ipaddr.IPv4 | ipaddr.IPv6) =>
    ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));

  return {
    hostAllowed: (host) => hosts.has(host.toLowerCase()),
    refusal(text) {
      if (!ipaddr.isValid(text)) return `"${text}" is not an IP address`;
      let address = ipaddr.parse(text);
      if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
        address = (address as ipaddr.IPv6).toIPv4Address();
      }
      if (inAllowedRange(address)) return undefined;
      const range = address.range();
      if (range !== 'unicast') return `${text} is a ${range} address`;
      // IPv4-compatible IPv6 (::a.b.c.d, deprecated) would smuggle any IPv4 address past the range check.
      if (address.kind() === 'ipv6' && address.toNormalizedString().startsWith('0:0:0:0:0:0:')) {
        return `${text} is an IPv4-compatible IPv6 address`;
      }
      return undefined;
    },
  };
}

/**
 * A DNS lookup for http.request that refuses forbidden addresses after resolution, so a public name that
 * resolves to 127.0.0.1 or 169.254.169.254 (DNS rebinding) is refused at connect time.
 */
export function guardedLookup(policy: AddressPolicy, host: string): LookupFunction {
  const allowHost = policy.hostAllowed(host);
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const allowed = allowHost
        ? addresses
        : addresses.filter((entry) => policy.refusal(entry.address) === undefined);
      if (allowed.length === 0) {
        const reason = policy.refusal(addresses[0]?.address ?? '') ?? 'no address';
        const refused = Object.assign(new Error(`refused to connect to ${hostname}: ${reason}`), {
          code: 'EADDRREFUSED',
        });
        return callback(refused, '', 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}
