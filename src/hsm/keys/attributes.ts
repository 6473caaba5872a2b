// Key attributes (PKCS#11-like) as the HSM sets them at generation and import, the purposes a
// key may carry, and the consistency rules an attested key must satisfy.
import { HsmError } from '../errors.js';
import {
  KEY_PURPOSES,
  type GenerateKeyOptions,
  type KeyAttributes,
  type KeyPurpose,
} from '../types.js';

/** A generated key's attributes (purposes: the caller's, its algorithm's, or sign and verify). */
export function generatedAttributes(
  options: Pick<GenerateKeyOptions, 'extractable' | 'modifiable' | 'destroyable' | 'purposes'>,
): KeyAttributes {
  const extractable = options.extractable ?? false;
  return {
    extractable,
    sensitive: true,
    alwaysSensitive: true,
    neverExtractable: !extractable,
    local: true,
    modifiable: options.modifiable ?? false,
    copyable: false,
    destroyable: options.destroyable ?? true,
    purposes: options.purposes ?? ['sign', 'verify'],
    origin: 'generated',
  };
}

/** An imported key's attributes (origin imported); `unwrapped` for a key unwrapped inside. */
export function importedAttributes(
  options: { extractable?: boolean | undefined; purposes?: readonly KeyPurpose[] | undefined },
  origin: 'imported' | 'unwrapped' = 'imported',
): KeyAttributes {
  return {
    extractable: options.extractable ?? false,
    sensitive: true,
    alwaysSensitive: false,
    neverExtractable: false,
    local: false,
    modifiable: false,
    copyable: false,
    destroyable: true,
    purposes: options.purposes ?? ['sign', 'verify'],
    origin,
  };
}

export function checkPurposes(purposes: readonly string[]): void {
  for (const p of purposes) {
    if (!(KEY_PURPOSES as readonly string[]).includes(p)) {
      throw new HsmError('invalid-argument', 'unknown key purpose', { details: { purpose: p } });
    }
  }
}

/**
 * Whether attributes can be true of a key with this role and history: how the log says it was
 * created, whether it was ever exported. An attestation states only what passes this.
 */
export function attributesConsistent(
  a: KeyAttributes,
  role: string,
  history: { created: string | undefined; exported: boolean },
): boolean {
  return (
    (history.created === undefined ||
      ((history.created === 'key.import') === (a.origin === 'imported') &&
        (history.created === 'key.unwrap') === (a.origin === 'unwrapped'))) &&
    !(a.neverExtractable && a.extractable) &&
    !(a.neverExtractable && history.exported) &&
    a.local === (a.origin === 'generated') &&
    !(a.alwaysSensitive && !a.sensitive) &&
    (role === 'user' || (a.origin === 'generated' && !a.extractable))
  );
}
