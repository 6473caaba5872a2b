// ML-DSA-44/65/87 keys (FIPS 204): generated from a fresh ξ, kept and sealed as seed-form PKCS#8
// (RFC 9881 6), pure ML-DSA signatures with the empty context (RFC 9881 3, RFC 9882 3.2).
import { pqSigningMechanism } from './pq-signing.js';
import type { MechanismFamily } from './types.js';

export const mlDsa: MechanismFamily = {
  name: 'ml-dsa',
  mechanism: (info) => pqSigningMechanism(info),
};
