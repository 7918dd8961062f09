import { describe, expect, it } from 'vitest';
import { createClientIpResolver } from '../../src/redirector/client-ip.js';
import { AddressSet, normalizeAddress, truncateAddress } from '../../src/redirector/ip-address.js';

describe('client address', () => {
  it('is the peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const resolve = createClientIpResolver([]);
    expect(resolve('::ffff:192.0.2.7', '198.51.100.1')).toBe('192.0.2.7');
  });

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8']);
    expect(resolve('192.0.2.7', '198.51.100.1')).toBe('192.0.2.7');
  });

  it('is the right-most untrusted address behind trusted proxies', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8', '2001:db8::/32']);
    // the client forged the first entry; 10.1.1.1 is our edge proxy, 203.0.113.9 the real client
    expect(resolve('10.0.0.2', '6.6.6.6, 203.0.113.9, 10.1.1.1')).toBe('203.0.113.9');
    expect(resolve('2001:db8::1', '[2001:db8::2]:443, 203.0.113.9:5555')).toBe('203.0.113.9');
    expect(resolve('10.0.0.2', ['6.6.6.6', '2001:db8:1::5, 2a00:1450::1'])).toBe('2a00:1450::1');
  });

  it('is the left-most hop when every hop is trusted, and stops at garbage', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8']);
    expect(resolve('10.0.0.2', '10.0.0.9, 10.0.0.8')).toBe('10.0.0.9');
    expect(resolve('10.0.0.2', '203.0.113.9, not-an-ip, 10.0.0.8')).toBe('10.0.0.8');
    expect(resolve('10.0.0.2', '')).toBe('10.0.0.2');
  });

  it('refuses a malformed trusted proxy entry at construction', () => {
    expect(() => createClientIpResolver(['10.0.0.0/33'])).toThrow(/prefix length/);
    expect(() => createClientIpResolver(['proxy.local'])).toThrow(expect.objectContaining({ code: 'EREDIRECTOR_CONFIG' }));
  });
});

describe('address helpers', () => {
  it('unwraps IPv4-mapped IPv6', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('::ffff:1:2')).toBe('::ffff:1:2');
  });

  it('matches addresses against ranges of both families', () => {
    const set = new AddressSet(['17.0.0.0/8', '2620:149::/32', '192.0.2.1']);
    expect(set.has('17.58.1.2')).toBe(true);
    expect(set.has('18.0.0.1')).toBe(false);
    expect(set.has('2620:149:a0c::1')).toBe(true);
    expect(set.has('192.0.2.1')).toBe(true);
    expect(set.has('garbage')).toBe(false);
  });

  it('truncates IPv4 to /24 and IPv6 to /48 (or any prefix)', () => {
    const t = { ipv4Bits: 24, ipv6Bits: 48 };
    expect(truncateAddress('203.0.113.77', t)).toBe('203.0.113.0');
    expect(truncateAddress('2001:db8:abcd:12:3456::1', t)).toBe('2001:db8:abcd::');
    expect(truncateAddress('::ffff:203.0.113.77', { ipv4Bits: 32, ipv6Bits: 120 })).toBe('::ffff:cb00:7100');
    expect(truncateAddress('fe80::1%eth0', t)).toBe('fe80::');
    expect(truncateAddress('203.0.113.77', { ipv4Bits: 20, ipv6Bits: 128 })).toBe('203.0.112.0');
    expect(truncateAddress('2001:db8:1:2:3:4:5:6', { ipv4Bits: 32, ipv6Bits: 128 })).toBe('2001:db8:1:2:3:4:5:6');
    expect(truncateAddress('1:0:0:1:0:0:0:1', { ipv4Bits: 32, ipv6Bits: 127 })).toBe('1:0:0:1::');
    expect(truncateAddress('unknown', t)).toBe('unknown');
  });

  it('truncates IPv4 to every prefix length as masking its 32-bit number does', () => {
    const cases = ['0.0.0.0', '255.255.255.255', '203.0.113.77', '10.200.3.129', '128.0.0.1', '1.2.3.4'];
    for (const address of cases) {
      const value = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
      for (let bits = 0; bits <= 32; bits++) {
        const kept = bits === 0 ? 0 : (value & (0xffffffff << (32 - bits))) >>> 0;
        const expected = [kept >>> 24, (kept >>> 16) & 255, (kept >>> 8) & 255, kept & 255].join('.');
        expect(truncateAddress(address, { ipv4Bits: bits, ipv6Bits: 128 }), `${address}/${bits}`).toBe(expected);
      }
    }
  });
});
