// RSA keys with node:crypto signing RSASSA-PSS (RFC 8017 8.1) with the parameters that
// src/pki/algorithms/rsa-pss.ts writes: the key algorithm's hash, MGF1 with it, salt 32.
import { constants, sign, verify } from 'node:crypto';
import { PSS_SALT_LENGTH } from '../../pki/index.js';
import { nodeMechanism, required } from './node-keys.js';
import { fitsRsa, generateRsa } from './rsa-pkcs1.js';
import type { MechanismFamily } from './types.js';

const padding = constants.RSA_PKCS1_PSS_PADDING;

export const rsaPss: MechanismFamily = {
  name: 'rsa-pss',
  mechanism(info) {
    const hash = required(info.hash, info, 'hash');
    return nodeMechanism(info, {
      generate: () => generateRsa(info),
      fits: (key) => fitsRsa(info, key),
      sign: (key, data) =>
        new Uint8Array(sign(hash, data, { key, padding, saltLength: PSS_SALT_LENGTH })),
      verifier: (key) => (data, signature) =>
        verify(hash, data, { key, padding, saltLength: PSS_SALT_LENGTH }, signature),
    });
  },
};
