// Key and signature algorithms: the registry in src/pki/algorithms (one file per family), and
// its signature AlgorithmIdentifiers as pkijs objects for the certificate and CRL builders.
import * as pkijs from 'pkijs';
import { toArrayBuffer } from '../shared/index.js';
import { signatureAlgorithmDer, type KeyAlgorithm } from './algorithms/index.js';

export * from './algorithms/index.js';

/** The AlgorithmIdentifier of the signature a key of this algorithm produces. */
export function signatureAlgorithmIdentifier(name: KeyAlgorithm): pkijs.AlgorithmIdentifier {
  return pkijs.AlgorithmIdentifier.fromBER(toArrayBuffer(signatureAlgorithmDer(name)));
}

/** DER of the AlgorithmIdentifier signatureAlgorithmIdentifier gives, as plain bytes. */
export function encodeSignatureAlgorithm(name: KeyAlgorithm): Uint8Array {
  return new Uint8Array(signatureAlgorithmIdentifier(name).toSchema().toBER(false));
}
