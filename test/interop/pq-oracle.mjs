// The post-quantum oracle of test/interop/pq-oracle.test.ts, run by a Node 26 binary whose
// node:crypto has ML-DSA, SLH-DSA and ML-KEM from OpenSSL 3.5: an implementation independent of
// @noble/post-quantum. It reads one JSON request on stdin (bytes in base64), answers one JSON
// object on stdout, and reports each item's failure in that item instead of stopping.
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';

const request = JSON.parse(readFileSync(0, 'utf8'));
const bytes = (b64) => Buffer.from(b64, 'base64');
const b64 = (buf) => Buffer.from(buf).toString('base64');
const flip = (buf) => {
  const out = Buffer.from(buf);
  out[out.length - 1] ^= 0x01;
  return out;
};
const spkiOf = (key) => crypto.createPublicKey(key).export({ type: 'spki', format: 'der' });
const publicKey = (spki) =>
  crypto.createPublicKey({ key: bytes(spki), format: 'der', type: 'spki' });
const privateKey = (pkcs8) =>
  crypto.createPrivateKey({ key: bytes(pkcs8), format: 'der', type: 'pkcs8' });

/**
 * A minimal DER reader of its own (definite lengths only), so that the token checks below share
 * no code with the project: { tag, start, contentStart, end } of the TLV at `at`.
 */
function tlv(buf, at) {
  const tag = buf[at];
  let len = buf[at + 1];
  let contentStart = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i];
    contentStart += n;
  }
  return { tag, start: at, contentStart, end: contentStart + len };
}
const childrenOf = (buf, t) => {
  const out = [];
  for (let at = t.contentStart; at < t.end;) {
    const c = tlv(buf, at);
    out.push(c);
    at = c.end;
  }
  return out;
};
const content = (buf, t) => buf.subarray(t.contentStart, t.end);
const whole = (buf, t) => buf.subarray(t.start, t.end);
/** The dotted OID of an OBJECT IDENTIFIER TLV. */
function oidOf(buf, t) {
  const c = content(buf, t);
  const arcs = [];
  let v = 0;
  for (const b of c) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs.shift();
  return [
    first < 80 ? Math.floor(first / 40) : 2,
    first < 80 ? first % 40 : first - 80,
    ...arcs,
  ].join('.');
}
/** OID -> node:crypto hash and output length (RFC 8702 3.1 for the SHAKEs). */
const DIGESTS = {
  '2.16.840.1.101.3.4.2.1': ['sha256'],
  '2.16.840.1.101.3.4.2.2': ['sha384'],
  '2.16.840.1.101.3.4.2.3': ['sha512'],
  '2.16.840.1.101.3.4.2.11': ['shake128', 32],
  '2.16.840.1.101.3.4.2.12': ['shake256', 64],
};

/**
 * An RFC 3161 token (ContentInfo of SignedData) checked as RFC 9882 / RFC 9814 say: the
 * messageDigest attribute is the digest of eContent under the SignerInfo's digest algorithm,
 * the signature is a pure signature over DER(signedAttrs) (re-tagged as a SET) by the key of
 * the signer certificate, and each certificate of the chain verifies under the next one's key.
 */
function checkToken(t) {
  const token = bytes(t.token);
  const contentInfo = tlv(token, 0);
  const [, explicit] = childrenOf(token, contentInfo);
  const signedData = childrenOf(token, explicit)[0];
  const sd = childrenOf(token, signedData);
  const encap = sd[2];
  const eContent = childrenOf(token, childrenOf(token, encap)[1])[0];
  const signerInfos = sd[sd.length - 1];
  const si = childrenOf(token, childrenOf(token, signerInfos)[0]);
  const digestAlgorithm = oidOf(token, childrenOf(token, si[2])[0]);
  const attrsTlv = si[3];
  const signatureAlgorithm = oidOf(token, childrenOf(token, si[4])[0]);
  const signature = content(token, si[5]);
  const attrs = Buffer.from(whole(token, attrsTlv));
  attrs[0] = 0x31; // RFC 5652 5.4: signed as a SET OF, carried as [0] IMPLICIT
  let messageDigest;
  for (const a of childrenOf(token, attrsTlv)) {
    const [type, values] = childrenOf(token, a);
    if (oidOf(token, type) === '1.2.840.113549.1.9.4')
      messageDigest = content(token, childrenOf(token, values)[0]);
  }
  const [hash, outputLength] = DIGESTS[digestAlgorithm] ?? [];
  const computed =
    hash === undefined
      ? undefined
      : crypto
          .createHash(hash, outputLength === undefined ? undefined : { outputLength })
          .update(content(token, eContent))
          .digest();
  const chain = t.chain.map((c) => new crypto.X509Certificate(bytes(c)));
  const signer = chain[0];
  return {
    signatureAlgorithm,
    digestAlgorithm,
    keyType: signer.publicKey.asymmetricKeyType,
    digestMatches:
      computed !== undefined && messageDigest !== undefined && computed.equals(messageDigest),
    signatureValid: crypto.verify(null, attrs, signer.publicKey, signature),
    tamperedValid: crypto.verify(null, flip(attrs), signer.publicKey, signature),
    chainVerified: chain.map((c, i) => c.verify((chain[i + 1] ?? c).publicKey)),
  };
}

/** Runs `fn` for each item, an item's exception becoming its { error }. */
const each = (items, fn) =>
  (items ?? []).map((item) => {
    try {
      return fn(item);
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  });

const response = {
  node: process.version,
  openssl: process.versions.openssl,

  // Our SPKIs and PKCS#8 keys: parsed, the type named, exported again, the public key derived.
  keys: each(request.keys, (k) => {
    const pub = publicKey(k.spki);
    const out = {
      type: pub.asymmetricKeyType,
      spki: b64(pub.export({ type: 'spki', format: 'der' })),
    };
    if (k.pkcs8 === undefined) return out;
    const priv = privateKey(k.pkcs8);
    return {
      ...out,
      privateType: priv.asymmetricKeyType,
      pkcs8: b64(priv.export({ type: 'pkcs8', format: 'der' })),
      derivedSpki: b64(spkiOf(priv)),
    };
  }),

  // Our signatures: valid, and not once tampered.
  signatures: each(request.signatures, (s) => {
    const key = publicKey(s.spki);
    return {
      valid: crypto.verify(null, bytes(s.message), key, bytes(s.signature)),
      tampered: crypto.verify(null, bytes(s.message), key, flip(bytes(s.signature))),
    };
  }),

  // Signatures by our private keys, for us to verify with our public keys.
  signWithOurs: each(request.signWithOurs, (s) => ({
    signature: b64(crypto.sign(null, bytes(s.message), privateKey(s.pkcs8))),
  })),

  // Our certificates, checked with X509Certificate.verify against their issuer's key.
  certificates: each(request.certificates, (c) => {
    const issuer = publicKey(c.issuerSpki);
    return {
      verified: new crypto.X509Certificate(bytes(c.certificate)).verify(issuer),
      tampered: new crypto.X509Certificate(flip(bytes(c.certificate))).verify(issuer),
    };
  }),

  // Our ciphertexts decapsulated with our keys, and a ciphertext of its own for our key.
  kem: each(request.kem, (k) => {
    const { sharedKey, ciphertext } = crypto.encapsulate(publicKey(k.spki));
    return {
      decapsulated: b64(crypto.decapsulate(privateKey(k.pkcs8), bytes(k.ciphertext))),
      ciphertext: b64(ciphertext),
      sharedSecret: b64(sharedKey),
    };
  }),

  // Time-stamp tokens of the HSM's post-quantum units, and their chains (leaf first).
  tokens: each(request.tokens, checkToken),

  // The JWK node:crypto writes for a public key (AKP for ML-DSA: draft-ietf-cose-dilithium).
  jwks: each(request.jwks, (k) => publicKey(k.spki).export({ format: 'jwk' })),

  // PKCS#8 keys encrypted with a passphrase (PBES2, RFC 8018): opened, their public key derived.
  encrypted: each(request.encrypted, (e) => {
    const key = crypto.createPrivateKey({ key: e.pem, format: 'pem', passphrase: e.passphrase });
    let wrong;
    try {
      crypto.createPrivateKey({ key: e.pem, format: 'pem', passphrase: `${e.passphrase}x` });
      wrong = 'opened';
    } catch {
      wrong = 'refused';
    }
    return { type: key.asymmetricKeyType, spki: b64(spkiOf(key)), wrongPassphrase: wrong };
  }),

  // Keys of its own: a signature over the message, or a ciphertext, for us to check.
  generate: each(request.generate, (g) => {
    const { publicKey: pub, privateKey: priv } = crypto.generateKeyPairSync(g.algorithm);
    const out = {
      spki: b64(pub.export({ type: 'spki', format: 'der' })),
      pkcs8: b64(priv.export({ type: 'pkcs8', format: 'der' })),
    };
    if (g.message !== undefined)
      return { ...out, signature: b64(crypto.sign(null, bytes(g.message), priv)) };
    const { sharedKey, ciphertext } = crypto.encapsulate(pub);
    return { ...out, ciphertext: b64(ciphertext), sharedSecret: b64(sharedKey) };
  }),
};

process.stdout.write(JSON.stringify(response));
