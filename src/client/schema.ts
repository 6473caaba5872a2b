// The REST API's types, generated from api/openapi.yaml by `npm run generate:client`
// (openapi-typescript): do not edit by hand; a unit test fails when this file is stale.
export interface paths {
  '/v1/openapi.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** This document, as JSON. */
    get: operations['getOpenApi'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/device': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The device identity. */
    get: operations['getDevice'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/device/chain': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The device certificate and the factory root, PEM. */
    get: operations['getDeviceChain'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The partitions the caller's credential is scoped to. */
    get: operations['listPartitions'];
    put?: never;
    /** Creates a partition with its attestation and timestamp keys (device-so). */
    post: operations['createPartition'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    /** One partition. */
    get: operations['getPartition'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/policy': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    /** The partition's security policy. */
    get: operations['getPartitionPolicy'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    /** Changes policy fields (device-so or pso; quorum class policy.change). */
    patch: operations['setPartitionPolicy'];
    trace?: never;
  };
  '/v1/partitions/{partition}/chain': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    /** Partition attestation and timestamp certificates, device, root (PEM). */
    get: operations['getPartitionChain'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/exclude-so': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Excludes the device SO from the partition (pso; quorum class so.exclusion).
     * @description While excluded, a device security officer neither administers the partition nor
     *     approves its requests; revoking the partition stays possible. Excluding twice is no
     *     change.
     */
    post: operations['excludeSo'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/include-so': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Lets the device SO act in the partition again (pso; quorum class so.exclusion). */
    post: operations['includeSo'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/revoke': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Suspends a partition by revoking its certificates (device-so, even when excluded; quorum class partition.suspend).
     * @description Both certificates of the partition (attestation and timestamp keys) are listed on every
     *     CRL the device issues from then on (`attestamp crl issue --by device`). A partition is
     *     revoked once: again is `partition-revoked` (403).
     */
    post: operations['revokePartition'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    /** The partition's keys (active, or in the trash). */
    get: operations['listKeys'];
    put?: never;
    /** Generates a key pair inside the HSM (crypto-officer, pso or device-so). */
    post: operations['generateKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/import': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Imports a PKCS#8 private key or a derivable key, when the partition policy allows import.
     * @description The body carries exactly one of `pkcs8`, `seed` (with `algorithm`, a derivable key
     *     algorithm: its master key, BIP 32 / SLIP-10 "Master key generation") or `xprv` (a
     *     bip32-secp256k1 extended private key, xprv or tprv: the node it names, its version
     *     bytes naming the network). A refusal of the body is a 400 problem whose `field` names
     *     the field; the seed and the extended key are never echoed.
     */
    post: operations['importKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    /** One key, with its public key as PEM and JWK. */
    get: operations['getKey'];
    put?: never;
    post?: never;
    /**
     * Deletes a key (to the trash when the partition's policy has invalidation on).
     * @description crypto-officer, pso or device-so. A key with its own approval policy is deleted under
     *     the policy's modify rule (without one, under every rule it has), as a policy change
     *     is: the call answers 202 with the approval request, and executing the approved request
     *     deletes the key (its `result` is `{key, destroyed}`).
     */
    delete: operations['deleteKey'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/restore': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Takes a key out of the trash (device-so or pso; quorum class trash.restore). */
    post: operations['restoreKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/purge': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Destroys a key in the trash (device-so or pso; quorum class trash.purge). */
    post: operations['purgeKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/export': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Exports an extractable key wrapped under an RSA public key (RSA-OAEP + AES-KWP). */
    post: operations['exportKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/evidence': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Fresh key attestation evidence over a caller nonce, signed by the partition attestation key. */
    post: operations['getKeyEvidence'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/certificate': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    /** A key attestation certificate issued by the partition attestation key. */
    get: operations['getKeyCertificate'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/children': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Derives a child of a derivable key (BIP 32, SLIP-10) into a new key (crypto-user or crypto-officer).
     * @description The key `label` is a derivable key (`bip32-secp256k1`, `slip10-ed25519`, `slip10-p256`)
     *     with the purpose `derive`. The child at `path` (`m/84'/0'/0'/0/0` from a master key, or
     *     relative indices such as `0/5`; hardened segments end in `'`, `h` or `H`; Ed25519 keys
     *     derive hardened children only) becomes a new key of the partition of the same algorithm:
     *     it signs with its curve's scheme (low-S ECDSA on secp256k1, ECDSA P-256, Ed25519) and, with
     *     the purpose `derive`, derives further. It is temporary unless `persistent`: it expires
     *     after `expiresInSeconds` (default 3600, at most a year), is then refused with 403
     *     `key-expired`, and is destroyed by the HSM's sweep. Under the parent's own use rule the
     *     call answers 202 with the approval request (its statement names the path and the new key);
     *     executing it derives the key.
     */
    post: operations['deriveChildKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/xpub': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    /** The extended public key of a bip32-secp256k1 key (BIP 32 serialisation, any role). */
    get: operations['getKeyXpub'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/address': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    /**
     * The Bitcoin or Ethereum address of a secp256k1 key (any role).
     * @description For an `ecdsa-secp256k1` or `bip32-secp256k1` key: `p2wpkh` (bech32, BIP 84), `p2tr`
     *     (single-key taproot, bech32m, BIP 86) on `mainnet` (bc1...) or `testnet` (tb1...), or
     *     `ethereum` (EIP-55 checksummed).
     */
    get: operations['getKeyAddress'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/sign': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Signs data, or a digest under the key algorithm's hash (crypto-user or crypto-officer).
     * @description Exactly one of `data` and `digest`. `data` is signed as a whole message (Ed25519, ML-DSA
     *     and SLH-DSA sign data only: pure signatures); `digest` is the key algorithm's hash of the message (SHA-256 for P-256,
     *     RSA-3072 and RSA-PSS-3072, SHA-384 for P-384, SHA-512 for the 4096-bit RSA keys), of
     *     exactly that length. The body is at most 1 MiB (`--api-body-limit`), so `data` is at most
     *     about 760 KiB once base64-decoded (the HSM itself takes up to 1 MiB); sign a digest of
     *     larger data. Under the key's own use rule the call answers 202 with the approval request
     *     (whose statement holds the data, at most 16 KiB, or the digest, in hex); once approved,
     *     executing the request signs and its `result` holds `{key, algorithm, signature}` (hex).
     */
    post: operations['signKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/verify': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Verifies a signature with the key's public key (any role in the partition).
     * @description Exactly one of `data` and `digest`, as for signing, and the signature. A signature that
     *     does not verify is `valid: false`, not an error.
     */
    post: operations['verifyKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/block': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Blocks a key, kept but unusable until unblocked (crypto-officer or pso; its block rule). */
    post: operations['blockKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/unblock': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Unblocks a blocked key (crypto-officer or pso; its unblock rule). */
    post: operations['unblockKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/policy': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    /**
     * Replaces a modifiable key's approval policy (crypto-officer or pso).
     * @description `policy: null` (or an object without rules) clears it. Guarded by the key's modify rule;
     *     without one, by every rule the current policy has (use, block, unblock).
     */
    put: operations['setKeyPolicy'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/encrypt': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Encrypts with an AEAD secret key (crypto-user or crypto-officer).
     * @description AES-GCM or ChaCha20-Poly1305 under a 96-bit nonce the HSM draws: a `nonce` in the body
     *     is refused (400), since a nonce used twice under one key breaks both. The answer has the
     *     nonce and the ciphertext with its 16-byte tag appended. Each encryption is counted in
     *     the key's authenticated row; at 2^32 (NIST SP 800-38D 8.3) the key encrypts no more
     *     (403 `key-usage-exhausted`). Under the key's own use rule the call answers 202 with the
     *     approval request (its statement names the SHA-256 of the plaintext and of the additional
     *     data, which the HSM keeps sealed beside it, at most 16 KiB); once approved, executing it
     *     encrypts and its `result` holds `{key, algorithm, nonce, ciphertext}` (hex).
     */
    post: operations['encryptKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/decrypt': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Decrypts and authenticates with an AEAD secret key (crypto-user or crypto-officer).
     * @description `nonce` and `ciphertext` (tag appended) as `encrypt` answered them, and the same `aad`;
     *     a ciphertext that does not authenticate is 422 `decrypt-failed`. Under the key's use
     *     rule the call answers 202 with the approval request; once approved, the requester posts
     *     `{request}` here to carry it out and gets the plaintext (the request's `result` records
     *     its length only). The answer is never kept for an `Idempotency-Key`.
     */
    post: operations['decryptKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/mac': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * An HMAC of the data with an HMAC key (its purpose sign; crypto-user or crypto-officer).
     * @description The full-length tag. Under the key's use rule the call answers 202 (the statement names
     *     the data's SHA-256; the data is kept sealed, at most 16 KiB); executing the approved
     *     request computes it and its `result` holds `{key, algorithm, mac}` (hex).
     */
    post: operations['macKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/verify-mac': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Checks an HMAC in constant time (its purpose verify; crypto-user or crypto-officer).
     * @description A tag that does not verify (or is shorter than the hash) is `valid false`, not an error.
     */
    post: operations['verifyMacKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/wrap': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Wraps another key of the partition under this AES key (device-so, pso or crypto-officer).
     * @description RFC 5649 (`kwp`, the default) or RFC 3394 (`kw`, for a key encoding of a multiple of 8
     *     bytes) of the other key's encoding: PKCS#8 for a key pair, the raw bytes of a secret
     *     key. The other key must be extractable and the partition's policy must allow export
     *     (it is then marked exported: never-extractable false); the `key.export` quorum rule and
     *     both keys' use rules apply (202; the approved request's `result` holds the wrapped key).
     */
    post: operations['wrapKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/unwrap': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Unwraps a key under this AES key into a new key of the partition (device-so, pso or crypto-officer).
     * @description The new key (origin unwrapped) gets the label, algorithm, purposes, flags and policy
     *     given; the partition must be writable and allow import. It is never answered in
     *     plaintext. Under the AES key's use rule: 202, and executing the approved request
     *     unwraps it (its `result` names the new key).
     */
    post: operations['unwrapKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/{label}/derive': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Derives a new secret key from a shared secret of this key (crypto-user or crypto-officer).
     * @description The key `label` (the base, its purpose `derive`) makes a shared secret with the peer:
     *     an ECDH or X25519 key with `peerPublicKey`, an ML-KEM key by decapsulating
     *     `ciphertext`. HKDF (RFC 5869) with `kdf` turns it into the new secret key `newKey` of
     *     the partition (origin derived); the shared secret is wiped and never answered. A peer
     *     key of another algorithm or curve, a small-order X25519 point, or an input of the
     *     wrong kind for the base key is 400 `invalid-argument`. Under the base key's use rule
     *     the call answers 202 with the approval request (its statement names every input);
     *     executing the approved request derives the key (its `result` names it).
     */
    post: operations['deriveKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/keys/encapsulate': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Encapsulates a fresh secret to a peer's ML-KEM key into a new secret key (crypto-user or crypto-officer).
     * @description The HSM encapsulates to `peerPublicKey` (ML-KEM-768 or ML-KEM-1024, named by its
     *     SubjectPublicKeyInfo), derives the new secret key `newKey` of the partition from the
     *     shared secret with HKDF (`kdf`), and answers the key and the ciphertext for the peer,
     *     who derives the same key by `POST .../keys/{label}/derive` with `ciphertext` and the
     *     same `kdf`. The partition must be writable. A public key that is no ML-KEM key is 400
     *     `invalid-argument`.
     */
    post: operations['encapsulateKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approvals': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Approval requests the caller made or may decide on in its scope. */
    get: operations['listApprovals'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approvals/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    /** One request, with its statement and, given decision and approverKey, the exact bytes to sign. */
    get: operations['getApproval'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approvals/{id}/decisions': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Records an approver's signed decision (the signature is the authority). */
    post: operations['submitDecision'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approvals/{id}/cancel': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Cancels a pending request (its requester, or device-so / pso of its scope). */
    post: operations['cancelApproval'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approvals/{id}/execute': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Executes an approved request once; its result is on the request. */
    post: operations['executeApproval'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approvals/{id}/bundle': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    /**
     * The bundle an executed backup request made (its requester, or device-so / pso of the partition); audited.
     * @description An executed `partition.backup` request's result names its serial and digest, not the
     *     bundle; this call hands the bundle out and writes a `backup.download` audit entry
     *     (principal, request, partition, serial, the bundle's SHA-256). The bytes by default;
     *     JSON with the bundle in base64 when Accept names application/json only.
     */
    get: operations['downloadBackup'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/backup-domains': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The backup domains this device holds or has asked to join (device-so, auditor, a pso); never their keys. */
    get: operations['listBackupDomains'];
    put?: never;
    /** Creates a backup domain whose key exists only inside this device (device-so; quorum class domain.change). */
    post: operations['createBackupDomain'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/backup-domains/{name}/join-request': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description The backup domain's name. */
        name: components['parameters']['DomainName'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Step 1 on the joining device: the join request, signed by the device key (device-so).
     * @description A fresh ML-KEM-768 key pair, its seed sealed in a pending domain record. The signed
     *     request (opaque bytes, what `attestamp domain join-request --out` writes) by default;
     *     `{request}` (base64) when Accept names application/json only.
     */
    post: operations['backupDomainJoinRequest'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/backup-domains/{name}/enrolments': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description The backup domain's name. */
        name: components['parameters']['DomainName'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Step 2 on an enrolled device: the domain key for the device that signed the join request (device-so; quorum class domain.change). */
    post: operations['enrolBackupDevice'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/backup-domains/join': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Step 3 on the joining device: takes the domain key in from the enrolment (device-so; quorum class domain.change). */
    post: operations['joinBackupDomain'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/transport-keys': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** This device's transport keys with their certificates (device-so, auditor, a pso); never their private parts. */
    get: operations['listTransportKeys'];
    put?: never;
    /** Generates a transport key inside the device, certified by the device key (device-so; quorum class domain.change). */
    post: operations['createTransportKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/transport-keys/{id}/certificate': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description The transport key's id, or the SHA-256 of its certificate. */
        id: string;
      };
      cookie?: never;
    };
    /**
     * The chain a source device checks before it makes a bundle for this one.
     * @description JSON by default: `certificates` is the transport certificate then the device
     *     certificate, DER in base64, exactly the `transportCertificate` of
     *     `POST /v1/partitions/{partition}/backups` on the source; `root` is the factory root (the
     *     source checks against its own pinned root, not this one). With
     *     `Accept: application/pem-certificate-chain`, the two certificates as PEM blocks.
     */
    get: operations['getTransportKeyCertificate'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/backups': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The backup bundle of the partition, for a backup domain or a target device's transport certificate (device-so, pso; quorum class partition.backup).
     * @description Every key of the partition (the trash too), sealed to the domain or the transport key,
     *     signed by the partition's attestation key; audited as `partition.backup`. The DER bundle
     *     by default; `{serial, digest, keys, bundle}` when Accept names application/json only.
     *     Under a rule the call answers 202; once approved and executed, the bundle is handed out
     *     by `GET /v1/approvals/{id}/bundle`.
     */
    post: operations['backupPartition'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/migration-receipt': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * On the target of a migration, the receipt of a partition restored from another device's bundle (device-so, pso).
     * @description A CMS SignedData signed by the partition's attestation key, stating the source (device,
     *     partition, serial, bundle digest) and every key the restore put here; audited as
     *     `partition.migrate.receipt`. The DER receipt by default; `{receipt, digest, statement}`
     *     when Accept names application/json only. A partition not restored from a bundle is
     *     refused with its code.
     */
    post: operations['migrationReceipt'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/partitions/{partition}/migration': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * On the source of a migration, checks the target's receipt and takes the partition out of service for good (device-so, pso; quorum class partition.suspend).
     * @description The receipt as the raw body (application/octet-stream) with `dryRun` as a query
     *     parameter, or JSON `{receipt, bundle?, dryRun?}` within the 1 MiB JSON limit (the bundle
     *     the receipt names, optional: its manifest then says exactly which keys moved). With
     *     dryRun (the same roles) every check runs and nothing is written. A receipt that does not verify is 422
     *     `migration-receipt-invalid`; afterwards the partition's keys are refused with
     *     `partition-migrated` (403). Under a partition.suspend rule the call answers 202.
     */
    post: operations['completeMigration'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/restores': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * Restores a bundle as a new partition (device-so) or over the partition of that name (device-so, pso); quorum class partition.restore.
     * @description The bundle as the raw body (application/octet-stream, up to 64 MiB), with the options as
     *     query parameters; or JSON `{bundle, name?, allowRollback?, destroyNewer?}` within the
     *     1 MiB JSON limit. A bundle that does not verify is 422 `backup-invalid`; an older
     *     serial without allowRollback 409 `backup-rollback`.
     */
    post: operations['restorePartition'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/backups/inspect': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The verifier's report on a bundle against this device's factory root; nothing is decrypted.
     * @description The checks of `attestamp-verify backup` (structure, signature, chain with the HSM roles,
     *     the manifest against its signer) and the manifest. A bundle that does not verify is
     *     still a 200 whose `outcome` says so.
     */
    post: operations['inspectBackup'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/quorum-rules': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The quorum rules set on the device, or on a partition. */
    get: operations['listQuorumRules'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/quorum-rules/{operation}': {
    parameters: {
      query?: {
        /** @description A partition's rules; absent for the device's. */
        partition?: components['parameters']['PartitionQuery'];
      };
      header?: never;
      path: {
        /** @description The operation class the rule guards. */
        operation: components['schemas']['OperationClass'];
      };
      cookie?: never;
    };
    /** The rule of an operation class (null when none is set). */
    get: operations['getQuorumRule'];
    /** Sets or clears (null) a rule (quorum.change and the rule it changes apply). */
    put: operations['setQuorumRule'];
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approver-keys': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Enrolled approver keys. */
    get: operations['listApproverKeys'];
    put?: never;
    /** Enrols an approver key with its proof of possession (device-so). */
    post: operations['enrollApproverKey'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approver-keys/challenge': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** The bytes a key to enrol signs as its proof of possession. */
    post: operations['approverKeyChallenge'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/approver-keys/{fingerprint}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        fingerprint: components['schemas']['Fingerprint'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revokes an approver key (refused when a rule could no longer be met). */
    delete: operations['revokeApproverKey'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/officers': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * The principals with their roles (device-so or a device auditor; with ?partition, its pso or auditor).
     * @description Every principal of the role table (officers and applications), its state, its active
     *     roles (partition null: the device) and how many usable approver keys it has. With
     *     `partition`, only the principals holding a role in that partition, with their roles
     *     there. API principals (tokens, client certificates) are not listed: their roles are
     *     in their credentials.
     */
    get: operations['listOfficers'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/officers/{principal}/roles': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description A principal of the role table (an officer or an application). */
        principal: components['parameters']['PrincipalPath'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Grants a role on the device (device-so) or in a partition (pso or device-so); quorum class officers.change. */
    post: operations['grantRole'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/officers/{principal}/roles/{role}': {
    parameters: {
      query?: {
        /** @description The partition the role holds in; absent for a device role. */
        partition?: components['schemas']['Name'];
      };
      header?: never;
      path: {
        /** @description A principal of the role table (an officer or an application). */
        principal: components['parameters']['PrincipalPath'];
        role: components['schemas']['Role'];
      };
      cookie?: never;
    };
    get?: never;
    put?: never;
    post?: never;
    /** Revokes a role on the device (device-so) or in a partition (pso or device-so); quorum class officers.change. */
    delete: operations['revokeRole'];
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/audit': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** The audit log, in sequence order, a page at a time (auditor, device-so or pso). */
    get: operations['exportAudit'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** @description Raw bytes (a DER bundle, a signed enrolment message). */
    Bytes: string;
    /** @description A bundle or a certificate (DER) or a signed enrolment message, base64 (within the 1 MiB JSON body limit). */
    Base64Der: string;
    Sha256: string;
    /** @enum {string} */
    QueryFlag: 'true' | 'false';
    BackupDomain: {
      id: string;
      name: components['schemas']['Name'];
      /**
       * @description active (the key is held), pending (a join request waits), done (that request was answered).
       * @enum {string}
       */
      state: 'active' | 'pending' | 'done';
      /** @enum {string} */
      origin: 'created' | 'enrolled' | 'request';
      /** @description The device it was enrolled from (or a pending request's digest). */
      from: string | null;
      createdAt: components['schemas']['DateTime'];
      /** @description The domain key's check value (hex); for a join request, what its state says of it. */
      kcv: string;
    };
    TransportKey: {
      id: string;
      /** @enum {string} */
      algorithm: 'ml-kem-768' | 'ecdh-p256';
      createdAt: components['schemas']['DateTime'];
      device: string;
      subjectKeyIdentifier: string;
      certificateDigest: components['schemas']['Sha256'];
      notAfter: components['schemas']['DateTime'];
      certificate: components['schemas']['Pem'];
    };
    /** @description The verifier's report (attestamp-verify --json), one finding per check. */
    VerifierReport: {
      /** @enum {string} */
      outcome: 'verified' | 'failed' | 'policy-failed' | 'indeterminate' | 'unparseable';
      exitCode: number;
      checks: {
        id: string;
        /** @enum {string} */
        status: 'pass' | 'fail' | 'warn' | 'skip' | 'info';
        detail: string;
      }[];
      anchor?: components['schemas']['Sha256'];
      claims: Record<string, never>;
    };
    Problem: {
      type: string;
      title: string;
      status: number;
      detail: string;
      code: string;
      details?: {
        [key: string]: string | number | boolean;
      };
      instance?: string;
    };
    Name: string;
    Principal: string;
    /** @enum {string} */
    Algorithm:
      | 'ecdsa-p256'
      | 'ecdsa-p384'
      | 'ed25519'
      | 'rsa-3072'
      | 'rsa-4096'
      | 'rsa-pss-3072'
      | 'rsa-pss-4096'
      | 'ml-dsa-44'
      | 'ml-dsa-65'
      | 'ml-dsa-87'
      | 'slh-dsa-sha2-128f'
      | 'slh-dsa-sha2-192f'
      | 'slh-dsa-sha2-256f'
      | 'slh-dsa-shake-128f'
      | 'slh-dsa-shake-192f'
      | 'slh-dsa-shake-256f'
      | 'aes-128'
      | 'aes-256'
      | 'chacha20-poly1305'
      | 'hmac-sha256'
      | 'hmac-sha384'
      | 'hmac-sha512'
      | 'hmac-sha3-256'
      | 'hmac-sha3-384'
      | 'hmac-sha3-512'
      | 'ecdh-p256'
      | 'ecdh-p384'
      | 'x25519'
      | 'ml-kem-768'
      | 'ml-kem-1024'
      | 'ecdsa-secp256k1'
      | 'bip32-secp256k1'
      | 'slip10-ed25519'
      | 'slip10-p256';
    Purposes: (
      | 'encrypt'
      | 'decrypt'
      | 'wrap'
      | 'unwrap'
      | 'sign'
      | 'sign-recover'
      | 'verify'
      | 'verify-recover'
      | 'derive'
    )[];
    Base64: string;
    /**
     * @description One PEM block. The bound holds a DER of 64 KiB (87,384 base64 characters, a line break
     *     every 64, and the armour lines: 88,806) with room to spare; the largest certificate the
     *     HSM issues, one under an SLH-DSA-SHA2-256f key (a 49,856-octet signature), is about
     *     50 KiB of DER, some 69,000 characters of PEM.
     */
    Pem: string;
    Fingerprint: string;
    /** Format: date-time */
    DateTime: string;
    /** @enum {string} */
    OperationClass:
      | 'partition.create'
      | 'partition.suspend'
      | 'policy.change'
      | 'officers.change'
      | 'quorum.change'
      | 'trash.restore'
      | 'trash.purge'
      | 'key.export'
      | 'so.exclusion'
      | 'audit.export'
      | 'partition.backup'
      | 'partition.restore'
      | 'domain.change';
    /** @enum {string} */
    Role: 'device-so' | 'pso' | 'auditor' | 'crypto-officer' | 'crypto-user';
    /**
     * @description An RFC 5280 CRL reason (removeFromCRL is not a revocation).
     * @enum {string}
     */
    CrlReason:
      | 'unspecified'
      | 'keyCompromise'
      | 'cACompromise'
      | 'affiliationChanged'
      | 'superseded'
      | 'cessationOfOperation'
      | 'certificateHold'
      | 'privilegeWithdrawn'
      | 'aACompromise';
    Officer: {
      name: components['schemas']['Principal'];
      /** @enum {string} */
      type: 'officer' | 'application';
      /** @enum {string} */
      state: 'active' | 'suspended';
      createdAt: components['schemas']['DateTime'];
      roles: {
        role: components['schemas']['Role'];
        /** @description The partition's name (#id for one that is gone); null for the device. */
        partition: string | null;
      }[];
      /** @description Approver keys enrolled for the principal and not revoked. */
      approverKeys: number;
    };
    RoleChange: {
      principal: components['schemas']['Principal'];
      role: components['schemas']['Role'];
      partition: string | null;
    };
    SoExclusion: {
      partition: components['schemas']['Name'];
      soExcluded: boolean;
    };
    Device: {
      id: string;
      factoryLabel: string;
      development: boolean;
      createdAt: components['schemas']['DateTime'];
      organization: string;
      country: string;
      certificate: components['schemas']['Pem'];
    };
    Chain: {
      certificates: components['schemas']['Pem'][];
    };
    Policy: {
      exportAllowed: boolean;
      importAllowed: boolean;
      invalidation: boolean;
      readOnly: boolean;
      /** @description every new key must carry a use rule in its own approval policy */
      keyUseRuleRequired: boolean;
    };
    PolicyChange: {
      exportAllowed?: boolean;
      importAllowed?: boolean;
      invalidation?: boolean;
      readOnly?: boolean;
      keyUseRuleRequired?: boolean;
    };
    Partition: {
      id: string;
      name: components['schemas']['Name'];
      policy: components['schemas']['Policy'];
      createdAt: components['schemas']['DateTime'];
    };
    Key: {
      id: string;
      partition: components['schemas']['Name'];
      label: components['schemas']['Name'];
      /** @enum {string} */
      role: 'device' | 'partition-attestation' | 'partition-timestamp' | 'user';
      algorithm: components['schemas']['Algorithm'];
      /**
       * @description blocked keys are kept but unusable until unblocked (their policy's unblock rule)
       * @enum {string}
       */
      state: 'active' | 'invalidated' | 'blocked';
      createdAt: components['schemas']['DateTime'];
      invalidatedAt: components['schemas']['DateTime'] | null;
      attributes: {
        extractable: boolean;
        sensitive: boolean;
        alwaysSensitive: boolean;
        neverExtractable: boolean;
        local: boolean;
        modifiable: boolean;
        copyable: boolean;
        destroyable: boolean;
        purposes: components['schemas']['Purposes'];
        /** @enum {string} */
        origin: 'generated' | 'imported' | 'unwrapped' | 'derived';
        blocked?: boolean;
        /** @description a secret key's AEAD encryptions so far (each under a nonce the HSM drew) */
        encryptions?: number;
        /** @description when a temporary key (a derived child) stops being usable: refused with key-expired from then on, and destroyed by the HSM's sweep */
        expiresAt?: components['schemas']['DateTime'];
        /** @description where a key derived from a derivable key (BIP 32, SLIP-10) sits in its tree */
        derivation?: {
          /** @description the id of the key it was derived from */
          parent: string;
          parentFingerprint: string;
          /** @description m/... from the master key, or relative to the parent when its place is unknown */
          path: string;
          depth: number;
        };
        /** @description the key's own approval policy: rules for use, block, unblock and modify in the quorum rule language, with the policy's version */
        policy?: {
          version: number;
          use?: Record<string, never>;
          block?: Record<string, never>;
          unblock?: Record<string, never>;
          modify?: Record<string, never>;
        };
      };
      /** @description A key pair's public key; null for a secret key, which has none. */
      publicKey: {
        pem: components['schemas']['Pem'];
        /** @description the public key as a JWK: EC, OKP and RSA (RFC 7518, RFC 8037), ML-DSA as the AKP key type of draft-ietf-cose-dilithium (kty, alg, pub); null for a key with no JWK form (SLH-DSA) */
        jwk: {
          /** @enum {string} */
          kty: 'EC' | 'OKP' | 'RSA' | 'AKP';
        } | null;
      } | null;
      /** @description A secret key's key check value (16 bytes, hex): the first 16 bytes of SHA-256("attestamp key check value v1" || 0x00 || algorithm || 0x00 || key) */
      keyCheckValue?: string;
    };
    /** @description A key's own approval policy as given: any of use, block, unblock and modify, each a quorum rule (null or absent: none), checked by the HSM's rule parser */
    KeyPolicyInput: {
      use?: Record<string, never> | null;
      block?: Record<string, never> | null;
      unblock?: Record<string, never> | null;
      modify?: Record<string, never> | null;
    };
    Signature: {
      signature: components['schemas']['Base64'];
      algorithm: components['schemas']['Algorithm'];
      /** @description The id of the key that signed. */
      key: string;
    };
    Attestation: {
      /** @enum {string} */
      format: 'evidence' | 'certificate';
      der: components['schemas']['Base64'];
      pem?: components['schemas']['Pem'];
      /** @description Partition attestation certificate, device certificate, root (PEM). */
      chain: components['schemas']['Pem'][];
    };
    RuleRef: {
      scope: string;
      operation: string;
      version: number;
      digest: string;
    };
    Approval: {
      id: string;
      /** @enum {string} */
      state:
        | 'pending'
        | 'approved'
        | 'time-locked'
        | 'rejected'
        | 'expired'
        | 'rule-changed'
        | 'executed'
        | 'cancelled';
      requester: string;
      operation: string;
      /** @description The request's statement, as the HSM signed it. */
      statement: Record<string, never>;
      /** @description The exact bytes the HSM signed (prefix and RFC 8785 canonical JSON), base64. */
      statementBytes: components['schemas']['Base64'];
      /** @enum {string} */
      signer: 'device' | 'partition-attestation';
      signature: string;
      closedAt: components['schemas']['DateTime'] | null;
      closedBy: string | null;
      /** @description What the execution returned, or null: for an export `{key, wrapped}` (hex); for a key signature `{key, algorithm, signature}` (signature hex); for a block or unblock `{key, state}`; for a key policy change `{key, policyVersion}` */
      result: unknown;
      notBefore?: components['schemas']['DateTime'];
      rules: {
        ref: components['schemas']['RuleRef'];
        evaluation: Record<string, never>;
      }[];
      approvals: {
        principal: string;
        key: components['schemas']['Fingerprint'];
        /** @enum {string} */
        decision: 'approve' | 'reject';
        at: components['schemas']['DateTime'];
      }[];
      /** @description With ?decision and ?approverKey, the exact bytes that approver signs. */
      toSign?: {
        /** @enum {string} */
        decision: 'approve' | 'reject';
        principal: string;
        approverKey: components['schemas']['Fingerprint'];
        bytes: components['schemas']['Base64'];
        /** @description How to sign the bytes with openssl. */
        openssl: string;
      };
    };
    StoredRule: {
      scope: string;
      operation: components['schemas']['OperationClass'];
      version: number;
      rule: Record<string, never> | null;
    };
    RuleInForce: {
      operation: components['schemas']['OperationClass'];
      version: number;
      rule: Record<string, never> | null;
      digest: string;
    };
    ApproverKey: {
      fingerprint: components['schemas']['Fingerprint'];
      principal: string;
      algorithm: string;
      state: string;
      publicKey?: components['schemas']['Pem'];
    };
    AuditEntry: {
      seq: number;
      at: string;
      actor: string;
      action: string;
      partitionId: string | null;
      keyId: string | null;
      object: string | null;
      /** @enum {string} */
      outcome: 'success' | 'refused' | 'failure';
      details: {
        [key: string]: string | number | boolean;
      };
      prevHash: string;
      hash: string;
    };
    /**
     * @description kwp, AES key wrap with padding (RFC 5649, the default); kw, AES key wrap (RFC 3394)
     * @enum {string}
     */
    KeyWrapMode: 'kwp' | 'kw';
    AeadCiphertext: {
      /** @description The 96-bit nonce the HSM drew, base64. */
      nonce: components['schemas']['Base64'];
      /** @description The ciphertext with the 16-byte tag appended, base64. */
      ciphertext: components['schemas']['Base64'];
      algorithm: components['schemas']['Algorithm'];
      /** @description The id of the key that encrypted. */
      key: string;
      /** @description The key's encryptions so far, this one included. */
      encryptions: number;
      /** @description The most the key may make under random nonces (2^32). */
      limit: number;
    };
    /**
     * @description Base64 of at most 8 KiB (the HSM's bound on a public key, ciphertext, salt or info: an
     *     ML-KEM-1024 ciphertext is 1568 octets).
     */
    SharedSecretInput: string;
    /** @description HKDF (RFC 5869) of the shared secret; both parties give the same. */
    Kdf: {
      /**
       * @description The HKDF hash (default sha256).
       * @enum {unknown}
       */
      hash?: 'sha256' | 'sha384' | 'sha512';
      /** @description The HKDF salt, base64 (default none, RFC 5869 2.2). */
      salt?: components['schemas']['SharedSecretInput'];
      /** @description The HKDF info, base64 (default empty): the context the key is bound to. */
      info?: components['schemas']['SharedSecretInput'];
    };
    /** @description The secret key the shared secret becomes. */
    DerivedKeySpec: {
      label: components['schemas']['Name'];
      /** @description A secret key algorithm (AES, ChaCha20-Poly1305, HMAC). */
      algorithm: components['schemas']['Algorithm'];
      purposes?: components['schemas']['Purposes'];
      extractable?: boolean;
    };
  };
  responses: {
    /** @description An RFC 9457 problem document. */
    Problem: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/problem+json': components['schemas']['Problem'];
      };
    };
    /** @description The call is guarded by a quorum rule; it became this approval request. */
    ApprovalPending: {
      headers: {
        Location: components['headers']['Location'];
        [name: string]: unknown;
      };
      content: {
        'application/json': components['schemas']['Approval'];
      };
    };
  };
  parameters: {
    /** @description The backup domain's name. */
    DomainName: components['schemas']['Name'];
    Partition: components['schemas']['Name'];
    Label: components['schemas']['Name'];
    RequestId: string;
    /** @description A partition's rules; absent for the device's. */
    PartitionQuery: components['schemas']['Name'];
    /** @description A principal of the role table (an officer or an application). */
    PrincipalPath: components['schemas']['Principal'];
    /**
     * @description Repeating a POST with the same key (same principal, same body) returns the first answer
     *     instead of acting twice; a different body with the key is refused with 422. Keys are
     *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
     *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
     */
    IdempotencyKey: string;
  };
  requestBodies: never;
  headers: {
    /** @description Where the created resource (or the approval request) is. */
    Location: string;
  };
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  getOpenApi: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The OpenAPI document. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': Record<string, never>;
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getDevice: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The device. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Device'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getDeviceChain: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Device certificate first, then the root. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Chain'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  listPartitions: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Partitions. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            partitions: components['schemas']['Partition'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  createPartition: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          name: components['schemas']['Name'];
          policy?: components['schemas']['PolicyChange'];
          attestationAlgorithm?: components['schemas']['Algorithm'];
          timestampAlgorithm?: components['schemas']['Algorithm'];
        };
      };
    };
    responses: {
      /** @description The new partition. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Partition'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getPartition: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The partition. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Partition'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getPartitionPolicy: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The policy. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Policy'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  setPartitionPolicy: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['PolicyChange'];
      };
    };
    responses: {
      /** @description The policy now. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Policy'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  getPartitionChain: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The chain. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            partitionAttestation: components['schemas']['Pem'];
            partitionTimestamp: components['schemas']['Pem'];
            device: components['schemas']['Pem'];
            root: components['schemas']['Pem'];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  excludeSo: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The partition's exclusion state now. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['SoExclusion'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  includeSo: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The partition's exclusion state now. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['SoExclusion'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  revokePartition: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': {
          reason?: components['schemas']['CrlReason'];
        };
      };
    };
    responses: {
      /** @description The partition's revoked certificate serials (hex). */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            partition: components['schemas']['Name'];
            reason: components['schemas']['CrlReason'];
            revokedSerials: string[];
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  listKeys: {
    parameters: {
      query?: {
        state?: 'active' | 'invalidated' | 'blocked';
      };
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Keys. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            keys: components['schemas']['Key'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  generateKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          label: components['schemas']['Name'];
          algorithm: components['schemas']['Algorithm'];
          extractable?: boolean;
          /** @description false fixes the key's approval policy for good */
          modifiable?: boolean;
          destroyable?: boolean;
          purposes?: components['schemas']['Purposes'];
          policy?: components['schemas']['KeyPolicyInput'];
        };
      };
    };
    responses: {
      /** @description The new key. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  importKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          label: components['schemas']['Name'];
          /** @description The PKCS#8 DER of the private key, base64. */
          pkcs8?: components['schemas']['Base64'];
          /** @description The seed of a derivable key, 16 to 64 bytes, base64 (needs algorithm). */
          seed?: string;
          /** @description With seed, the derivable key algorithm (bip32-secp256k1, slip10-ed25519, slip10-p256). */
          algorithm?: string;
          /** @description An extended private key (xprv, tprv) in Base58Check. */
          xprv?: string;
          /** @description RSA keys: sign with PSS. */
          pss?: boolean;
          extractable?: boolean;
          purposes?: components['schemas']['Purposes'];
        };
      };
    };
    responses: {
      /** @description The imported key. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getKey: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The key. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  deleteKey: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The key in the trash, or destroyed (key null). */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            destroyed: boolean;
            key: components['schemas']['Key'] | null;
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  restoreKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The restored key. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  purgeKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The key is gone; scrubbed false when the store's files are still to be scrubbed. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            /** @constant */
            purged: true;
            scrubbed: boolean;
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  exportKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The RSA (3072 bits or more) public key, PEM SubjectPublicKeyInfo. */
          wrappingKey: components['schemas']['Pem'];
        };
      };
    };
    responses: {
      /** @description The wrapped key. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            /** @constant */
            wrapping: 'rsa-aes-kwp';
            wrapped: components['schemas']['Base64'];
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  getKeyEvidence: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': {
          /** @description 1 to 64 bytes, base64. */
          nonce?: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description The evidence (DER, base64) and the chain to verify it with. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Attestation'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getKeyCertificate: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The certificate (DER base64 and PEM) and its chain. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Attestation'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  deriveChildKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          path: string;
          label: components['schemas']['Name'];
          expiresInSeconds?: number;
          persistent?: boolean;
          purposes?: components['schemas']['Purposes'];
          extractable?: boolean;
        };
      };
    };
    responses: {
      /** @description The derived key. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  getKeyXpub: {
    parameters: {
      query?: {
        /** @description xpub (default), tpub, or the SLIP-132 BIP 84 forms zpub and vpub. */
        prefix?: 'xpub' | 'tpub' | 'zpub' | 'vpub';
      };
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The extended public key. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            key: string;
            xpub: string;
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getKeyAddress: {
    parameters: {
      query: {
        type: 'p2wpkh' | 'p2tr' | 'ethereum';
        network?: 'mainnet' | 'testnet';
      };
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The address. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            key: string;
            type: string;
            network?: string;
            address: string;
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  signKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The message to sign, base64. */
          data?: components['schemas']['Base64'];
          /** @description The message's digest under the key algorithm's hash, base64. */
          digest?: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description The signature (DER for ECDSA, raw for Ed25519, RSA, ML-DSA and SLH-DSA), base64. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Signature'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  verifyKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The signed message, base64. */
          data?: components['schemas']['Base64'];
          /** @description The message's digest under the key algorithm's hash, base64. */
          digest?: components['schemas']['Base64'];
          /** @description The signature, base64. */
          signature: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description Whether the signature verifies. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            valid: boolean;
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  blockKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The blocked key. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  unblockKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The key, active again. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  setKeyPolicy: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          policy: components['schemas']['KeyPolicyInput'] | null;
        };
      };
    };
    responses: {
      /** @description The key with its new policy. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  encryptKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The data to encrypt, base64 (at most 1 MiB decoded, as the body allows). */
          plaintext: components['schemas']['Base64'];
          /** @description Additional authenticated data, base64 (at most 64 KiB decoded). */
          aad?: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description The nonce and the ciphertext (tag appended), base64. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['AeadCiphertext'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  decryptKey: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The 12-byte nonce, base64. */
          nonce?: components['schemas']['Base64'];
          /** @description The ciphertext with its tag, base64. */
          ciphertext?: components['schemas']['Base64'];
          /** @description The additional authenticated data given to encrypt, base64. */
          aad?: components['schemas']['Base64'];
          /** @description An approved decryption request with this key. */
          request?: string;
        };
      };
    };
    responses: {
      /** @description The plaintext, base64. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            plaintext: components['schemas']['Base64'];
            algorithm: components['schemas']['Algorithm'];
            /** @description The id of the key that decrypted. */
            key: string;
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  macKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          data: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description The MAC, base64. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            mac: components['schemas']['Base64'];
            algorithm: components['schemas']['Algorithm'];
            key: string;
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  verifyMacKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          data: components['schemas']['Base64'];
          mac: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description Whether the MAC verifies. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            valid: boolean;
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  wrapKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The label of the key to wrap. */
          key: components['schemas']['Name'];
          mode?: components['schemas']['KeyWrapMode'];
        };
      };
    };
    responses: {
      /** @description The wrapped key, base64. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            wrapped: components['schemas']['Base64'];
            mode: components['schemas']['KeyWrapMode'];
            /** @description The id of the wrapping key. */
            key: string;
            /** @description The id of the wrapped key. */
            wrappedKey: string;
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  unwrapKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          wrapped: components['schemas']['Base64'];
          mode?: components['schemas']['KeyWrapMode'];
          label: components['schemas']['Name'];
          algorithm: components['schemas']['Algorithm'];
          purposes?: components['schemas']['Purposes'];
          extractable?: boolean;
          policy?: components['schemas']['KeyPolicyInput'];
        };
      };
    };
    responses: {
      /** @description The new key. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  deriveKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
        label: components['parameters']['Label'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The peer's ECDH or X25519 public key, PEM SubjectPublicKeyInfo. */
          peerPublicKey?: components['schemas']['Pem'];
          /** @description The ML-KEM ciphertext the peer encapsulated to this key, base64. */
          ciphertext?: components['schemas']['SharedSecretInput'];
          kdf?: components['schemas']['Kdf'];
          newKey: components['schemas']['DerivedKeySpec'];
        };
      };
    };
    responses: {
      /** @description The new key. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Key'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  encapsulateKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The peer's ML-KEM public key, PEM SubjectPublicKeyInfo. */
          peerPublicKey: components['schemas']['Pem'];
          kdf?: components['schemas']['Kdf'];
          newKey: components['schemas']['DerivedKeySpec'];
        };
      };
    };
    responses: {
      /** @description The new key and the ciphertext for the peer. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            key: components['schemas']['Key'];
            /** @description The ML-KEM ciphertext for the peer, base64. */
            ciphertext: components['schemas']['Base64'];
            /**
             * @description The KEM of the peer's public key.
             * @enum {unknown}
             */
            kem: 'ml-kem-768' | 'ml-kem-1024';
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  listApprovals: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Requests. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            approvals: components['schemas']['Approval'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getApproval: {
    parameters: {
      query?: {
        decision?: 'approve' | 'reject';
        /** @description The fingerprint of the approver key that will sign. */
        approverKey?: components['schemas']['Fingerprint'];
      };
      header?: never;
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The request. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Approval'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  submitDecision: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @enum {string} */
          decision: 'approve' | 'reject';
          approverKey: components['schemas']['Fingerprint'];
          /** @description The approver's signature over the bytes to sign, base64. */
          signature: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description The request with the decision. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Approval'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  cancelApproval: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The cancelled request. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Approval'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  executeApproval: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The executed request. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Approval'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  downloadBackup: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        id: components['parameters']['RequestId'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The bundle. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/octet-stream': components['schemas']['Bytes'];
          'application/json': {
            request: string;
            partition: components['schemas']['Name'] | null;
            serial: number;
            digest: components['schemas']['Sha256'];
            bundle: components['schemas']['Base64Der'];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  listBackupDomains: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Domains. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            domains: components['schemas']['BackupDomain'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  createBackupDomain: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          name: components['schemas']['Name'];
        };
      };
    };
    responses: {
      /** @description The new domain. */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['BackupDomain'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  backupDomainJoinRequest: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        /** @description The backup domain's name. */
        name: components['parameters']['DomainName'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The signed join request. */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/octet-stream': components['schemas']['Bytes'];
          'application/json': {
            request: components['schemas']['Base64Der'];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  enrolBackupDevice: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        /** @description The backup domain's name. */
        name: components['parameters']['DomainName'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/octet-stream': components['schemas']['Bytes'];
        'application/json': {
          request: components['schemas']['Base64Der'];
        };
      };
    };
    responses: {
      /** @description The signed enrolment for the joining device (bytes, or `{enrolment}` in JSON). */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/octet-stream': components['schemas']['Bytes'];
          'application/json': {
            enrolment: components['schemas']['Base64Der'];
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  joinBackupDomain: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/octet-stream': components['schemas']['Bytes'];
        'application/json': {
          enrolment: components['schemas']['Base64Der'];
        };
      };
    };
    responses: {
      /** @description The domain, now active on this device. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['BackupDomain'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  listTransportKeys: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Transport keys. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            transportKeys: components['schemas']['TransportKey'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  createTransportKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: {
      content: {
        'application/json': {
          /**
           * @default ml-kem-768
           * @enum {string}
           */
          algorithm?: 'ml-kem-768' | 'ecdh-p256';
        };
      };
    };
    responses: {
      /** @description The new transport key. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TransportKey'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  getTransportKeyCertificate: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description The transport key's id, or the SHA-256 of its certificate. */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The transport certificate and the device certificate. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            transportKey: string;
            certificates: components['schemas']['Base64Der'][];
            root: components['schemas']['Base64Der'];
          };
          'application/pem-certificate-chain': string;
        };
      };
      default: components['responses']['Problem'];
    };
  };
  backupPartition: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The backup domain (name or id). */
          domain?: string;
          /** @description The target's transport certificate, then its device certificate (DER, base64). */
          transportCertificate?: components['schemas']['Base64Der'][];
          /**
           * @description Custodians: `threshold` of the holders of `certificates` (EC P-256, keyUsage
           *     keyAgreement; DER, base64) open the bundle together, outside any device. An
           *     export: every key must be extractable under an exportAllowed policy
           *     (`backup-keys-protected` otherwise).
           */
          custodians?: {
            threshold: number;
            certificates: components['schemas']['Base64Der'][];
          };
        };
      };
    };
    responses: {
      /** @description The bundle. */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/octet-stream': components['schemas']['Bytes'];
          'application/json': {
            serial: number;
            digest: components['schemas']['Sha256'];
            keys: number;
            bundle: components['schemas']['Base64Der'];
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  migrationReceipt: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The receipt. */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/octet-stream': components['schemas']['Bytes'];
          'application/json': {
            receipt: components['schemas']['Base64Der'];
            digest: components['schemas']['Sha256'];
            /** @description The receipt's signed statement (RFC 8785 JSON). */
            statement: Record<string, never>;
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  completeMigration: {
    parameters: {
      query?: {
        dryRun?: components['schemas']['QueryFlag'];
      };
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        partition: components['parameters']['Partition'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/octet-stream': components['schemas']['Bytes'];
        'application/json': {
          receipt: components['schemas']['Base64Der'];
          bundle?: components['schemas']['Base64Der'];
          dryRun?: boolean;
        };
      };
    };
    responses: {
      /** @description What moved, and what the target does not hold. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            dryRun: boolean;
            partition: components['schemas']['Partition'];
            /** @description The target device and its partition (id and name); the SHA-256 of that partition's attestation certificate. */
            target: {
              device: string;
              partition: string;
              name: components['schemas']['Name'];
              attestationCertificate: components['schemas']['Sha256'];
            };
            serial: number;
            receipt: components['schemas']['Sha256'];
            moving: {
              label: string;
              role: string;
              algorithm: string;
            }[];
            refused: {
              label: string;
              reason: string;
            }[];
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  restorePartition: {
    parameters: {
      query?: {
        /** @description The partition to restore to (default the source's name). */
        name?: components['schemas']['Name'];
        allowRollback?: components['schemas']['QueryFlag'];
        destroyNewer?: components['schemas']['QueryFlag'];
      };
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/octet-stream': components['schemas']['Bytes'];
        'application/json': {
          bundle: components['schemas']['Base64Der'];
          name?: components['schemas']['Name'];
          allowRollback?: boolean;
          destroyNewer?: boolean;
        };
      };
    };
    responses: {
      /** @description The partition restored to. */
      201: {
        headers: {
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            partition: components['schemas']['Name'];
            id: string;
            serial: number;
            keys: number;
            replaced: boolean;
            /** @description The roles and rules of the manifest not re-created (`role:P/R`, `rule:CLASS`). */
            notCarried: string[];
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  inspectBackup: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/octet-stream': components['schemas']['Bytes'];
        'application/json': {
          bundle: components['schemas']['Base64Der'];
        };
      };
    };
    responses: {
      /** @description The report. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['VerifierReport'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  listQuorumRules: {
    parameters: {
      query?: {
        /** @description A partition's rules; absent for the device's. */
        partition?: components['parameters']['PartitionQuery'];
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Rules. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            rules: components['schemas']['StoredRule'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  getQuorumRule: {
    parameters: {
      query?: {
        /** @description A partition's rules; absent for the device's. */
        partition?: components['parameters']['PartitionQuery'];
      };
      header?: never;
      path: {
        /** @description The operation class the rule guards. */
        operation: components['schemas']['OperationClass'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The rule in force. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RuleInForce'];
        };
      };
      default: components['responses']['Problem'];
    };
  };
  setQuorumRule: {
    parameters: {
      query?: {
        /** @description A partition's rules; absent for the device's. */
        partition?: components['parameters']['PartitionQuery'];
      };
      header?: never;
      path: {
        /** @description The operation class the rule guards. */
        operation: components['schemas']['OperationClass'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          /** @description The rule (see the README's quorum rules), or null to clear it. */
          rule: Record<string, never> | null;
        };
      };
    };
    responses: {
      /** @description The rule now. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['StoredRule'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  listApproverKeys: {
    parameters: {
      query?: {
        principal?: components['schemas']['Principal'];
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Approver keys. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            keys: components['schemas']['ApproverKey'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  enrollApproverKey: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          principal: components['schemas']['Principal'];
          publicKey: components['schemas']['Pem'];
          /** @description The key's signature over the enrolment challenge, base64. */
          proof: components['schemas']['Base64'];
        };
      };
    };
    responses: {
      /** @description The enrolled key. */
      201: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            fingerprint: components['schemas']['Fingerprint'];
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  approverKeyChallenge: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          principal: components['schemas']['Principal'];
          publicKey: components['schemas']['Pem'];
        };
      };
    };
    responses: {
      /** @description The challenge. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            bytes: components['schemas']['Base64'];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  revokeApproverKey: {
    parameters: {
      query?: never;
      header?: never;
      path: {
        fingerprint: components['schemas']['Fingerprint'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Revoked. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            /** @constant */
            revoked: true;
          };
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  listOfficers: {
    parameters: {
      query?: {
        /** @description A partition's rules; absent for the device's. */
        partition?: components['parameters']['PartitionQuery'];
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Principals, by name. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            officers: components['schemas']['Officer'][];
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
  grantRole: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Repeating a POST with the same key (same principal, same body) returns the first answer
         *     instead of acting twice; a different body with the key is refused with 422. Keys are
         *     kept in the server's memory for 24 hours, at most 10000 in all and 1000 per principal,
         *     and 32 MiB of kept answers; past a bound the oldest is forgotten first.
         */
        'Idempotency-Key'?: components['parameters']['IdempotencyKey'];
      };
      path: {
        /** @description A principal of the role table (an officer or an application). */
        principal: components['parameters']['PrincipalPath'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': {
          role: components['schemas']['Role'];
          /** @description The partition the role holds in; absent for a device role. */
          partition?: components['schemas']['Name'];
        };
      };
    };
    responses: {
      /** @description The role is held (granting a held role is no change). */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RoleChange'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  revokeRole: {
    parameters: {
      query?: {
        /** @description The partition the role holds in; absent for a device role. */
        partition?: components['schemas']['Name'];
      };
      header?: never;
      path: {
        /** @description A principal of the role table (an officer or an application). */
        principal: components['parameters']['PrincipalPath'];
        role: components['schemas']['Role'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The role is revoked. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['RoleChange'];
        };
      };
      202: components['responses']['ApprovalPending'];
      default: components['responses']['Problem'];
    };
  };
  exportAudit: {
    parameters: {
      query?: {
        /** @description The last sequence number of the previous page (0 for the first). */
        after?: number;
        limit?: number;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Entries with seq > after; next is the after of the next page, or null at the end. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            entries: components['schemas']['AuditEntry'][];
            next: number | null;
          };
        };
      };
      default: components['responses']['Problem'];
    };
  };
}
