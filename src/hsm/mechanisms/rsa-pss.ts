// RSA keys with node:crypto signing RSASSA-PSS (RFC 8017 8.1) with the parameters that
// src/pki/algorithms/rsa-pss.ts writes: the key algorithm's hash, MGF1 with it, salt 32; over a
// digest the caller computed with EMSA-PSS by hand (emsa-pss.ts) and raw RSA (RSASP1, RSAVP1),
// as node:crypto has no pre-hashed PSS: its sign and verify always hash the message themselves.
import {
  constants,
  privateEncrypt,
  publicDecrypt,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { PSS_SALT_LENGTH } from '../../pki/index.js';
import { checkDigest, checkPublicKey } from './digest.js';
import { emsaPssEncode, emsaPssVerify } from './emsa-pss.js';
import { nodeMechanism, required } from './node-keys.js';
import { fitsRsa, generateRsa, modulusBits } from './rsa-pkcs1.js';
import type { MechanismFamily } from './types.js';

const padding = constants.RSA_PKCS1_PSS_PADDING;
const raw = constants.RSA_NO_PADDING;

export const rsaPss: MechanismFamily = {
  name: 'rsa-pss',
  mechanism(info) {
    const hash = required(info.hash, info, 'hash');
    const fits = (key: KeyObject): boolean => fitsRsa(info, key);
    return nodeMechanism(info, {
      generate: () => generateRsa(info),
      fits,
      sign: (key, data) =>
        new Uint8Array(sign(hash, data, { key, padding, saltLength: PSS_SALT_LENGTH })),
      verifier: (key) => (data, signature) =>
        verify(hash, data, { key, padding, saltLength: PSS_SALT_LENGTH }, signature),
      // RFC 8017 8.1.1: EM = EMSA-PSS-ENCODE(M, modBits - 1), then RSASP1 over EM as an integer
      // of k octets (a leading zero octet when modBits - 1 is a multiple of 8).
      signDigest(key, digest) {
        const bits = modulusBits(key);
        const k = Math.ceil(bits / 8);
        const em = emsaPssEncode(hash, checkDigest(hash, digest), bits - 1, PSS_SALT_LENGTH);
        const block = Buffer.alloc(k);
        block.set(em, k - em.length);
        return new Uint8Array(privateEncrypt({ key, padding: raw }, block));
      },
      digestVerifier(key) {
        const bits = modulusBits(checkPublicKey(info, key, fits));
        const k = Math.ceil(bits / 8);
        return (digest, signature) => {
          const mHash = checkDigest(hash, digest);
          // RFC 8017 8.1.2 step 1: the signature has the length of the modulus, k octets.
          if (signature.length !== k) return false;
          let m: Buffer;
          try {
            // RSAVP1; OpenSSL refuses a representative that is not below the modulus.
            m = publicDecrypt({ key, padding: raw }, signature);
          } catch {
            return false;
          }
          // Step 2c: I2OSP(m, emLen) with emLen = ceil((modBits - 1) / 8), one octet less than
          // k when modBits - 1 is a multiple of 8: that octet must then be zero.
          const emLen = Math.ceil((bits - 1) / 8);
          if (m.length !== k || m.subarray(0, k - emLen).some((b) => b !== 0)) return false;
          return emsaPssVerify(hash, mHash, m.subarray(k - emLen), bits - 1, PSS_SALT_LENGTH);
        };
      },
    });
  },
};
