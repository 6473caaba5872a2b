// SLH-DSA keys (FIPS 205), the fast parameter sets: generated from fresh SK.seed, SK.prf and
// PK.seed, sealed as the raw PKCS#8 private key (RFC 9909 7), pure SLH-DSA signatures with the
// empty context (RFC 9909 3, RFC 9814 4).
import { pqSigningMechanism } from './pq-signing.js';
import type { MechanismFamily } from './types.js';

export const slhDsa: MechanismFamily = {
  name: 'slh-dsa',
  mechanism: (info) => pqSigningMechanism(info),
};
