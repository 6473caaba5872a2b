// The sealed form of a derivable key (src/hsm/hd/sealed.ts): the DER of a private node, pinned
// for one BIP 32 vector, read back to the same node on every curve (public key recomputed);
// the reader copies out of the caller's buffer; every malformed or inconsistent encoding is
// HsmError invalid-argument naming what is wrong.
import { describe, expect, it } from 'vitest';
import {
  decodeHdPrivateKey,
  deriveHdPath,
  encodeHdPrivateKey,
  hdMasterKey,
  type HdCurve,
  type HdPrivateNode,
} from '../../../../src/hsm/hd/index.js';
import { der, id_Ed25519, id_secp256k1, id_secp256r1 } from '../../../../src/pki/index.js';
import { expectHsmError } from '../support.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const SEED = bytes('000102030405060708090a0b0c0d0e0f');

/** BIP 32 test vector 1, chain m/0H: chain code and key from the vector. */
const M_0H = {
  chainCode: '47fdacbd0f1097043b78c63c20c34ef4ed9a111d980047ad16282c7ae6236141',
  privateKey: 'edb2e14f9ee77d26dd93b4ecede8d16ed408ce149b6cd80b0715a2d911a0afea',
};

describe('encodeHdPrivateKey', () => {
  it('writes the pinned DER for BIP 32 vector 1 m/0H', () => {
    const node = deriveHdPath(hdMasterKey('secp256k1', SEED), "m/0'");
    expect(hex(encodeHdPrivateKey(node))).toBe(
      '305e' +
        '020101' +
        '06052b8104000a' +
        '020101' +
        '04043442193e' +
        '020500' +
        '80000000' +
        '0420' +
        M_0H.chainCode +
        '0420' +
        M_0H.privateKey,
    );
  });

  it.each(['secp256k1', 'nist256p1', 'ed25519'] satisfies HdCurve[])(
    '%s: master and derived nodes read back to the same node',
    (curve) => {
      const master = hdMasterKey(curve, SEED);
      for (const node of [master, deriveHdPath(master, "m/44'/0'/7'/1'/2147483647'")]) {
        const sealed = encodeHdPrivateKey(node);
        const back = decodeHdPrivateKey(sealed);
        expect(back).toEqual(node);
        // Copied out: zeroing the caller's buffer leaves the node intact.
        sealed.fill(0);
        expect(back).toEqual(node);
      }
    },
  );

  it('refuses a node whose key is not valid for its curve', () => {
    const node = hdMasterKey('secp256k1', SEED);
    expectHsmError(
      () => encodeHdPrivateKey({ ...node, privateKey: new Uint8Array(32) }),
      'invalid-argument',
    );
    expectHsmError(
      () => encodeHdPrivateKey({ ...node, chainCode: new Uint8Array(31) }),
      'invalid-argument',
    );
  });
});

/** A sealed value from its fields, each given as DER, for hostile encodings. */
function sealedOf(fields: Partial<Record<keyof typeof BASE, Uint8Array>>, extra?: Uint8Array) {
  const f = { ...BASE, ...fields };
  return der.seq(
    f.version,
    f.curve,
    f.depth,
    f.fingerprint,
    f.index,
    f.chainCode,
    f.privateKey,
    ...(extra === undefined ? [] : [extra]),
  );
}

const BASE = {
  version: der.integer(1),
  curve: der.oid(id_secp256k1),
  depth: der.integer(1),
  fingerprint: der.octetString(bytes('3442193e')),
  index: der.integer(0x80000000),
  chainCode: der.octetString(bytes(M_0H.chainCode)),
  privateKey: der.octetString(bytes(M_0H.privateKey)),
};

describe('decodeHdPrivateKey refusals', () => {
  it('the base encoding reads', () => {
    const node: HdPrivateNode = decodeHdPrivateKey(sealedOf({}));
    expect(node).toMatchObject({ curve: 'secp256k1', depth: 1, childIndex: 0x80000000 });
    expect(node.parentFingerprint).toBe(0x3442193e);
  });

  const N = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
  const P256_N = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';
  it.each([
    ['trailing bytes', () => Uint8Array.of(...sealedOf({}), 0), 'not strict der'],
    ['an empty value', () => new Uint8Array(0), 'not strict der'],
    ['not a sequence', () => der.setOf(der.integer(1)), 'not a sequence'],
    ['an eighth field', () => sealedOf({}, der.integer(0)), 'expected 7 fields'],
    ['version 2', () => sealedOf({ version: der.integer(2) }), 'version 2 is not 1'],
    [
      'a field of the wrong type',
      () => sealedOf({ depth: der.octetString(Uint8Array.of(1)) }),
      'a field has the wrong type',
    ],
    [
      'a negative depth',
      () => sealedOf({ depth: der.tlv(0x02, Uint8Array.of(0xff)) }),
      'a field has the wrong type',
    ],
    [
      'an unknown curve',
      () => sealedOf({ curve: der.oid('1.3.132.0.34') }),
      'curve 1.3.132.0.34 is not one keys are derived on',
    ],
    ['depth 256', () => sealedOf({ depth: der.integer(256) }), 'depth is out of range'],
    [
      'child index 2^32',
      () => sealedOf({ index: der.integer(2 ** 32) }),
      'child index is out of range',
    ],
    [
      'a 3-byte fingerprint',
      () => sealedOf({ fingerprint: der.octetString(bytes('344219')) }),
      'the parent fingerprint is not 4 bytes',
    ],
    [
      'a 31-byte chain code',
      () => sealedOf({ chainCode: der.octetString(new Uint8Array(31)) }),
      'the chain code is not 32 bytes',
    ],
    [
      'a 33-byte key',
      () => sealedOf({ privateKey: der.octetString(new Uint8Array(33).fill(1)) }),
      'the private key is not valid',
    ],
    [
      'private key 0',
      () => sealedOf({ privateKey: der.octetString(new Uint8Array(32)) }),
      'the private key is not valid',
    ],
    [
      'private key n',
      () => sealedOf({ privateKey: der.octetString(bytes(N)) }),
      'the private key is not valid',
    ],
    [
      'private key n on P-256',
      () => sealedOf({ curve: der.oid(id_secp256r1), privateKey: der.octetString(bytes(P256_N)) }),
      'the private key is not valid',
    ],
    [
      'a master with a parent fingerprint',
      () => sealedOf({ depth: der.integer(0), index: der.integer(0) }),
      'a master key (depth 0) has no parent fingerprint or child index',
    ],
    [
      'a master with a child index',
      () => sealedOf({ depth: der.integer(0), fingerprint: der.octetString(new Uint8Array(4)) }),
      'a master key (depth 0) has no parent fingerprint or child index',
    ],
    [
      'a non-hardened ed25519 child',
      () => sealedOf({ curve: der.oid(id_Ed25519), index: der.integer(5) }),
      'ed25519 keys are hardened children only (SLIP-10)',
    ],
  ])('%s', (_what, make, why) => {
    const error = expectHsmError(() => decodeHdPrivateKey(make()), 'invalid-argument');
    expect(error.message).toBe(`malformed hd private key: ${why}`);
    expect(error.details).toEqual({ field: 'hdPrivateKey' });
    // Never the key bytes in what the error says.
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain(M_0H.privateKey);
  });
});
