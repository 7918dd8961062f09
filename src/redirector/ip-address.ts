/**
 * IP address helpers: normalizing what sockets and proxies report, sets of CIDR ranges, and the
 * truncation applied before an address is stored (privacy: a /24 or /48 still tells the region).
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { CodedError } from '../util/errors.js';
import { RedirectorErrorCode } from './errors.js';

/** `::ffff:1.2.3.4` (what a dual-stack socket reports for IPv4 peers) becomes `1.2.3.4`. */
export function normalizeAddress(address: string): string {
  if (address.length > 7 && address.charCodeAt(0) === 0x3a && address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) {
    return address.slice(7);
  }
  return address;
}

/** A set of addresses and CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`). */
export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[], what = 'address range') {
    for (const raw of entries) {
      const entry = raw.trim();
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const family = isIP(address);
      if (family === 0) throw new CodedError(RedirectorErrorCode.CONFIG, `invalid ${what} "${raw}": not an IP address or CIDR range`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) {
        this.list.addAddress(address, type);
        continue;
      }
      const bitsText = entry.slice(slash + 1);
      const bits = Number(bitsText);
      const max = family === 4 ? 32 : 128;
      if (!/^\d{1,3}$/.test(bitsText) || bits > max) {
        throw new CodedError(RedirectorErrorCode.CONFIG, `invalid ${what} "${raw}": prefix length must be 0 to ${max}`);
      }
      this.list.addSubnet(address, bits, type);
    }
    this.size = entries.length;
  }

  has(address: string): boolean {
    if (this.size === 0) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** has() for an address parsed once by parsedAddress, to check it against several sets. */
  hasParsed(address: SocketAddress): boolean {
    return this.size > 0 && this.list.check(address);
  }
}

/**
 * An address parsed for BlockList checks (undefined when it is not an IP address): each check of a
 * string parses it anew, which costs more than the lookup itself.
 */
export function parsedAddress(address: string): SocketAddress | undefined {
  const family = isIP(address);
  return family === 0 ? undefined : new SocketAddress({ address, family: family === 4 ? 'ipv4' : 'ipv6' });
}

function parseIpv4(address: string): number[] {
  return address.split('.').map(Number);
}

/** Eight 16-bit groups; the address must already be a valid IPv6 address (net.isIP === 6). */
function parseIpv6(address: string): number[] {
  const zone = address.indexOf('%');
  let text = zone === -1 ? address : address.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) is two groups written differently.
    const [a = 0, b = 0, c = 0, d = 0] = parseIpv4(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const toGroups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap === -1) return toGroups(text);
  const head = toGroups(text.slice(0, gap));
  const rest = toGroups(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function maskGroups(groups: number[], bits: number, groupBits: number): number[] {
  return groups.map((value, i) => {
    const keep = Math.min(groupBits, Math.max(0, bits - i * groupBits));
    const mask = keep === 0 ? 0 : ((1 << groupBits) - 1) ^ ((1 << (groupBits - keep)) - 1);
    return value & mask;
  });
}

export interface IpTruncation {
  /** Leading bits of an IPv4 address kept, e.g. 24. */
  ipv4Bits: number;
  /** Leading bits of an IPv6 address kept, e.g. 48. */
  ipv6Bits: number;
}

/** The address with only its leading bits kept; anything that is not an IP address comes back as is. */
export function truncateAddress(address: string, truncation: IpTruncation): string {
  const family = isIP(address);
  if (family === 4) {
    if (truncation.ipv4Bits >= 32) return address;
    return maskIpv4(address, truncation.ipv4Bits);
  }
  if (family === 6) {
    if (truncation.ipv6Bits >= 128) return address;
    return formatIpv6(maskGroups(parseIpv6(address), truncation.ipv6Bits, 16));
  }
  return address;
}

/**
 * A dotted-quad address (as net.isIP accepts it: four decimal octets) with its leading bits kept. Read
 * as one number, without splitting it: every click and open truncates its address at least once.
 */
function maskIpv4(address: string, bits: number): string {
  let value = 0;
  let octet = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 0x2e) {
      value = value * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 0x30);
  }
  value = value * 256 + octet;
  const kept = bits <= 0 ? 0 : value - (value % 2 ** (32 - bits));
  return `${kept >>> 24}.${(kept >>> 16) & 0xff}.${(kept >>> 8) & 0xff}.${kept & 0xff}`;
}

export function validateTruncation(truncation: IpTruncation): void {
  const { ipv4Bits, ipv6Bits } = truncation;
  if (!Number.isInteger(ipv4Bits) || ipv4Bits < 0 || ipv4Bits > 32) {
    throw new CodedError(RedirectorErrorCode.CONFIG, `IPv4 truncation must keep 0 to 32 bits, not ${ipv4Bits}`);
  }
  if (!Number.isInteger(ipv6Bits) || ipv6Bits < 0 || ipv6Bits > 128) {
    throw new CodedError(RedirectorErrorCode.CONFIG, `IPv6 truncation must keep 0 to 128 bits, not ${ipv6Bits}`);
  }
}
