// Verifying RFC 3161 time-stamp tokens (RFC 3161 2.4.2, RFC 5652 5, RFC 5816), from attestamp or
// any other TSA, and, with evidence for the TSA key, proving that the key that signed the token
// was generated inside an HSM partition and never left it. Every check is its own finding.
import { sha1 } from '@noble/hashes/legacy.js';
import {
  HASHES as PKI_HASHES,
  der,
  derReader,
  id_aa_signingCertificate,
  id_aa_signingCertificateV2,
  id_contentType,
  id_ct_TSTInfo,
  id_kp_timeStamping,
  id_messageDigest,
  id_rsaEncryption,
  id_sha1,
  id_sha256,
  id_sha256WithRSAEncryption,
  id_sha384,
  id_sha384WithRSAEncryption,
  id_sha512,
  id_sha512WithRSAEncryption,
  id_signedData,
  PkiError,
  assertStrictDer,
  type derReader as DerReaderTypes,
} from '../pki/index.js';
import { bytesEqual, toHex } from '../shared/index.js';
import { extendedKeyUsages, subjectKeyId, type ParsedCert } from './certificate.js';
import {
  checkRevocation,
  checkRoles,
  parseAll,
  roleOf,
  validatePath,
  type ChainOptions,
} from './chain.js';
import { verifySignature } from './crypto.js';
import { inspectEvidence, type EvidenceOptions } from './evidence.js';
import { Findings, type Report } from './report.js';

type Tlv = DerReaderTypes.Tlv;
const { readTlv, childrenOf, contentOf, encodingOf, expectTag, readOid, readUnsigned, readOctets } =
  derReader;

/** Hashes by OID: the project's SHA-2/SHA-3 table, plus SHA-1 for ESSCertID v1 only. */
const HASHES: Readonly<
  Record<string, { name: string; fn: (d: Uint8Array) => Uint8Array; length: number }>
> = {
  [id_sha1]: { name: 'sha1', fn: (d) => sha1(d), length: 20 },
  ...Object.fromEntries(
    Object.values(PKI_HASHES).map((h) => [h.oid, { name: h.name, fn: h.digest, length: h.length }]),
  ),
};

/** Hash names accepted for --hash, with their OIDs. */
export const TOKEN_HASHES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(HASHES).map(([oid, h]) => [h.name, oid]),
);

export interface TokenOptions extends ChainOptions {
  /** The time-stamped data, or its digest with the hash name (sha256, sha3-256, ...). */
  readonly data?: Uint8Array;
  readonly digest?: { readonly hash: string; readonly value: Uint8Array };
  /** DER TimeStampReq the token answers: nonce, policy, imprint and certReq must match. */
  readonly request?: Uint8Array;
  /** Extra untrusted certificates (for tokens that do not carry their chain). */
  readonly certificates?: readonly Uint8Array[];
  /** Evidence for the TSA key (PEM-decoded DER); proves where the key lives. */
  readonly evidence?: Uint8Array;
  readonly allowSoftware?: boolean;
  /** Validate the chain at this time instead of genTime (default: genTime). */
  readonly atOverride?: Date;
}

interface TstInfo {
  readonly version: bigint;
  readonly policy: string;
  readonly messageImprint: Uint8Array;
  readonly hashOid: string;
  readonly hashedMessage: Uint8Array;
  readonly serial: Uint8Array;
  readonly genTimeText: string;
  readonly genTime: Date;
  readonly accuracy: { seconds: bigint; millis: bigint; micros: bigint } | undefined;
  readonly ordering: boolean | undefined;
  readonly nonce: Uint8Array | undefined;
  readonly hasTsaName: boolean;
  readonly extensions: readonly { oid: string; critical: boolean }[];
}

function fail(message: string): never {
  throw new PkiError('asn1-schema', message);
}

function parseTstInfo(b: Uint8Array): TstInfo {
  const fields = childrenOf(b, expectTag(readTlv(b, 0), 0x30, 'TSTInfo'));
  let i = 0;
  const version = readUnsigned(b, fields[i++]);
  const policy = readOid(b, fields[i++]);
  const mi = expectTag(fields[i++], 0x30, 'messageImprint');
  const [alg, hm] = childrenOf(b, mi);
  const hashOid = readOid(b, childrenOf(b, expectTag(alg, 0x30, 'hashAlgorithm'))[0]);
  const hashedMessage = readOctets(b, hm);
  const serialT = expectTag(fields[i++], 0x02, 'serialNumber');
  const gt = expectTag(fields[i++], 0x18, 'genTime');
  let genTimeText = '';
  for (let k = gt.valueStart; k < gt.end; k++) genTimeText += String.fromCharCode(b[k]!);
  const genTime = derReader.readGeneralizedTime(b, gt);
  let accuracy: TstInfo['accuracy'];
  let ordering: boolean | undefined;
  let nonce: Uint8Array | undefined;
  let hasTsaName = false;
  const extensions: { oid: string; critical: boolean }[] = [];
  for (const f of fields.slice(i)) {
    if (f.tag === 0x30 && accuracy === undefined && nonce === undefined) {
      accuracy = { seconds: 0n, millis: 0n, micros: 0n };
      for (const a of childrenOf(b, f)) {
        const v = BigInt('0x' + (toHex(contentOf(b, a)) || '0'));
        if (a.tag === 0x02) accuracy.seconds = v;
        else if (a.tag === 0x80) accuracy.millis = v;
        else if (a.tag === 0x81) accuracy.micros = v;
        else fail('unexpected accuracy field');
      }
    } else if (f.tag === 0x01) ordering = b[f.valueStart] === 0xff;
    else if (f.tag === 0x02) nonce = contentOf(b, f);
    else if (f.tag === 0xa0) hasTsaName = true;
    else if (f.tag === 0xa1) {
      for (const e of childrenOf(b, f)) {
        const [o, c] = childrenOf(b, e);
        extensions.push({
          oid: readOid(b, o),
          critical: c?.tag === 0x01 && b[c.valueStart] === 0xff,
        });
      }
    } else fail('unexpected TSTInfo field');
  }
  return {
    version,
    policy,
    messageImprint: encodingOf(b, mi),
    hashOid,
    hashedMessage,
    serial: contentOf(b, serialT),
    genTimeText,
    genTime,
    accuracy,
    ordering,
    nonce,
    hasTsaName,
    extensions,
  };
}

interface SignedToken {
  readonly status: bigint | undefined;
  readonly statusText: string | undefined;
  readonly signedDataVersion: bigint;
  readonly eContentType: string;
  readonly eContent: Uint8Array;
  readonly certificates: readonly Uint8Array[];
  readonly signerInfos: number;
  readonly sid: { issuer: Uint8Array; serial: Uint8Array } | { ski: Uint8Array };
  readonly digestAlgorithm: string;
  /** DER of the signed attributes as a SET (what the signature covers). */
  readonly signedAttrs: Uint8Array;
  /** Attribute values as TLVs over `raw`, the whole input. */
  readonly attributes: ReadonlyMap<string, Tlv[]>;
  readonly raw: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
}

/** Accepts a TimeStampResp or a bare token (ContentInfo). */
function parseToken(bytes: Uint8Array): SignedToken {
  assertStrictDer(bytes);
  const top = readTlv(bytes, 0);
  const first = childrenOf(bytes, expectTag(top, 0x30, 'TimeStampResp or ContentInfo'))[0];
  let contentInfo = top;
  let status: bigint | undefined;
  let statusText: string | undefined;
  if (first?.tag === 0x30) {
    // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken ContentInfo OPTIONAL }
    const [statusInfo, token] = childrenOf(bytes, top);
    const si = childrenOf(bytes, statusInfo!);
    status = readUnsigned(bytes, si[0]);
    const freeText = si.find((t) => t.tag === 0x30);
    if (freeText !== undefined) {
      statusText = childrenOf(bytes, freeText)
        .map((t) => derReader.readUtf8(bytes, t))
        .join(' ');
    }
    if (token === undefined) {
      return {
        status,
        statusText,
        signedDataVersion: 0n,
        eContentType: '',
        eContent: new Uint8Array(),
        certificates: [],
        signerInfos: 0,
        sid: { ski: new Uint8Array() },
        digestAlgorithm: '',
        signedAttrs: new Uint8Array(),
        attributes: new Map(),
        raw: bytes,
        signatureAlgorithm: new Uint8Array(),
        signature: new Uint8Array(),
      };
    }
    contentInfo = token;
  }
  const [ctype, content] = childrenOf(bytes, expectTag(contentInfo, 0x30, 'ContentInfo'));
  if (readOid(bytes, ctype) !== id_signedData) fail('the token is not SignedData');
  const [sd] = childrenOf(bytes, expectTag(content, 0xa0, 'content'));
  const sdFields = childrenOf(bytes, expectTag(sd, 0x30, 'SignedData'));
  const version = readUnsigned(bytes, sdFields[0]);
  const [eType, eWrap] = childrenOf(bytes, expectTag(sdFields[2], 0x30, 'encapContentInfo'));
  const [eOctets] = childrenOf(bytes, expectTag(eWrap, 0xa0, 'eContent'));
  const certificates: Uint8Array[] = [];
  let k = 3;
  if (sdFields[k]?.tag === 0xa0) {
    for (const c of childrenOf(bytes, sdFields[k]!))
      if (c.tag === 0x30) certificates.push(encodingOf(bytes, c));
    k++;
  }
  if (sdFields[k]?.tag === 0xa1) k++;
  const signerInfos = childrenOf(bytes, expectTag(sdFields[k], 0x31, 'signerInfos'));
  const si = signerInfos[0];
  if (si === undefined) fail('no SignerInfo');
  const sf = childrenOf(bytes, expectTag(si, 0x30, 'SignerInfo'));
  const sidT = sf[1]!;
  let sid: SignedToken['sid'];
  if (sidT.tag === 0x30) {
    const [issuer, serial] = childrenOf(bytes, sidT);
    sid = {
      issuer: encodingOf(bytes, issuer!),
      serial: contentOf(bytes, expectTag(serial, 0x02, 'serial')),
    };
  } else if (sidT.tag === 0x80) sid = { ski: contentOf(bytes, sidT) };
  else fail('unknown SignerIdentifier');
  const digestAlgorithm = readOid(
    bytes,
    childrenOf(bytes, expectTag(sf[2], 0x30, 'digestAlgorithm'))[0],
  );
  const attrsT = expectTag(sf[3], 0xa0, 'signedAttrs');
  const signedAttrs = Uint8Array.from(encodingOf(bytes, attrsT));
  signedAttrs[0] = 0x31; // RFC 5652 5.4: the signature covers the SET OF encoding
  const attributes = new Map<string, Tlv[]>();
  for (const a of childrenOf(bytes, attrsT)) {
    const [oid, values] = childrenOf(bytes, a);
    const name = readOid(bytes, oid);
    if (attributes.has(name)) fail(`signed attribute ${name} repeated`);
    attributes.set(name, childrenOf(bytes, expectTag(values, 0x31, 'attribute values')));
  }
  return {
    status,
    statusText,
    signedDataVersion: version,
    eContentType: readOid(bytes, eType),
    eContent: readOctets(bytes, eOctets),
    certificates,
    signerInfos: signerInfos.length,
    sid,
    digestAlgorithm,
    signedAttrs,
    attributes,
    raw: bytes,
    signatureAlgorithm: encodingOf(bytes, expectTag(sf[4], 0x30, 'signatureAlgorithm')),
    signature: readOctets(bytes, sf[5]),
  };
}

/** RSA SignerInfos often name rsaEncryption; the digest algorithm then fixes the hash. */
function effectiveSignatureAlgorithm(token: SignedToken): Uint8Array {
  const [o] = childrenOf(token.signatureAlgorithm, readTlv(token.signatureAlgorithm, 0));
  if (readOid(token.signatureAlgorithm, o) !== id_rsaEncryption) return token.signatureAlgorithm;
  const byDigest: Record<string, string> = {
    [id_sha256]: id_sha256WithRSAEncryption,
    [id_sha384]: id_sha384WithRSAEncryption,
    [id_sha512]: id_sha512WithRSAEncryption,
  };
  const oid = byDigest[token.digestAlgorithm];
  return oid === undefined
    ? token.signatureAlgorithm
    : der.algorithmIdentifier(oid, der.nullValue());
}

/** Request fields needed to check the answer (RFC 3161 2.4.2). */
function parseRequest(b: Uint8Array): {
  nonce?: Uint8Array;
  policy?: string;
  certReq: boolean;
  imprint: Uint8Array;
} {
  assertStrictDer(b);
  const fields = childrenOf(b, expectTag(readTlv(b, 0), 0x30, 'TimeStampReq'));
  const out: { nonce?: Uint8Array; policy?: string; certReq: boolean; imprint: Uint8Array } = {
    certReq: false,
    imprint: encodingOf(b, expectTag(fields[1], 0x30, 'messageImprint')),
  };
  for (const f of fields.slice(2)) {
    if (f.tag === 0x06) out.policy = readOid(b, f);
    else if (f.tag === 0x02) out.nonce = contentOf(b, f);
    else if (f.tag === 0x01) out.certReq = b[f.valueStart] === 0xff;
  }
  return out;
}

function findSigner(token: SignedToken, pool: readonly ParsedCert[]): ParsedCert | undefined {
  const sid = token.sid;
  return pool.find((c) =>
    'ski' in sid
      ? subjectKeyId(c) !== undefined && bytesEqual(subjectKeyId(c)!, sid.ski)
      : bytesEqual(c.issuer, sid.issuer) && bytesEqual(c.serial, sid.serial),
  );
}

/** Collect-all verification of a time-stamp token; never throws for findings. */
export async function inspectToken(bytes: Uint8Array, options: TokenOptions): Promise<Report> {
  try {
    return await inspectTokenFields(bytes, options);
  } catch (error) {
    // A structure the checks could not walk (a malformed attribute, say) is a parse failure.
    const f = new Findings();
    f.fail(
      'token.structure',
      'parse',
      `the token is malformed: ${error instanceof Error ? error.message : 'unknown'}`,
    );
    return f.report(undefined, {});
  }
}

async function inspectTokenFields(bytes: Uint8Array, options: TokenOptions): Promise<Report> {
  const f = new Findings();
  let token: SignedToken;
  let tst: TstInfo;
  try {
    token = parseToken(bytes);
    if (token.status !== undefined && token.status > 1n) {
      f.fail(
        'token.status',
        'crypto',
        `the TSA refused: status ${token.status}${token.statusText ? ` (${token.statusText})` : ''}`,
      );
      return f.report(undefined, {});
    }
    tst = parseTstInfo(token.eContent);
  } catch (error) {
    f.fail(
      'token.structure',
      'parse',
      `the token could not be parsed: ${error instanceof Error ? error.message : 'unknown'}`,
    );
    return f.report(undefined, {});
  }
  if (token.status !== undefined)
    f.pass('token.status', `status ${token.status === 0n ? 'granted' : 'grantedWithMods'}`);
  else f.skip('token.status', 'a bare token: no status to check');
  f.check(
    'token.content-type',
    'crypto',
    token.eContentType === id_ct_TSTInfo &&
      token.signerInfos === 1 &&
      token.signedDataVersion === 3n,
    'SignedData v3 with one SignerInfo over id-ct-TSTInfo',
    `eContentType ${token.eContentType}, ${token.signerInfos} SignerInfo(s), SignedData version ${token.signedDataVersion}`,
  );

  // The imprint against the data (RFC 3161 2.4.2: the TSA hashes nothing; we check the digest).
  const hash = HASHES[tst.hashOid];
  if (options.data !== undefined || options.digest !== undefined) {
    let expected: Uint8Array | undefined;
    if (options.data !== undefined && hash !== undefined) expected = hash.fn(options.data);
    if (options.digest !== undefined) {
      expected =
        TOKEN_HASHES[options.digest.hash] === tst.hashOid ? options.digest.value : undefined;
    }
    f.check(
      'token.imprint',
      'crypto',
      expected !== undefined && bytesEqual(expected, tst.hashedMessage),
      `the ${hash?.name ?? '?'} imprint matches the data`,
      hash === undefined
        ? `unknown imprint hash ${tst.hashOid}`
        : 'the imprint does not match the data (or was made with another hash)',
    );
  } else f.skip('token.imprint', 'no data or digest given');

  // Signed attributes: contentType and messageDigest (RFC 5652 5.3, 11.1, 11.2).
  const ct = token.attributes.get(id_contentType)?.[0];
  const md = token.attributes.get(id_messageDigest)?.[0];
  const digestFn = HASHES[token.digestAlgorithm];
  const mdOk =
    ct !== undefined &&
    md !== undefined &&
    readOid(token.raw, ct) === id_ct_TSTInfo &&
    digestFn !== undefined &&
    digestFn.name !== 'sha1' &&
    bytesEqual(readOctets(token.raw, md), digestFn.fn(token.eContent));
  f.check(
    'token.message-digest',
    'crypto',
    mdOk,
    'contentType and messageDigest match the TSTInfo',
    'contentType or messageDigest does not match the TSTInfo',
  );

  // Signer certificate: in the token or given with --certs.
  const pool = parseAll([...token.certificates, ...(options.certificates ?? [])], f);
  if (pool === undefined) return f.report(undefined, {});
  const unique = pool.filter((c, i) => pool.findIndex((d) => d.sha256 === c.sha256) === i);
  const signer = findSigner(token, unique);
  if (signer === undefined) {
    f.fail(
      'token.signer',
      'crypto',
      'the signer certificate is neither in the token nor given with --certs',
    );
    return f.report(undefined, claimsOf(tst));
  }
  const sigOk = await verifySignature(
    signer.spki,
    effectiveSignatureAlgorithm(token),
    token.signedAttrs,
    token.signature,
  );
  f.check(
    'token.signature',
    'crypto',
    sigOk,
    `signed by the key of ${signer.sha256}`,
    'the signature does not verify with the signer certificate',
  );

  // signingCertificate(V2) must name the signer (RFC 5816 / RFC 2634).
  const v2 = token.attributes.get(id_aa_signingCertificateV2)?.[0];
  const v1 = token.attributes.get(id_aa_signingCertificate)?.[0];
  let essOk = false;
  let essDetail = 'no signingCertificate or signingCertificateV2 attribute';
  const attr = v2 ?? v1;
  if (attr !== undefined) {
    const b = token.raw;
    const [certs] = childrenOf(b, attr);
    const [first] = childrenOf(b, certs!);
    const parts = childrenOf(b, first!);
    let hashOid = v2 !== undefined ? id_sha256 : id_sha1;
    let idx = 0;
    if (v2 !== undefined && parts[0]?.tag === 0x30) {
      hashOid = readOid(b, childrenOf(b, parts[0])[0]);
      idx = 1;
    }
    const certHash = readOctets(b, parts[idx]);
    const h = HASHES[hashOid];
    essOk = h !== undefined && bytesEqual(h.fn(signer.der), certHash);
    essDetail = essOk ? '' : 'the certificate hash in signingCertificate does not name the signer';
  }
  f.check(
    'token.ess-cert-id',
    'crypto',
    essOk,
    'signingCertificate names the signer certificate',
    essDetail,
  );

  // The signer may time-stamp and nothing else (RFC 3161 2.3).
  const eku = extendedKeyUsages(signer);
  f.check(
    'token.signer-eku',
    'crypto',
    eku !== undefined &&
      eku.critical &&
      eku.oids.length === 1 &&
      eku.oids[0] === id_kp_timeStamping,
    'the signer certificate has only the critical id-kp-timeStamping EKU',
    'the signer certificate lacks a critical id-kp-timeStamping-only EKU',
  );

  // The chain at genTime, so that tokens stay verifiable after the certificate expires.
  const at = options.atOverride ?? tst.genTime;
  const rest = unique.filter((c) => c.sha256 !== signer.sha256);
  const result = await validatePath(signer, rest, { ...options, at }, f, { leftover: 'warn' });
  let ids: { deviceId?: string; partitionId?: string } = {};
  if (result.path !== undefined) {
    if (result.path.some((c) => roleOf(c) !== undefined)) ids = checkRoles(result.path, f);
    await checkRevocation(result.path, { ...options, at }, f, rest);
  }

  // With the request: nonce, policy, imprint and certReq behaviour.
  if (options.request !== undefined) {
    try {
      const req = parseRequest(options.request);
      const problems: string[] = [];
      if (req.nonce !== undefined && (tst.nonce === undefined || !bytesEqual(req.nonce, tst.nonce)))
        problems.push('nonce differs');
      if (req.nonce === undefined && tst.nonce !== undefined)
        problems.push('a nonce was not asked for');
      if (req.policy !== undefined && req.policy !== tst.policy)
        problems.push('policy differs from the requested one');
      if (!bytesEqual(req.imprint, tst.messageImprint))
        problems.push('messageImprint differs from the request');
      if (req.certReq !== token.certificates.length > 0)
        problems.push(
          req.certReq
            ? 'certificates were requested but are absent'
            : 'certificates present without certReq',
        );
      f.check(
        'token.request',
        'crypto',
        problems.length === 0,
        'nonce, policy, imprint and certReq match the request',
        problems.join('; '),
      );
    } catch {
      f.fail('token.request', 'parse', 'the request could not be parsed');
    }
  } else f.skip('token.request', 'no request given');

  // TSTInfo encoding rules (RFC 3161 2.4.2, ETSI EN 319 422).
  const rules: string[] = [];
  if (tst.version !== 1n) rules.push('version is not 1');
  if (!/^\d{14}(\.\d*[1-9])?Z$/.test(tst.genTimeText)) rules.push('genTime not in DER form');
  if (tst.accuracy !== undefined) {
    const a = tst.accuracy;
    if (a.millis > 999n || a.micros > 999n) rules.push('accuracy part out of range');
    if (a.millis === 0n && a.micros === 0n && a.seconds === 0n) rules.push('accuracy is zero');
  }
  if (tst.ordering === true) rules.push('ordering is TRUE');
  if (tst.extensions.some((e) => e.critical)) rules.push('critical TSTInfo extension');
  if (hash === undefined) rules.push(`unknown imprint hash ${tst.hashOid}`);
  else if (tst.hashedMessage.length !== hash.length)
    rules.push('imprint length does not match its hash');
  f.check(
    'token.encoding',
    'crypto',
    rules.length === 0,
    'TSTInfo follows the encoding rules',
    rules.join('; '),
  );

  const claims: Record<string, unknown> = {
    ...claimsOf(tst),
    signerCertificateSha256: signer.sha256,
    ...ids,
  };

  // With evidence: the same anchor, the same key, never extractable, local, active.
  if (options.evidence !== undefined) {
    const evidenceOptions: EvidenceOptions = {
      anchors: options.anchors,
      at: options.atOverride ?? tst.genTime,
      ...(options.crls === undefined ? {} : { crls: options.crls }),
      expectSpki: signer.spki,
      require: { 'never-extractable': true, local: true, extractable: false },
      allowSoftware: options.allowSoftware === true,
    };
    const ev = await inspectEvidence(options.evidence, evidenceOptions);
    for (const c of ev.checks) {
      const id = `evidence:${c.id}`;
      if (c.status === 'fail')
        f.fail(
          id,
          c.id.startsWith('policy') || c.id === 'key.binding' || c.id.startsWith('freshness')
            ? 'policy'
            : 'crypto',
          c.detail,
        );
      else if (c.status === 'pass') f.pass(id, c.detail);
      else if (c.status === 'warn') f.warn(id, c.detail);
      else f.skip(id, c.detail);
    }
    const key = (ev.claims as { keys?: { identifier?: string; partitionId?: string }[] }).keys?.[0];
    const device = (ev.claims as { platform?: { deviceId?: string } }).platform?.deviceId;
    if (ev.outcome === 'verified') {
      f.pass(
        'token.key-in-hsm',
        `the token was signed by key ${key?.identifier ?? '?'}, generated in partition ${key?.partitionId ?? '?'} of device ${device ?? '?'} and never extractable`,
      );
    } else
      f.fail(
        'token.key-in-hsm',
        'policy',
        'the evidence does not prove that the signing key stayed in an HSM partition',
      );
    claims.evidence = ev.claims;
  } else f.skip('token.key-in-hsm', 'no evidence given');
  return f.report(result.anchor, claims);
}

function claimsOf(tst: TstInfo): Record<string, unknown> {
  return {
    policy: tst.policy,
    serial: toHex(tst.serial),
    genTime: tst.genTimeText,
    hash: HASHES[tst.hashOid]?.name ?? tst.hashOid,
    imprint: toHex(tst.hashedMessage),
    nonce: tst.nonce === undefined ? undefined : toHex(tst.nonce),
    accuracy:
      tst.accuracy === undefined
        ? undefined
        : {
            seconds: Number(tst.accuracy.seconds),
            millis: Number(tst.accuracy.millis),
            micros: Number(tst.accuracy.micros),
          },
  };
}
