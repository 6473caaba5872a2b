// Time-stamp tokens OpenSSL cannot write: the TSTInfo of an `openssl ts -reply` token signed
// again (RFC 5652 5, RFC 3161 2.4.2) with node:crypto and the project's DER writer, under a
// subjectKeyIdentifier signer id, RSASSA-PSS, ECDSA, certificates in any order, either ESSCertID
// form, or with one field deliberately wrong. `openssl ts` writes PKCS#7 (issuerAndSerialNumber
// only), has no PSS option in OpenSSL 3.0 and refuses an RSA-PSS key ("response setup error");
// `openssl cms -sign -keyid` signs with PSS under a subjectKeyIdentifier but adds no
// signingCertificate attribute, which RFC 3161 2.4.2 requires. resignTokenWith signs with any
// signature the caller makes (post-quantum keys: RFC 9882, RFC 9814) under any CMS digest,
// SHA-3 and SHAKE included (RFC 8702).
import { constants, createHash, sign, type KeyObject } from 'node:crypto';
import { parseCert } from '../../src/attestation/index.js';
import { subjectKeyId } from '../../src/attestation/certificate.js';
import {
  der,
  derReader,
  id_aa_CMSAlgorithmProtection,
  id_aa_signingCertificate,
  id_aa_signingCertificateV2,
  id_contentType,
  id_ct_TSTInfo,
  id_ecdsa_with_SHA256,
  id_ecdsa_with_SHA384,
  id_ecdsa_with_SHA512,
  id_messageDigest,
  id_mgf1,
  id_RSASSA_PSS,
  id_sha1,
  id_sha256,
  id_sha256WithRSAEncryption,
  id_sha384,
  id_sha384WithRSAEncryption,
  id_sha512,
  id_sha512WithRSAEncryption,
  id_sha3_256,
  id_sha3_384,
  id_sha3_512,
  id_shake128,
  id_shake256,
  id_signedData,
} from '../../src/pki/index.js';

type Hash = 'sha256' | 'sha384' | 'sha512';
/** The digests a SignerInfo may name (RFC 5754, RFC 8702). */
export type CmsDigest = Hash | 'sha3-256' | 'sha3-384' | 'sha3-512' | 'shake128' | 'shake256';

const HASH_OIDS: Readonly<Record<CmsDigest | 'sha1', string>> = {
  sha1: id_sha1,
  sha256: id_sha256,
  sha384: id_sha384,
  sha512: id_sha512,
  'sha3-256': id_sha3_256,
  'sha3-384': id_sha3_384,
  'sha3-512': id_sha3_512,
  shake128: id_shake128,
  shake256: id_shake256,
};

/** RFC 8702 3.1: SHAKE128 gives 256 bits and SHAKE256 512 bits as a CMS digest. */
const SHAKE_LENGTH: Readonly<Partial<Record<CmsDigest, number>>> = { shake128: 32, shake256: 64 };

export interface ResignOptions {
  /** The signer's private key (RSA or EC) and certificate (DER). */
  readonly key: KeyObject;
  readonly signerCert: Uint8Array;
  /** SignedData.certificates in this order; empty leaves the field out. */
  readonly certificates: readonly Uint8Array[];
  readonly sid: 'issuer-serial' | 'ski';
  /** RSA keys: PKCS#1 v1.5 or PSS; EC keys: ECDSA. */
  readonly signature: 'pkcs1' | 'pss' | 'ecdsa';
  readonly digest?: Hash;
  /** PSS salt length used to sign, and the one declared in the parameters (default the same). */
  readonly pssSalt?: number;
  readonly declaredPssSalt?: number;
  /** v1: signingCertificate over SHA-1; v2: signingCertificateV2 with essHash. */
  readonly ess: 'v1' | 'v2';
  readonly essHash?: Hash;
  /** Also write IssuerSerial in the ESSCertID; 'wrong' names another serial. */
  readonly issuerSerial?: boolean | 'wrong';
  /** Flip a bit of the ESSCertID certificate hash (signed as such). */
  readonly wrongEssHash?: boolean;
  /** Name this subjectKeyIdentifier instead of the signer's. */
  readonly ski?: Uint8Array;
  /** Override the SignerInfo version (RFC 5652 5.3 ties it to the signer id kind). */
  readonly signerInfoVersion?: number;
  /** Add CMSAlgorithmProtection (RFC 6211): the SignerInfo's algorithms, or another digest. */
  readonly algorithmProtection?: 'match' | 'wrong-digest';
  /** Replace the TSTInfo before signing. */
  readonly tstInfo?: Uint8Array;
}

const { readTlv, childrenOf, encodingOf, readOctets } = derReader;

/** The DER TSTInfo inside a TimeStampResp or token. */
export function tstInfoOf(token: Uint8Array): Uint8Array {
  let top = readTlv(token, 0);
  const first = childrenOf(token, top)[0]!;
  if (first.tag === 0x30) top = childrenOf(token, top)[1]!; // TimeStampResp: skip the status
  const [, content] = childrenOf(token, top);
  const [sd] = childrenOf(token, content!);
  const encap = childrenOf(token, sd!)[2]!;
  const [, wrap] = childrenOf(token, encap);
  return readOctets(token, childrenOf(token, wrap!)[0]);
}

/** The TSTInfo with its fields after genTime (accuracy..extensions) replaced by `edit`'s. */
export function editTstInfo(
  tst: Uint8Array,
  edit: (optional: Uint8Array[]) => Uint8Array[],
): Uint8Array {
  const fields = childrenOf(tst, readTlv(tst, 0)).map((t) => encodingOf(tst, t));
  return der.seq(...fields.slice(0, 5), ...edit(fields.slice(5)));
}

function digestOf(hash: CmsDigest | 'sha1', data: Uint8Array): Uint8Array {
  const outputLength = SHAKE_LENGTH[hash as CmsDigest];
  return new Uint8Array(
    createHash(hash, outputLength === undefined ? {} : { outputLength })
      .update(data)
      .digest(),
  );
}

function signatureAlgorithm(o: ResignOptions, hash: Hash, salt: number): Uint8Array {
  if (o.signature === 'ecdsa')
    return der.algorithmIdentifier(
      { sha256: id_ecdsa_with_SHA256, sha384: id_ecdsa_with_SHA384, sha512: id_ecdsa_with_SHA512 }[
        hash
      ],
    );
  if (o.signature === 'pkcs1')
    return der.algorithmIdentifier(
      {
        sha256: id_sha256WithRSAEncryption,
        sha384: id_sha384WithRSAEncryption,
        sha512: id_sha512WithRSAEncryption,
      }[hash],
      der.nullValue(),
    );
  // RSASSA-PSS-params (RFC 4055 3.1): hash, MGF1 with the same hash, salt length; trailer 1.
  const hashAlg = der.algorithmIdentifier(HASH_OIDS[hash], der.nullValue());
  return der.algorithmIdentifier(
    id_RSASSA_PSS,
    der.seq(
      der.contextConstructed(0, hashAlg),
      der.contextConstructed(1, der.algorithmIdentifier(id_mgf1, hashAlg)),
      der.contextConstructed(2, der.integer(salt)),
    ),
  );
}

/** A TimeStampResp (granted) around a SignedData over `token`'s TSTInfo signed as `o` says. */
export function resignToken(token: Uint8Array, o: ResignOptions): Uint8Array {
  const hash = o.digest ?? 'sha256';
  const salt = o.pssSalt ?? digestOf(hash, new Uint8Array()).length;
  const signer: RawSigner = {
    algorithm: signatureAlgorithm(o, hash, o.declaredPssSalt ?? salt),
    sign: (signedAttrs) =>
      new Uint8Array(
        o.signature === 'pss'
          ? sign(hash, signedAttrs, {
              key: o.key,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: salt,
            })
          : sign(hash, signedAttrs, o.key),
      ),
  };
  return signedToken(token, signer, { ...o, digest: hash });
}

/** A signature made by the caller: its DER AlgorithmIdentifier and the signing function. */
export interface RawSigner {
  readonly algorithm: Uint8Array;
  /** Signs the DER of the signed attributes (RFC 5652 5.4; pure mode for ML-DSA and SLH-DSA). */
  sign(signedAttrs: Uint8Array): Uint8Array;
}

/** The options of resignToken that do not name node:crypto keys, with any CMS digest. */
export type RawResignOptions = Omit<
  ResignOptions,
  'key' | 'signature' | 'digest' | 'pssSalt' | 'declaredPssSalt'
> & {
  readonly digest?: CmsDigest;
  /** Name this digest algorithm in the SignerInfo (and protection) instead (signed as is). */
  readonly namedDigest?: CmsDigest;
  /** Write the digest AlgorithmIdentifier with NULL parameters. */
  readonly digestNullParameters?: boolean;
};

/** As resignToken, signed by `signer` (a post-quantum key, say) under `o.digest` (SHA-512). */
export function resignTokenWith(
  token: Uint8Array,
  signer: RawSigner,
  o: RawResignOptions,
): Uint8Array {
  return signedToken(token, signer, { ...o, digest: o.digest ?? 'sha512' });
}

function signedToken(
  token: Uint8Array,
  signer: RawSigner,
  o: RawResignOptions & { readonly digest: CmsDigest },
): Uint8Array {
  const tst = o.tstInfo ?? tstInfoOf(token);
  const hash = o.digest;
  const cert = parseCert(o.signerCert);

  const essHash = o.ess === 'v1' ? 'sha1' : (o.essHash ?? 'sha256');
  const certHash = digestOf(essHash, o.signerCert);
  if (o.wrongEssHash === true) certHash[0]! ^= 0x01;
  const serial = Uint8Array.from(cert.serial);
  if (o.issuerSerial === 'wrong') serial[serial.length - 1]! ^= 0x01;
  const issuerSerial =
    o.issuerSerial === undefined || o.issuerSerial === false
      ? []
      : [der.seq(der.seq(der.contextConstructed(4, cert.issuer)), der.tlv(0x02, serial))];
  const essCertId =
    o.ess === 'v1'
      ? der.seq(der.octetString(certHash), ...issuerSerial)
      : der.seq(
          // DER omits the DEFAULT (SHA-256) hash algorithm.
          ...(essHash === 'sha256' ? [] : [der.algorithmIdentifier(HASH_OIDS[essHash])]),
          der.octetString(certHash),
          ...issuerSerial,
        );
  const attribute = (oid: string, value: Uint8Array): Uint8Array =>
    der.seq(der.oid(oid), der.setOf(value));
  const sigAlg = signer.algorithm;
  const digestIdentifier = (name: CmsDigest): Uint8Array =>
    o.digestNullParameters === true
      ? der.algorithmIdentifier(HASH_OIDS[name], der.nullValue())
      : der.algorithmIdentifier(HASH_OIDS[name]);
  const named = o.namedDigest ?? hash;
  const protection: Uint8Array[] = [];
  if (o.algorithmProtection !== undefined) {
    const implicit = Uint8Array.from(sigAlg);
    implicit[0] = 0xa1; // signatureAlgorithm [1] IMPLICIT
    const digestAlg =
      o.algorithmProtection === 'match'
        ? digestIdentifier(named)
        : der.algorithmIdentifier(named === 'sha512' ? id_sha256 : id_sha512);
    protection.push(attribute(id_aa_CMSAlgorithmProtection, der.seq(digestAlg, implicit)));
  }
  const signedAttrs = der.setOf(
    ...protection,
    attribute(id_contentType, der.oid(id_ct_TSTInfo)),
    attribute(id_messageDigest, der.octetString(digestOf(hash, tst))),
    attribute(
      o.ess === 'v1' ? id_aa_signingCertificate : id_aa_signingCertificateV2,
      der.seq(der.seq(essCertId)),
    ),
  );

  const signature = signer.sign(signedAttrs);

  const ski = o.ski ?? subjectKeyId(cert);
  if (o.sid === 'ski' && ski === undefined)
    throw new Error('the signer has no subjectKeyIdentifier');
  const sid =
    o.sid === 'ski'
      ? der.contextPrimitive(0, ski!)
      : der.seq(cert.issuer, der.tlv(0x02, cert.serial));
  // RFC 5652 5.3: version 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
  const version = o.signerInfoVersion ?? (o.sid === 'ski' ? 3 : 1);
  const implicitAttrs = Uint8Array.from(signedAttrs);
  implicitAttrs[0] = 0xa0; // signedAttrs [0] IMPLICIT SignedAttributes
  const signerInfo = der.seq(
    der.integer(version),
    sid,
    digestIdentifier(named),
    implicitAttrs,
    sigAlg,
    der.octetString(signature),
  );
  const signedData = der.seq(
    der.integer(3),
    der.setOf(digestIdentifier(named)),
    der.seq(der.oid(id_ct_TSTInfo), der.contextConstructed(0, der.octetString(tst))),
    // certificates [0] IMPLICIT CertificateSet, in the order given (not sorted on purpose).
    ...(o.certificates.length === 0 ? [] : [der.contextConstructed(0, ...o.certificates)]),
    der.setOf(signerInfo),
  );
  const contentInfo = der.seq(der.oid(id_signedData), der.contextConstructed(0, signedData));
  return der.seq(der.seq(der.integer(0)), contentInfo);
}

/** The ContentInfo (bare token) of a TimeStampResp, for `openssl cms -verify`. */
export function contentInfoOf(response: Uint8Array): Uint8Array {
  const [, token] = childrenOf(response, readTlv(response, 0));
  return encodingOf(response, token!);
}
