// The client address behind trusted proxies: X-Forwarded-For only from a trusted peer, and the
// rightmost address that is not a trusted proxy.
import { describe, expect, it } from 'vitest';
import {
  addressKey,
  createClientAddress,
  parseTrustedProxies,
} from '../../../../src/tsa/http/client-address.js';

describe('client address', () => {
  it('without trusted proxies, X-Forwarded-For is ignored', () => {
    const resolve = createClientAddress([]);
    expect(resolve('192.0.2.7', '203.0.113.1')).toBe('192.0.2.7');
    expect(resolve('::ffff:192.0.2.7', '')).toBe('192.0.2.7');
    expect(resolve(undefined, '')).toBe('unknown');
  });

  it('from an untrusted peer, X-Forwarded-For is ignored', () => {
    const resolve = createClientAddress(['10.0.0.0/8']);
    expect(resolve('192.0.2.7', '203.0.113.1')).toBe('192.0.2.7');
  });

  it('from a trusted peer, the rightmost untrusted address is the client', () => {
    const resolve = createClientAddress(['10.0.0.0/8', '2001:db8::/32']);
    expect(resolve('10.1.1.1', '203.0.113.9')).toBe('203.0.113.9');
    // The client forged the leftmost element; the proxy appended the real peer.
    expect(resolve('10.1.1.1', '198.51.100.66, 203.0.113.9')).toBe('203.0.113.9');
    // Two trusted proxies in a row are skipped.
    expect(resolve('10.1.1.1', '198.51.100.66, 203.0.113.9, 10.2.2.2')).toBe('203.0.113.9');
    expect(resolve('::ffff:10.1.1.1', '2001:db8::1, [2001:db8:ffff::5]:443')).toBe('2001:db8::1');
    expect(resolve('2001:db8::9', '203.0.113.9:1234')).toBe('203.0.113.9');
    // Only trusted hops: the leftmost one.
    expect(resolve('10.1.1.1', '10.3.3.3')).toBe('10.3.3.3');
    // A malformed element stops the walk at the trusted proxy that passed it on.
    expect(resolve('10.1.1.1', '203.0.113.9, not-an-address')).toBe('10.1.1.1');
    expect(resolve('10.1.1.1', '')).toBe('10.1.1.1');
  });

  it('refuses what is not an address or CIDR range', () => {
    expect(() => parseTrustedProxies(['10.0.0.0/33'])).toThrow("'10.0.0.0/33'");
    expect(() => parseTrustedProxies(['proxy.example'])).toThrow(RangeError);
    expect(() => parseTrustedProxies(['::1/129'])).toThrow(RangeError);
    expect(() => parseTrustedProxies(['127.0.0.1', '::1/128', 'fd00::/8'])).not.toThrow();
  });

  it('per-address budgets key IPv4 by address and IPv6 by its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:0db8:0001::')).toBe('2001:db8:1:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('a::b:c:d:e:1.2.3.4')).toBe('a:0:b:c::/64');
    expect(addressKey('unknown')).toBe('unknown');
  });
});
