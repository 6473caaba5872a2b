// The client address used for rate-limit buckets and logs. X-Forwarded-For is believed only
// from configured trusted proxies, and only as far as it was written by them: the client is the
// rightmost address that is not a trusted proxy (everything left of it may be forged).
import { BlockList, isIP } from 'node:net';

export type ClientAddress = (remote: string | undefined, forwardedFor: string) => string;

/** '::ffff:192.0.2.1' (an IPv4 peer on a dual-stack socket) as '192.0.2.1'. */
function normalise(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m === null ? address : m[1]!;
}

/** One X-Forwarded-For element: an address, possibly bracketed or with a port; '' if not one. */
function hopAddress(element: string): string {
  let a = element.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(a);
  if (bracketed !== null) a = bracketed[1]!;
  else {
    const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(a);
    if (v4port !== null) a = v4port[1]!;
  }
  a = normalise(a);
  return isIP(a) === 0 ? '' : a;
}

/** Parses `ADDRESS[/PREFIX]` entries; throws RangeError naming the first bad one. */
export function parseTrustedProxies(specs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const spec of specs) {
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(spec.trim());
    const address = m === null ? '' : normalise(m[1]!);
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = m?.[2] === undefined ? max : Number(m[2]);
    if (family === 0 || prefix > max) {
      throw new RangeError(`'${spec}' is not an IP address or CIDR range`);
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** The resolver for the given trusted proxies (none: the socket's peer address, always). */
export function createClientAddress(trustedProxies: readonly string[]): ClientAddress {
  if (trustedProxies.length === 0) return (remote) => normalise(remote ?? 'unknown');
  const trusted = parseTrustedProxies(trustedProxies);
  const isTrusted = (a: string): boolean => {
    const family = isIP(a);
    return family !== 0 && trusted.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
  return (remote, forwardedFor) => {
    let client = normalise(remote ?? 'unknown');
    if (!isTrusted(client) || forwardedFor === '') return client;
    // Node joins repeated X-Forwarded-For headers with ", ", in order.
    const hops = forwardedFor.split(',');
    while (isTrusted(client) && hops.length > 0) {
      const next = hopAddress(hops.pop()!);
      // A malformed element: keep the trusted proxy that passed it on as the client.
      if (next === '') break;
      client = next;
    }
    return client;
  };
}

/**
 * The key of a client address for per-address budgets: an IPv4 address as it is, an IPv6
 * address by its /64 prefix, since one host is routinely given a whole /64 and could otherwise
 * start afresh from each of its 2^64 addresses.
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (64:ff9b::a.b.c.d) fills two groups.
  const width = (gs: string[]): number => gs.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
