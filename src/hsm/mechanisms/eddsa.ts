// Ed25519 keys with node:crypto: generation and pure EdDSA signatures over the message
// (RFC 8032 5.1.6, RFC 8410).
import { generateKeyPair, sign, verify } from 'node:crypto';
import { promisify } from 'node:util';
import { keyPair, nodeMechanism } from './node-keys.js';
import type { MechanismFamily } from './types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export const eddsa: MechanismFamily = {
  name: 'eddsa',
  mechanism: (info) =>
    nodeMechanism(info, {
      generate: async () => keyPair(await generateKeyPairAsync('ed25519')),
      fits: (key) => key.asymmetricKeyType === 'ed25519',
      sign: (key, data) => new Uint8Array(sign(null, data, key)),
      verifier: (key) => (data, signature) => verify(null, data, key, signature),
    }),
};
