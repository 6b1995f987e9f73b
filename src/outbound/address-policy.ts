import { BlockList, isIP } from 'node:net';

/**
 * Addresses a server-side fetch of a client's metadata document must never reach (SSRF, CIMD
 * draft §6 "Server Side Request Forgery"): loopback, private, link-local, CGNAT, multicast,
 * documentation, benchmarking and reserved ranges, and the IPv6 forms that embed IPv4 or route
 * to it (NAT64, 6to4, Teredo), so no encoding of a private address slips through.
 */
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  // IPv4-compatible (deprecated) addresses, including :: and ::1. IPv4-mapped ones (::ffff:a.b.c.d)
  // need no rule: BlockList checks them against the IPv4 rules above (a ::ffff:0:0/96 rule
  // would also match every plain IPv4 address).
  ['::', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** Decides whether an outbound connection to `address` is allowed. */
export type AddressPolicy = (address: string) => boolean;

/** The production policy: only public unicast addresses. */
export const publicAddressesOnly: AddressPolicy = (address) => {
  const family = isIP(address);
  if (family === 0) return false;
  return !blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
};
