// Passphrase-encrypted PKCS#8 (RFC 5958 3 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018 6.2)
// for a factory root key that OpenSSL under this Node cannot hold (ML-DSA, SLH-DSA): written with
// scrypt (RFC 7914 7) and AES-256-CBC (RFC 8018 B.2.5, as OpenSSL writes PKCS#8), read with
// scrypt or PBKDF2-HMAC-SHA-256/512 (what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes), so that
// OpenSSL 3.5 (`openssl pkcs8`, node:crypto on Node 24+) opens the files and the reverse.
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { der, derReader, PkiError } from '../../pki/index.js';
import { HsmError } from '../errors.js';

const { readTlv, childrenOf, expectTag, readOid, readOctets, readUnsigned } = derReader;

/** 1.2.840.113549.1.5.13 (RFC 8018 A.4) */
const id_PBES2 = '1.2.840.113549.1.5.13';
/** 1.2.840.113549.1.5.12 (RFC 8018 A.2) */
const id_PBKDF2 = '1.2.840.113549.1.5.12';
/** 1.3.6.1.4.1.11591.4.11 (RFC 7914 7) */
const id_scrypt = '1.3.6.1.4.1.11591.4.11';
/** 1.2.840.113549.2.9 (RFC 8018 B.1.2) */
const id_hmacWithSHA256 = '1.2.840.113549.2.9';
/** 1.2.840.113549.2.11 (RFC 8018 B.1.2) */
const id_hmacWithSHA512 = '1.2.840.113549.2.11';
/** 2.16.840.1.101.3.4.1.42 (RFC 8018 B.2.5, NIST aes256-CBC-PAD) */
const id_aes256_CBC = '2.16.840.1.101.3.4.1.42';

/**
 * The scrypt cost written: N = 2^14, r = 8 (16 MiB), p = 4. OpenSSL opens PBES2 files with its
 * default scrypt memory limit of 32 MiB (EVP_PBE_scrypt with maxmem 0), so N = 2^15 or more at
 * r = 8 would make files OpenSSL refuses; p = 4 asks four times the work of OpenSSL's own
 * default (N = 2^14, r = 8, p = 1) within that memory.
 */
const SCRYPT = { N: 2 ** 14, r: 8, p: 4 } as const;
/** Limits on what is read, so that a hostile key file cannot ask for unbounded work. */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const KEY_LENGTH = 32;

function scryptKey(
  passphrase: string,
  salt: Uint8Array,
  p: { N: number; r: number; p: number },
): Buffer {
  const memory = 128 * p.N * p.r * p.p;
  return scryptSync(passphrase, salt, KEY_LENGTH, { ...p, maxmem: memory + 1024 * 1024 });
}

/**
 * EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier {{PBES2}},
 *   encryptedData OCTET STRING }
 * PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme
 *   AlgorithmIdentifier }
 * scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter INTEGER, blockSize INTEGER,
 *   parallelizationParameter INTEGER, keyLength INTEGER OPTIONAL }
 */
export function encryptPkcs8(pkcs8: Uint8Array, passphrase: string): Uint8Array {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = scryptKey(passphrase, salt, SCRYPT);
  try {
    const cipher = createCipheriv('aes-256-cbc', key, iv);
    const encrypted = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    const kdf = der.algorithmIdentifier(
      id_scrypt,
      der.seq(
        der.octetString(salt),
        der.integer(SCRYPT.N),
        der.integer(SCRYPT.r),
        der.integer(SCRYPT.p),
        der.integer(KEY_LENGTH),
      ),
    );
    const scheme = der.algorithmIdentifier(id_aes256_CBC, der.octetString(iv));
    return der.seq(
      der.algorithmIdentifier(id_PBES2, der.seq(kdf, scheme)),
      der.octetString(encrypted),
    );
  } finally {
    key.fill(0);
  }
}

function invalid(message: string, cause?: unknown): HsmError {
  return new HsmError('factory-invalid', message, cause === undefined ? {} : { cause });
}

const small = (value: bigint, max: number, what: string): number => {
  if (value < 1n || value > BigInt(max)) throw invalid(`the key file's ${what} is out of range`);
  return Number(value);
};

/** The key-encryption key of a PBES2 keyDerivationFunc (scrypt, or PBKDF2 with SHA-256/512). */
function deriveKey(b: Uint8Array, kdf: derReader.Tlv, passphrase: string): Buffer {
  const [oidT, paramsT] = childrenOf(b, expectTag(kdf, 0x30, 'keyDerivationFunc'));
  const oid = readOid(b, oidT);
  const params = childrenOf(b, expectTag(paramsT, 0x30, 'kdf parameters'));
  if (oid === id_scrypt) {
    const [saltT, nT, rT, pT, lengthT] = params;
    const N = small(readUnsigned(b, nT), 2 ** 24, 'scrypt cost');
    const r = small(readUnsigned(b, rT), 64, 'scrypt block size');
    const p = small(readUnsigned(b, pT), 16, 'scrypt parallelization');
    if (lengthT !== undefined && readUnsigned(b, lengthT) !== BigInt(KEY_LENGTH))
      throw invalid("the key file's key length is not 32");
    // RFC 7914 2: N a power of two greater than 1.
    if ((N & (N - 1)) !== 0 || N < 2) throw invalid("the key file's scrypt cost is not 2^n");
    if (128 * N * r * p > MAX_SCRYPT_MEMORY)
      throw invalid("the key file's scrypt cost is too high");
    return scryptKey(passphrase, readOctets(b, saltT), { N, r, p });
  }
  if (oid === id_PBKDF2) {
    // PBKDF2-params ::= SEQUENCE { salt CHOICE { specified OCTET STRING }, iterationCount
    //   INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
    const [saltT, countT, ...rest] = params;
    const iterations = small(readUnsigned(b, countT), MAX_PBKDF2_ITERATIONS, 'iteration count');
    let prfT = rest[0];
    if (prfT?.tag === 0x02) {
      if (readUnsigned(b, prfT) !== BigInt(KEY_LENGTH))
        throw invalid("the key file's key length is not 32");
      prfT = rest[1];
    }
    // HMAC-SHA-1, the DEFAULT, is refused: OpenSSL 3 writes SHA-256.
    const prf = prfT === undefined ? 'sha1' : readOid(b, childrenOf(b, prfT)[0]);
    const digest =
      prf === id_hmacWithSHA256 ? 'sha256' : prf === id_hmacWithSHA512 ? 'sha512' : undefined;
    if (digest === undefined) throw invalid("the key file's PBKDF2 PRF is not HMAC-SHA-256/512");
    return pbkdf2Sync(passphrase, readOctets(b, saltT), iterations, KEY_LENGTH, digest);
  }
  throw invalid(`the key file's key derivation ${oid} is not scrypt or PBKDF2`);
}

/**
 * The PKCS#8 inside an EncryptedPrivateKeyInfo. HsmError factory-invalid for a file of another
 * form, factory-passphrase-wrong when the passphrase does not open it (CBC padding; a wrong
 * passphrase that happens to give valid padding fails the caller's key checks).
 */
export function decryptPkcs8(encrypted: Uint8Array, passphrase: string): Uint8Array {
  let key: Buffer | undefined;
  try {
    const [algT, dataT] = childrenOf(
      encrypted,
      expectTag(readTlv(encrypted, 0), 0x30, 'EncryptedPrivateKeyInfo'),
    );
    const [oidT, paramsT] = childrenOf(encrypted, expectTag(algT, 0x30, 'encryptionAlgorithm'));
    if (readOid(encrypted, oidT) !== id_PBES2) throw invalid('the key file is not PBES2');
    const [kdfT, schemeT] = childrenOf(encrypted, expectTag(paramsT, 0x30, 'PBES2-params'));
    const [cipherT, ivT] = childrenOf(encrypted, expectTag(schemeT, 0x30, 'encryptionScheme'));
    if (readOid(encrypted, cipherT) !== id_aes256_CBC)
      throw invalid("the key file's cipher is not AES-256-CBC");
    const iv = readOctets(encrypted, ivT);
    if (iv.length !== 16) throw invalid("the key file's IV is not 16 octets");
    const data = readOctets(encrypted, dataT);
    key = deriveKey(encrypted, kdfT!, passphrase);
    try {
      const decipher = createDecipheriv('aes-256-cbc', key, iv);
      return new Uint8Array(Buffer.concat([decipher.update(data), decipher.final()]));
    } catch (cause) {
      throw new HsmError('factory-passphrase-wrong', 'the factory root key cannot be opened', {
        cause,
      });
    }
  } catch (error) {
    if (error instanceof HsmError) throw error;
    if (error instanceof PkiError) throw invalid('the key file is not an encrypted PKCS#8', error);
    throw error;
  } finally {
    key?.fill(0);
  }
}
