#!/usr/bin/python3
"""Independent AEAD for test/interop/secret-keys-openssl.test.ts (python-cryptography, OpenSSL
underneath but not node's binding of it): openssl enc does no AEAD.

    aead.py open  ALG KEYHEX NONCEHEX AADHEX  < ciphertext||tag  > plaintext
    aead.py seal  ALG KEYHEX AADHEX           < plaintext        > nonce||ciphertext||tag

ALG is aes-gcm or chacha20-poly1305; a seal draws its own random 96-bit nonce.
"""
import os
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305


def cipher(alg: str, key: bytes):
    if alg == "aes-gcm":
        return AESGCM(key)
    if alg == "chacha20-poly1305":
        return ChaCha20Poly1305(key)
    raise SystemExit(f"unknown algorithm {alg}")


def main() -> None:
    op, alg, key = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
    data = sys.stdin.buffer.read()
    if op == "open":
        nonce, aad = bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[5])
        sys.stdout.buffer.write(cipher(alg, key).decrypt(nonce, data, aad or None))
    elif op == "seal":
        aad = bytes.fromhex(sys.argv[4])
        nonce = os.urandom(12)
        sys.stdout.buffer.write(nonce + cipher(alg, key).encrypt(nonce, data, aad or None))
    else:
        raise SystemExit(f"unknown operation {op}")


if __name__ == "__main__":
    main()
