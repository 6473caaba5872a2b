// EMSA-PSS encoding and verification of a message digest (RFC 8017 9.1.1 and 9.1.2 from step 3,
// the caller having hashed) with MGF1 (RFC 8017 B.2.1), written out because node:crypto signs PSS
// only over whole messages: it hashes itself and takes no digest, and raw RSA is the only way.
import { createHash, randomBytes } from 'node:crypto';
import { HASHES, type HashName } from '../../pki/index.js';

/** MGF1 (RFC 8017 B.2.1): Hash(seed || C) for C = 0, 1, ... as 4 octets, cut to maskLen. */
export function mgf1(hash: HashName, seed: Uint8Array, maskLen: number): Uint8Array {
  const hLen = HASHES[hash].length;
  const mask = new Uint8Array(Math.ceil(maskLen / hLen) * hLen);
  const counter = new Uint8Array(4);
  for (let c = 0; c * hLen < maskLen; c++) {
    new DataView(counter.buffer).setUint32(0, c);
    mask.set(createHash(hash).update(seed).update(counter).digest(), c * hLen);
  }
  return mask.subarray(0, maskLen);
}

/** H = Hash(M') with M' = (0x)00 00 00 00 00 00 00 00 || mHash || salt (steps 5-6 / 12-13). */
function hashOfMPrime(hash: HashName, mHash: Uint8Array, salt: Uint8Array): Buffer {
  return createHash(hash).update(new Uint8Array(8)).update(mHash).update(salt).digest();
}

/** The octets of emBits bits, and how many top bits of the first octet must stay zero. */
function lengths(emBits: number): { emLen: number; topBits: number } {
  const emLen = Math.ceil(emBits / 8);
  return { emLen, topBits: 8 * emLen - emBits };
}

/**
 * EM of emLen = ceil(emBits / 8) octets for the digest `mHash` with a fresh salt of `sLen`
 * octets (RFC 8017 9.1.1 steps 3-12). The caller has checked the digest's length.
 */
export function emsaPssEncode(
  hash: HashName,
  mHash: Uint8Array,
  emBits: number,
  sLen: number,
): Uint8Array {
  const hLen = HASHES[hash].length;
  const { emLen, topBits } = lengths(emBits);
  // Step 3: a modulus too small for the hash and the salt is a registry bug.
  if (emLen < hLen + sLen + 2) throw new Error('emsa-pss: encoding error');
  const salt = randomBytes(sLen);
  const h = hashOfMPrime(hash, mHash, salt);
  // Steps 7-8: DB = PS || 0x01 || salt, PS zeros, emLen - hLen - 1 octets in all.
  const dbLen = emLen - hLen - 1;
  const em = new Uint8Array(emLen);
  em[dbLen - sLen - 1] = 0x01;
  em.set(salt, dbLen - sLen);
  // Steps 9-10: maskedDB = DB xor MGF(H, emLen - hLen - 1).
  const mask = mgf1(hash, h, dbLen);
  for (let i = 0; i < dbLen; i++) em[i]! ^= mask[i]!;
  // Step 11: the leftmost 8emLen - emBits bits are zero, so that EM < 2^emBits < n.
  em[0]! &= 0xff >>> topBits;
  // Step 12: EM = maskedDB || H || 0xbc.
  em.set(h, dbLen);
  em[emLen - 1] = 0xbc;
  return em;
}

/**
 * Whether EM (emLen octets) is consistent with the digest `mHash` for a salt of exactly `sLen`
 * octets (RFC 8017 9.1.2 steps 3-14). Never throws.
 */
export function emsaPssVerify(
  hash: HashName,
  mHash: Uint8Array,
  em: Uint8Array,
  emBits: number,
  sLen: number,
): boolean {
  const hLen = HASHES[hash].length;
  const { emLen, topBits } = lengths(emBits);
  // Steps 3-4: room for the hash and the salt, and the trailer field 0xbc.
  if (em.length !== emLen || mHash.length !== hLen || emLen < hLen + sLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  // Steps 5-6: maskedDB || H, and the leftmost 8emLen - emBits bits of maskedDB are zero.
  const dbLen = emLen - hLen - 1;
  const h = em.subarray(dbLen, dbLen + hLen);
  if ((em[0]! & ~(0xff >>> topBits) & 0xff) !== 0) return false;
  // Steps 7-9: DB = maskedDB xor MGF(H, emLen - hLen - 1), its top bits zeroed.
  const db = mgf1(hash, h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= em[i]!;
  db[0]! &= 0xff >>> topBits;
  // Step 10: DB = PS (emLen - hLen - sLen - 2 zero octets) || 0x01 || salt.
  const psLen = emLen - hLen - sLen - 2;
  let bad = db[psLen]! ^ 0x01;
  for (let i = 0; i < psLen; i++) bad |= db[i]!;
  // Steps 11-14: H' = Hash(M') over the recovered salt equals H.
  const h2 = hashOfMPrime(hash, mHash, db.subarray(dbLen - sLen));
  for (let i = 0; i < hLen; i++) bad |= h[i]! ^ h2[i]!;
  return bad === 0;
}
