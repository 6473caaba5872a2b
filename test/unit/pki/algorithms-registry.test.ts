// The algorithm registry (src/pki/algorithms): names, SPKI and signature OIDs agree with each
// other and with the pinned DER, unknown names and OIDs fail with algorithm-unsupported, every
// family has its pki and hsm files, and no algorithm switch lives outside the registry.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as pki from '../../../src/pki/index.js';
import {
  ALGORITHM_FAMILIES,
  KEY_ALGORITHMS,
  PkiError,
  algorithmFamily,
  derReader,
  describePublicKey,
  describeSignatureAlgorithm,
  encodeDer,
  familyOfPublicKeyOid,
  familyOfSignatureOid,
  isKeyAlgorithm,
  keyAlgorithmInfo,
  publicKeyLabel,
  publicKeyProblem,
  signatureAlgorithmDer,
  signatureAlgorithmIdentifier,
  signatureAlgorithmLabel,
  verifySignature,
  type KeyAlgorithm,
  type PkiErrorCode,
} from '../../../src/pki/index.js';

const SRC = resolve(import.meta.dirname, '../../../src');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function expectPkiError(fn: () => unknown, code: PkiErrorCode, message: string): PkiError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected PkiError '${code}'`).toBeInstanceOf(PkiError);
  const error = thrown as PkiError;
  expect(error.code).toBe(code);
  expect(error.message).toBe(message);
  return error;
}

/** The DER each key algorithm's signatures are announced with (RFC 5758, 8410, 8017, 4055, 9881). */
const PINNED: readonly (readonly [KeyAlgorithm, string, string])[] = [
  ['ecdsa-p256', '300a06082a8648ce3d040302', 'sha256'],
  ['ecdsa-p384', '300a06082a8648ce3d040303', 'sha384'],
  ['ed25519', '300506032b6570', 'sha512'],
  ['rsa-3072', '300d06092a864886f70d01010b0500', 'sha256'],
  ['rsa-4096', '300d06092a864886f70d01010b0500', 'sha256'],
  [
    'rsa-pss-3072',
    '304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120',
    'sha256',
  ],
  [
    'rsa-pss-4096',
    '304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120',
    'sha256',
  ],
  // RFC 9881 3, RFC 9909 3: parameters absent; the SignerInfo digests of RFC 9882 3.3, RFC 9814 4.
  ['ml-dsa-44', '300b0609608648016503040311', 'sha512'],
  ['ml-dsa-65', '300b0609608648016503040312', 'sha512'],
  ['ml-dsa-87', '300b0609608648016503040313', 'sha512'],
  ['slh-dsa-sha2-128f', '300b0609608648016503040315', 'sha256'],
  ['slh-dsa-sha2-192f', '300b0609608648016503040317', 'sha512'],
  ['slh-dsa-sha2-256f', '300b0609608648016503040319', 'sha512'],
  ['slh-dsa-shake-128f', '300b060960864801650304031b', 'shake128'],
  ['slh-dsa-shake-192f', '300b060960864801650304031d', 'shake256'],
  ['slh-dsa-shake-256f', '300b060960864801650304031f', 'shake256'],
];

/** The OID of a DER AlgorithmIdentifier. */
function oidOf(algorithm: Uint8Array): string {
  const [o] = derReader.childrenOf(algorithm, derReader.readTlv(algorithm, 0));
  return derReader.readOid(algorithm, o);
}

describe('registry lookups', () => {
  it('lists the key algorithms in the order the CLI has always shown', () => {
    expect(KEY_ALGORITHMS).toEqual(PINNED.map((p) => p[0]));
  });

  it.each(PINNED)(
    '%s: its AlgorithmIdentifier DER, the pkijs form and its CMS digest',
    (name, der, digest) => {
      const info = keyAlgorithmInfo(name);
      expect(hex(signatureAlgorithmDer(name))).toBe(der);
      expect(hex(encodeDer(signatureAlgorithmIdentifier(name).toSchema()))).toBe(der);
      expect(info.cmsDigest).toBe(digest);
      // The copy handed out is the caller's: changing it leaves the registry as it was.
      signatureAlgorithmDer(name).fill(0);
      expect(hex(signatureAlgorithmDer(name))).toBe(der);
    },
  );

  it.each(KEY_ALGORITHMS)('%s: name, signature OID and family agree', (name) => {
    const info = keyAlgorithmInfo(name);
    expect(info.name).toBe(name);
    expect(isKeyAlgorithm(name)).toBe(true);
    const family = algorithmFamily(name);
    expect(family.name).toBe(info.mechanism);
    expect(family.keyAlgorithms.map((k) => k.name)).toContain(name);
    expect(oidOf(info.signatureAlgorithm)).toBe(info.signatureOid);
    expect(familyOfSignatureOid(info.signatureOid)).toBe(family);
    // The verifier reads the identifier back as the family's scheme.
    const scheme = describeSignatureAlgorithm(info.signatureAlgorithm);
    expect(scheme.kind).not.toBe('unsupported');
    const reader = family.signatures.find((s) => s.oids.includes(info.signatureOid));
    expect(reader).toBeDefined();
    expect(signatureAlgorithmLabel(info.signatureAlgorithm)).not.toMatch(/allow-list|malformed/);
    // Its public keys are read by the family that owns the SPKI OID (rsaEncryption for PSS).
    expect(familyOfPublicKeyOid(info.spkiOid).publicKeys.some((r) => r.oid === info.spkiOid)).toBe(
      true,
    );
  });

  it('reads the SPKI of each key type back as the kind its family names', () => {
    const spki = (k: ReturnType<typeof generateKeyPairSync>): Uint8Array =>
      new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));
    const cases = [
      [generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ec', 'EC P-256'],
      [generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'ec', 'EC P-384'],
      [generateKeyPairSync('ed25519'), 'ed25519', 'Ed25519'],
      [generateKeyPairSync('rsa', { modulusLength: 2048 }), 'rsa', 'RSA 2048'],
    ] as const;
    for (const [pair, kind, label] of cases) {
      const der = spki(pair);
      expect(describePublicKey(der).kind).toBe(kind);
      expect(publicKeyLabel(der)).toBe(label);
      expect(publicKeyProblem(der)).toBeUndefined();
      expect(
        familyOfPublicKeyOid(oidOf(der.subarray(derReader.readTlv(der, 0).valueStart))).name,
      ).toBe(KEY_ALGORITHMS.map(keyAlgorithmInfo).find((i) => i.family === kind)?.mechanism);
    }
    const weak = spki(generateKeyPairSync('rsa', { modulusLength: 1024 }));
    expect(publicKeyProblem(weak)).toBe('RSA key of 1024 bits');
    const p521 = spki(generateKeyPairSync('ec', { namedCurve: 'P-521' }));
    expect(publicKeyProblem(p521)).toBe('elliptic curve not on the allow-list');
    expect(publicKeyLabel(Uint8Array.of(0x30, 0x00))).toBe('malformed public key');
  });

  it('gives algorithm-unsupported for an unknown name and OID, as before the registry', () => {
    expect(isKeyAlgorithm('ecdsa-p521')).toBe(false);
    const byName = expectPkiError(
      () => keyAlgorithmInfo('dsa-1024' as KeyAlgorithm),
      'algorithm-unsupported',
      'unsupported key algorithm',
    );
    expect(byName.details).toEqual({ algorithm: 'dsa-1024' });
    expectPkiError(
      () => signatureAlgorithmDer('dsa-1024' as KeyAlgorithm),
      'algorithm-unsupported',
      'unsupported key algorithm',
    );
    expectPkiError(
      () => signatureAlgorithmIdentifier('dsa-1024' as KeyAlgorithm),
      'algorithm-unsupported',
      'unsupported key algorithm',
    );
    // 1.2.840.10040.4.3 dsa-with-sha1 and 1.2.840.10040.4.1 id-dsa (RFC 3279).
    const bySignature = expectPkiError(
      () => familyOfSignatureOid('1.2.840.10040.4.3'),
      'algorithm-unsupported',
      'unsupported signature algorithm',
    );
    expect(bySignature.details).toEqual({ oid: '1.2.840.10040.4.3' });
    expectPkiError(
      () => familyOfPublicKeyOid('1.2.840.10040.4.1'),
      'algorithm-unsupported',
      'unsupported public key algorithm',
    );
    // The verifier does not throw: it refuses, with the reason in the report.
    const dsa = pki.der.algorithmIdentifier('1.2.840.10040.4.3');
    expect(describeSignatureAlgorithm(dsa)).toEqual({
      kind: 'unsupported',
      reason: 'signature algorithm 1.2.840.10040.4.3 is not on the allow-list',
    });
    expect(signatureAlgorithmLabel(dsa)).toBe(
      'signature algorithm 1.2.840.10040.4.3 is not on the allow-list',
    );
  });

  it('an unknown signature OID never verifies', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
    const dsa = pki.der.algorithmIdentifier('1.2.840.10040.4.3');
    expect(await verifySignature(spki, dsa, Uint8Array.of(1), Uint8Array.of(0x30, 0))).toBe(false);
  });
});

describe('registry shape', () => {
  it('names, SPKI OIDs and signature OIDs are each owned by one family', () => {
    const names = ALGORITHM_FAMILIES.flatMap((f) => f.keyAlgorithms.map((k) => k.name));
    const spkiOids = ALGORITHM_FAMILIES.flatMap((f) => f.publicKeys.map((r) => r.oid));
    const signatureOids = ALGORITHM_FAMILIES.flatMap((f) => f.signatures.flatMap((r) => r.oids));
    for (const list of [names, spkiOids, signatureOids, ALGORITHM_FAMILIES.map((f) => f.name)]) {
      expect(new Set(list).size).toBe(list.length);
    }
    expect([...names].sort()).toEqual([...KEY_ALGORITHMS].sort());
    // Each key's mechanism is the family it is listed in.
    for (const f of ALGORITHM_FAMILIES) {
      for (const k of f.keyAlgorithms) expect(k.mechanism).toBe(f.name);
    }
  });

  it('each family is one file in src/pki/algorithms and, when it issues keys, one in src/hsm/mechanisms', () => {
    for (const f of ALGORITHM_FAMILIES) {
      expect(existsSync(join(SRC, 'pki', 'algorithms', `${f.name}.ts`)), f.name).toBe(true);
      if (f.keyAlgorithms.length > 0) {
        expect(existsSync(join(SRC, 'hsm', 'mechanisms', `${f.name}.ts`)), f.name).toBe(true);
      }
    }
  });
});

/** The registry's own folders: the one place where algorithms are told apart. */
const REGISTRY_DIRS = [join('pki', 'algorithms'), join('hsm', 'mechanisms')];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The algorithm literals: key algorithm names, key types, family names, scheme kinds. */
const infos = KEY_ALGORITHMS.map(keyAlgorithmInfo);
const NAMES = [...KEY_ALGORITHMS, ...infos.map((i) => i.mechanism)];
const LITERALS = [
  ...new Set([
    ...NAMES,
    ...infos.map((i) => i.family),
    ...infos.map((i) => describeSignatureAlgorithm(i.signatureAlgorithm).kind),
  ]),
];

/** The id_* constants of src/pki/oids.ts that name a registered SPKI or signature algorithm. */
const registryOids = new Set(
  ALGORITHM_FAMILIES.flatMap((f) => [
    ...f.publicKeys.map((r) => r.oid),
    ...f.signatures.flatMap((r) => r.oids),
  ]),
);
const OID_CONSTANTS = Object.entries(pki)
  .filter(([k, v]) => k.startsWith('id_') && typeof v === 'string' && registryOids.has(v))
  .map(([k]) => k);

/**
 * What would tell algorithms apart outside the registry: a `case` on an algorithm literal or a
 * registered OID constant, a comparison with a key algorithm or family name, an OID-keyed table
 * of registered algorithms, or a name-prefix test ('rsa', 'rsa-pss-').
 */
function algorithmSwitches(source: string): string[] {
  const lit = LITERALS.map(escape).join('|');
  const names = NAMES.map(escape).join('|');
  const oids = OID_CONSTANTS.join('|');
  const patterns = [
    new RegExp(`case\\s+['"](?:${lit})['"]\\s*:`, 'g'),
    new RegExp(`[!=]==\\s*['"](?:${names})['"]|['"](?:${names})['"]\\s*[!=]==`, 'g'),
    new RegExp(`case\\s+(?:${oids})\\s*:`, 'g'),
    new RegExp(`\\[\\s*(?:${oids})\\s*\\]\\s*:`, 'g'),
  ];
  const found = patterns.flatMap((p) => [...source.matchAll(p)].map((m) => m[0]));
  for (const m of source.matchAll(/startsWith\(\s*['"]([^'"]{2,})['"]/g)) {
    if (KEY_ALGORITHMS.some((n) => n.startsWith(m[1]!))) found.push(m[0]);
  }
  return found;
}

describe('the registry stays the one place that tells algorithms apart', () => {
  it('finds no algorithm switch, comparison, OID table or name prefix test outside it', () => {
    const files = walk(SRC).filter(
      (f) => !REGISTRY_DIRS.some((d) => relative(SRC, f).startsWith(d + sep)),
    );
    expect(files.length).toBeGreaterThan(50);
    const violations = files.flatMap((f) =>
      algorithmSwitches(readFileSync(f, 'utf8')).map((m) => `${relative(SRC, f)}: ${m}`),
    );
    expect(violations).toEqual([]);
  });

  it('the check catches each form it looks for', () => {
    expect(OID_CONSTANTS).toContain('id_ecdsa_with_SHA256');
    expect(OID_CONSTANTS).toContain('id_rsaEncryption');
    const samples = [
      "switch (alg) { case 'ecdsa-p256': return 1; }",
      "switch (info.family) { case 'ec': break; }",
      "switch (info.mechanism) { case 'rsa-pss': break; }",
      "switch (scheme.kind) { case 'rsa-pkcs1': break; }",
      "if (algorithm === 'ed25519') return 'sha512';",
      "if ('rsa-3072' !== name) return;",
      'switch (oid) { case id_ecdsa_with_SHA384: break; }',
      "const HASHES = { [id_sha256WithRSAEncryption]: 'SHA-256' };",
      "if (alg.startsWith('rsa')) verify();",
      "if (!alg.startsWith('rsa-pss-')) return undefined;",
    ];
    for (const s of samples) expect(algorithmSwitches(s), s).toHaveLength(1);
    // Ordinary code is not flagged.
    expect(algorithmSwitches("switch (p.kind) { case 'token': break; }")).toEqual([]);
    expect(algorithmSwitches("if (arg.startsWith('--')) flag();")).toEqual([]);
  });

  it('the source walk sees the registry files it exempts', () => {
    const all = walk(SRC).map((f) => relative(SRC, f));
    for (const d of REGISTRY_DIRS) expect(all.some((f) => f.startsWith(d + sep))).toBe(true);
    // Inside the registry the same forms are expected: the check would find them there.
    const ecdsa = readFileSync(join(SRC, 'pki', 'algorithms', 'ecdsa.ts'), 'utf8');
    expect(algorithmSwitches(ecdsa).length).toBeGreaterThan(0);
  });
});
