// @noble/post-quantum by key algorithm name, for tests that check the HSM's post-quantum
// signatures independently of src/hsm (Node 20's node:crypto has no ML-DSA or SLH-DSA). No
// native module: usable under the Node 26 oracle too.
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import * as slh from '@noble/post-quantum/slh-dsa.js';

export const NOBLE_PQ: Readonly<Record<string, typeof ml_dsa44 | typeof slh.slh_dsa_sha2_128f>> = {
  'ml-dsa-44': ml_dsa44,
  'ml-dsa-65': ml_dsa65,
  'ml-dsa-87': ml_dsa87,
  'slh-dsa-sha2-128f': slh.slh_dsa_sha2_128f,
  'slh-dsa-sha2-192f': slh.slh_dsa_sha2_192f,
  'slh-dsa-sha2-256f': slh.slh_dsa_sha2_256f,
  'slh-dsa-shake-128f': slh.slh_dsa_shake_128f,
  'slh-dsa-shake-192f': slh.slh_dsa_shake_192f,
  'slh-dsa-shake-256f': slh.slh_dsa_shake_256f,
};

/**
 * Whether `signature` is a pure signature (empty context) of `data` under the SPKI's key, with
 * @noble/post-quantum; undefined for an algorithm it does not cover here.
 */
export function noblePqVerify(
  algorithm: string,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean | undefined {
  const pq = NOBLE_PQ[algorithm];
  if (pq === undefined) return undefined;
  // The key's BIT STRING is the SPKI's last publicKey octets (parameters absent).
  const raw = spki.subarray(spki.length - pq.lengths.publicKey!);
  return pq.verify(signature, data, raw, { context: new Uint8Array(0) });
}
