// RFC 5280 4.2.1.10 name constraints (src/attestation/name-constraints.ts): each name form's
// subtree rule, intersected permitted sets, excluded subtrees, and forms we do not process.
import { describe, expect, it } from 'vitest';
import type { GeneralName } from '../../../src/attestation/general-names.js';
import {
  NameConstraintState,
  parseNameConstraints,
} from '../../../src/attestation/name-constraints.js';
import { der, PkiError } from '../../../src/pki/index.js';

const dns = (value: string): GeneralName => ({ kind: 'dns', value });
const mail = (value: string): GeneralName => ({ kind: 'rfc822', value });
const uri = (value: string): GeneralName => ({ kind: 'uri', value });
const ip = (...bytes: number[]): GeneralName => ({ kind: 'ip', bytes: Uint8Array.from(bytes) });

function permitting(...bases: GeneralName[]): NameConstraintState {
  const s = new NameConstraintState();
  s.add({ permitted: bases, excluded: undefined });
  return s;
}

const ok = (s: NameConstraintState, n: GeneralName) => s.violation(n) === undefined;

const org = (o: string, trailing: Uint8Array = new Uint8Array()): Uint8Array =>
  der.seq(
    der.tlv(
      0x31,
      der.seq(der.oid('2.5.4.10'), der.tlv(0x0c, new TextEncoder().encode(o)), trailing),
    ),
  );
const dir = (name: Uint8Array): GeneralName => ({ kind: 'directory', name });

describe('name constraints', () => {
  it('a directory name that cannot be parsed fails closed under directory or email constraints', () => {
    // O=Evil with one extra element in the attribute: valid DER, not a readable Name.
    const unreadable = dir(org('Evil', Uint8Array.of(0x05, 0x00)));
    const excluding = new NameConstraintState();
    excluding.add({ permitted: undefined, excluded: [dir(org('Evil'))] });
    expect(excluding.violation(dir(org('Evil')))).toContain('excluded');
    expect(excluding.violation(unreadable)).toContain('cannot be parsed');
    expect(permitting(dir(org('Good'))).violation(unreadable)).toContain('cannot be parsed');
    expect(permitting(mail('example.com')).violation(unreadable)).toContain('cannot be parsed');
    // Constraints of other forms leave it alone (they do not read directory names).
    expect(permitting(dns('example.com')).violation(unreadable)).toBeUndefined();
  });

  it('dNSName: the base and names with more labels on the left, at label boundaries', () => {
    const s = permitting(dns('testcertificates.gov'));
    expect(ok(s, dns('testcertificates.gov'))).toBe(true);
    expect(ok(s, dns('www.TestCertificates.gov'))).toBe(true);
    expect(ok(s, dns('mytestcertificates.gov'))).toBe(false);
    expect(ok(permitting(dns('')), dns('anything.example'))).toBe(true);
  });

  it('rfc822Name: a mailbox, a host, or any host below a .domain', () => {
    expect(ok(permitting(mail('a@example.com')), mail('a@EXAMPLE.com'))).toBe(true);
    expect(ok(permitting(mail('a@example.com')), mail('b@example.com'))).toBe(false);
    expect(ok(permitting(mail('example.com')), mail('b@example.com'))).toBe(true);
    expect(ok(permitting(mail('example.com')), mail('b@mail.example.com'))).toBe(false);
    expect(ok(permitting(mail('.example.com')), mail('b@mail.example.com'))).toBe(true);
    expect(ok(permitting(mail('.example.com')), mail('b@example.com'))).toBe(false);
  });

  it('URI: the host of the authority; a URI without one is outside every subtree', () => {
    const s = permitting(uri('testcertificates.gov'));
    expect(ok(s, uri('http://testcertificates.gov/x.html'))).toBe(true);
    expect(ok(s, uri('ftp://user@testcertificates.gov:21/'))).toBe(true);
    expect(ok(s, uri('http://www.testcertificates.gov/'))).toBe(false);
    expect(
      ok(permitting(uri('.testcertificates.gov')), uri('http://www.testcertificates.gov/')),
    ).toBe(true);
    expect(ok(s, uri('urn:example:testcertificates.gov'))).toBe(false);
  });

  it('iPAddress: address and mask of the same family', () => {
    const s = permitting(ip(192, 0, 2, 0, 255, 255, 255, 0));
    expect(ok(s, ip(192, 0, 2, 77))).toBe(true);
    expect(ok(s, ip(192, 0, 3, 77))).toBe(false);
    expect(ok(s, ip(...new Array<number>(16).fill(0)))).toBe(false);
  });

  it('intersects the permitted sets of several certificates; excluded subtrees always win', () => {
    const s = permitting(dns('example.com'), mail('example.com'));
    s.add({ permitted: [dns('a.example.com')], excluded: [dns('bad.a.example.com')] });
    expect(ok(s, dns('x.a.example.com'))).toBe(true);
    expect(ok(s, dns('b.example.com'))).toBe(false);
    expect(s.violation(dns('x.bad.a.example.com'))).toBe(
      "the dns name 'x.bad.a.example.com' is within an excluded subtree",
    );
    // A set without subtrees of a form leaves that form alone.
    expect(ok(s, mail('u@example.com'))).toBe(true);
    expect(ok(s, uri('http://elsewhere/'))).toBe(true);
  });

  it('a constrained name form that is not processed is refused when it appears', () => {
    const other: GeneralName = { kind: 'other', der: Uint8Array.of(0xa0, 0) };
    const s = permitting(other);
    expect(s.violation({ kind: 'other', der: Uint8Array.of(0xa0, 1, 0) })).toBe(
      'a other name form is constrained but not supported',
    );
    expect(ok(s, dns('fine.example'))).toBe(true);
  });

  it('parses GeneralSubtrees and refuses minimum, maximum and empty constraints', () => {
    const base = der.contextPrimitive(2, new TextEncoder().encode('example.com'));
    const nc = parseNameConstraints(der.seq(der.contextConstructed(0, der.seq(base))));
    expect(nc.permitted).toEqual([dns('example.com')]);
    expect(nc.excluded).toBeUndefined();
    const withMax = der.seq(
      der.contextConstructed(1, der.seq(base, der.contextPrimitive(1, Uint8Array.of(1)))),
    );
    expect(() => parseNameConstraints(withMax)).toThrow(PkiError);
    expect(() => parseNameConstraints(der.seq())).toThrow(PkiError);
  });
});
