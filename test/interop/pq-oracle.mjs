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
