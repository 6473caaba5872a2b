// Object identifiers used across the project (RFC 5280, RFC 3161, RFC 5816, RFC 8410, and the
// project's own arc, the checklist's ARC of standards/attestation.md).

/**
 * 1.3.6.1.4.1.32473.3161: the project's arc (the checklist's ARC). 32473 is the private
 * enterprise number that RFC 5612 reserves for documentation and examples; 3161 is this project
 * under it. Every arc stays far below 2^28 (RFC 5280 4.1.2.4 floor; Go's encoding/asn1 and
 * python-cryptography reject larger ones), unlike the 2.25 UUID arc (ITU-T X.667) it replaces.
 * A deployer replaces this one constant with their own enterprise arc and regenerates every
 * certificate, key attestation and configured policy (README, "Object identifiers").
 */
export const ARC = '1.3.6.1.4.1.32473.3161';

/** ARC.2.1: X.509 extension carrying a TbsEvidence about the subject key. */
export const id_ce_keyEvidence = `${ARC}.2.1`;
/** ARC.3.1: interim EKU for a partition attestation key. */
export const id_kp_attestationKey = `${ARC}.3.1`;
/** ARC.6.1: baseline TSA policy of a non-qualified TSA. */
export const id_tsaPolicyBaseline = `${ARC}.6.1`;
/** ARC.6.2: TSA policy of a post-quantum time-stamping unit. */
export const id_tsaPolicyPostQuantum = `${ARC}.6.2`;
/** ARC.8.1: content type of a partition backup's sealed key records (the AuthEnvelopedData content) */
export const id_ct_attestampBackupRecords = `${ARC}.8.1`;
/** ARC.8.2: authenticated attribute carrying a partition backup's manifest (RFC 8785 JSON) */
export const id_aa_attestampBackupManifest = `${ARC}.8.2`;
/**
 * ARC.8.3: oriType of a custodian's share of a backup bundle's content-encryption key (an
 * OtherRecipientInfo whose value is a CustodianShareRecipientInfo, src/pki/cms-recipients.ts)
 */
export const id_ori_attestampCustodianShare = `${ARC}.8.3`;
/** ARC.8.9: content type of a migration receipt (RFC 8785 JSON statement, src/pki/migration-receipt.ts) */
export const id_ct_attestampMigrationReceipt = `${ARC}.8.9`;
/** ARC.7.1: certificate extension naming the HSM role, device id and partition id. */
export const id_ce_hsmRole = `${ARC}.7.1`;

/** 2.5.29.14 */
export const id_ce_subjectKeyIdentifier = '2.5.29.14';
/** 2.5.29.15 */
export const id_ce_keyUsage = '2.5.29.15';
/** 2.5.29.16 */
export const id_ce_privateKeyUsagePeriod = '2.5.29.16';
/** 2.5.29.17 */
export const id_ce_subjectAltName = '2.5.29.17';
/** 2.5.29.19 */
export const id_ce_basicConstraints = '2.5.29.19';
/** 2.5.29.35 */
export const id_ce_authorityKeyIdentifier = '2.5.29.35';
/** 2.5.29.37 */
export const id_ce_extKeyUsage = '2.5.29.37';
/** 2.5.29.31 */
export const id_ce_cRLDistributionPoints = '2.5.29.31';
/** 2.5.29.32 */
export const id_ce_certificatePolicies = '2.5.29.32';

/** 1.3.6.1.5.5.7.3.8 */
export const id_kp_timeStamping = '1.3.6.1.5.5.7.3.8';

/** 2.5.4.3 */
export const id_at_commonName = '2.5.4.3';
/** 2.5.4.5 */
export const id_at_serialNumber = '2.5.4.5';
/** 2.5.4.6 */
export const id_at_countryName = '2.5.4.6';
/** 2.5.4.10 */
export const id_at_organizationName = '2.5.4.10';
/** 2.5.4.11 */
export const id_at_organizationalUnitName = '2.5.4.11';

/** 1.2.840.10045.2.1 */
export const id_ecPublicKey = '1.2.840.10045.2.1';
/** 1.2.840.10045.3.1.7 */
export const id_secp256r1 = '1.2.840.10045.3.1.7';
/** 1.3.132.0.34 */
export const id_secp384r1 = '1.3.132.0.34';
/** 1.3.132.0.35 */
export const id_secp521r1 = '1.3.132.0.35';
/** 1.3.132.0.10: the Koblitz curve of Bitcoin and Ethereum (SEC 2 2.4.1). */
export const id_secp256k1 = '1.3.132.0.10';
/** 1.2.840.10045.4.3.2 */
export const id_ecdsa_with_SHA256 = '1.2.840.10045.4.3.2';
/** 1.2.840.10045.4.3.3 */
export const id_ecdsa_with_SHA384 = '1.2.840.10045.4.3.3';
/** 1.2.840.10045.4.3.4 */
export const id_ecdsa_with_SHA512 = '1.2.840.10045.4.3.4';
/** 1.3.101.112 (RFC 8410) */
export const id_Ed25519 = '1.3.101.112';
/** RFC 8410 3: X25519 keys (key agreement only). */
export const id_X25519 = '1.3.101.110';
/** 1.2.840.113549.1.1.1 */
export const id_rsaEncryption = '1.2.840.113549.1.1.1';
/** 1.2.840.113549.1.1.5 */
export const id_sha1WithRSAEncryption = '1.2.840.113549.1.1.5';
/** 1.2.840.113549.1.1.8 */
export const id_mgf1 = '1.2.840.113549.1.1.8';
/** 1.2.840.113549.1.1.10 */
export const id_RSASSA_PSS = '1.2.840.113549.1.1.10';
/** 1.2.840.113549.1.1.11 */
export const id_sha256WithRSAEncryption = '1.2.840.113549.1.1.11';
/** 1.2.840.113549.1.1.12 */
export const id_sha384WithRSAEncryption = '1.2.840.113549.1.1.12';
/** 1.2.840.113549.1.1.13 */
export const id_sha512WithRSAEncryption = '1.2.840.113549.1.1.13';

/** 2.16.840.1.101.3.4.2.1 */
export const id_sha256 = '2.16.840.1.101.3.4.2.1';
/** 2.16.840.1.101.3.4.2.2 */
export const id_sha384 = '2.16.840.1.101.3.4.2.2';
/** 2.16.840.1.101.3.4.2.3 */
export const id_sha512 = '2.16.840.1.101.3.4.2.3';
/** 2.16.840.1.101.3.4.2.8 */
export const id_sha3_256 = '2.16.840.1.101.3.4.2.8';
/** 2.16.840.1.101.3.4.2.9 */
export const id_sha3_384 = '2.16.840.1.101.3.4.2.9';
/** 2.16.840.1.101.3.4.2.10 */
export const id_sha3_512 = '2.16.840.1.101.3.4.2.10';
/** 2.16.840.1.101.3.4.2.11 (RFC 8702: SHAKE128 with 256 bits of output in the CMS) */
export const id_shake128 = '2.16.840.1.101.3.4.2.11';
/** 2.16.840.1.101.3.4.2.12 (RFC 8702: SHAKE256 with 512 bits of output in the CMS) */
export const id_shake256 = '2.16.840.1.101.3.4.2.12';
/** 1.3.14.3.2.26 */
export const id_sha1 = '1.3.14.3.2.26';

/** 1.2.840.113549.1.7.2 (RFC 5652) */
export const id_signedData = '1.2.840.113549.1.7.2';
/** 1.2.840.113549.1.9.3 (RFC 5652) */
export const id_contentType = '1.2.840.113549.1.9.3';
/** 1.2.840.113549.1.9.4 (RFC 5652) */
export const id_messageDigest = '1.2.840.113549.1.9.4';
/** 1.2.840.113549.1.9.5 (RFC 5652) */
export const id_signingTime = '1.2.840.113549.1.9.5';
/** 1.2.840.113549.1.9.52 (RFC 6211) */
export const id_aa_CMSAlgorithmProtection = '1.2.840.113549.1.9.52';
/** 1.2.840.113549.1.9.16.1.4 (RFC 3161) */
export const id_ct_TSTInfo = '1.2.840.113549.1.9.16.1.4';
/** 1.2.840.113549.1.9.16.2.12 (RFC 2634) */
export const id_aa_signingCertificate = '1.2.840.113549.1.9.16.2.12';
/** 1.2.840.113549.1.9.16.2.47 (RFC 5035) */
export const id_aa_signingCertificateV2 = '1.2.840.113549.1.9.16.2.47';
/** 1.3.6.1.5.5.7.1.3 (RFC 3739) */
export const id_pe_qcStatements = '1.3.6.1.5.5.7.1.3';
/** 0.4.0.19422.1.1 (ETSI EN 319 422 Annex B) */
export const id_etsi_tsts_EuQCompliance = '0.4.0.19422.1.1';
/** 0.4.0.2023.1.1 (ETSI EN 319 421: best practices policy for time-stamp) */
export const id_etsi_bestPracticesTsaPolicy = '0.4.0.2023.1.1';
/** 1.2.840.113549.2.5 */
export const id_md5 = '1.2.840.113549.2.5';

// RFC 5280 path validation and CRL processing (certificate, CRL and CRL entry extensions).
/** 2.5.29.18 (RFC 5280 5.2.2) */
export const id_ce_issuerAltName = '2.5.29.18';
/** 2.5.29.20 (RFC 5280 5.2.3) */
export const id_ce_cRLNumber = '2.5.29.20';
/** 2.5.29.21 (RFC 5280 5.3.1) */
export const id_ce_cRLReasons = '2.5.29.21';
/** 2.5.29.23 (RFC 5280 5.3.2 in RFC 3280) */
export const id_ce_holdInstructionCode = '2.5.29.23';
/** 2.5.29.24 (RFC 5280 5.3.2) */
export const id_ce_invalidityDate = '2.5.29.24';
/** 2.5.29.27 (RFC 5280 5.2.4) */
export const id_ce_deltaCRLIndicator = '2.5.29.27';
/** 2.5.29.28 (RFC 5280 5.2.5) */
export const id_ce_issuingDistributionPoint = '2.5.29.28';
/** 2.5.29.29 (RFC 5280 5.3.3) */
export const id_ce_certificateIssuer = '2.5.29.29';
/** 2.5.29.30 (RFC 5280 4.2.1.10) */
export const id_ce_nameConstraints = '2.5.29.30';
/** 2.5.29.33 (RFC 5280 4.2.1.5) */
export const id_ce_policyMappings = '2.5.29.33';
/** 2.5.29.36 (RFC 5280 4.2.1.11) */
export const id_ce_policyConstraints = '2.5.29.36';
/** 2.5.29.46 (RFC 5280 4.2.1.15, 5.2.6) */
export const id_ce_freshestCRL = '2.5.29.46';
/** 2.5.29.54 (RFC 5280 4.2.1.14) */
export const id_ce_inhibitAnyPolicy = '2.5.29.54';
/** 2.5.29.32.0 (RFC 5280 4.2.1.4) */
export const id_anyPolicy = '2.5.29.32.0';
/** 1.3.6.1.5.5.7.1.1 (RFC 5280 4.2.2.1) */
export const id_pe_authorityInfoAccess = '1.3.6.1.5.5.7.1.1';
/** 1.2.840.113549.1.9.1 (RFC 5280 4.1.2.6, PKCS #9 emailAddress) */
export const id_emailAddress = '1.2.840.113549.1.9.1';

// Post-quantum algorithms (NIST CSOR arcs, 2.16.840.1.101.3.4.3 sigAlgs and .4.4 kems): the same
// OID names the public key and the signature, parameters absent (RFC 9881 2, RFC 9909 3,
// RFC 9935 3).
/** 2.16.840.1.101.3.4.3.17 (FIPS 204, RFC 9881) */
export const id_ml_dsa_44 = '2.16.840.1.101.3.4.3.17';
/** 2.16.840.1.101.3.4.3.18 (FIPS 204, RFC 9881) */
export const id_ml_dsa_65 = '2.16.840.1.101.3.4.3.18';
/** 2.16.840.1.101.3.4.3.19 (FIPS 204, RFC 9881) */
export const id_ml_dsa_87 = '2.16.840.1.101.3.4.3.19';
/** 2.16.840.1.101.3.4.3.20 (FIPS 205, RFC 9909) */
export const id_slh_dsa_sha2_128s = '2.16.840.1.101.3.4.3.20';
/** 2.16.840.1.101.3.4.3.21 (FIPS 205, RFC 9909) */
export const id_slh_dsa_sha2_128f = '2.16.840.1.101.3.4.3.21';
/** 2.16.840.1.101.3.4.3.22 (FIPS 205, RFC 9909) */
export const id_slh_dsa_sha2_192s = '2.16.840.1.101.3.4.3.22';
/** 2.16.840.1.101.3.4.3.23 (FIPS 205, RFC 9909) */
export const id_slh_dsa_sha2_192f = '2.16.840.1.101.3.4.3.23';
/** 2.16.840.1.101.3.4.3.24 (FIPS 205, RFC 9909) */
export const id_slh_dsa_sha2_256s = '2.16.840.1.101.3.4.3.24';
/** 2.16.840.1.101.3.4.3.25 (FIPS 205, RFC 9909) */
export const id_slh_dsa_sha2_256f = '2.16.840.1.101.3.4.3.25';
/** 2.16.840.1.101.3.4.3.26 (FIPS 205, RFC 9909) */
export const id_slh_dsa_shake_128s = '2.16.840.1.101.3.4.3.26';
/** 2.16.840.1.101.3.4.3.27 (FIPS 205, RFC 9909) */
export const id_slh_dsa_shake_128f = '2.16.840.1.101.3.4.3.27';
/** 2.16.840.1.101.3.4.3.28 (FIPS 205, RFC 9909) */
export const id_slh_dsa_shake_192s = '2.16.840.1.101.3.4.3.28';
/** 2.16.840.1.101.3.4.3.29 (FIPS 205, RFC 9909) */
export const id_slh_dsa_shake_192f = '2.16.840.1.101.3.4.3.29';
/** 2.16.840.1.101.3.4.3.30 (FIPS 205, RFC 9909) */
export const id_slh_dsa_shake_256s = '2.16.840.1.101.3.4.3.30';
/** 2.16.840.1.101.3.4.3.31 (FIPS 205, RFC 9909) */
export const id_slh_dsa_shake_256f = '2.16.840.1.101.3.4.3.31';
/** 2.16.840.1.101.3.4.4.1 (FIPS 203, RFC 9935) */
export const id_alg_ml_kem_512 = '2.16.840.1.101.3.4.4.1';
/** 2.16.840.1.101.3.4.4.2 (FIPS 203, RFC 9935) */
export const id_alg_ml_kem_768 = '2.16.840.1.101.3.4.4.2';
/** 2.16.840.1.101.3.4.4.3 (FIPS 203, RFC 9935) */
export const id_alg_ml_kem_1024 = '2.16.840.1.101.3.4.4.3';

/** 1.2.840.113549.1.9.16.1.23 (RFC 5083: id-ct-authEnvelopedData) */
export const id_ct_authEnvelopedData = '1.2.840.113549.1.9.16.1.23';
/** 2.16.840.1.101.3.4.1.46 (RFC 5084: id-aes256-GCM) */
export const id_aes256_GCM = '2.16.840.1.101.3.4.1.46';
/** 2.16.840.1.101.3.4.1.45 (RFC 3565: id-aes256-wrap, RFC 3394 key wrap) */
export const id_aes256_wrap = '2.16.840.1.101.3.4.1.45';
/** 2.16.840.1.101.3.4.1.48 (RFC 5649 6: id-aes256-wrap-pad, AES key wrap with padding) */
export const id_aes256_wrap_pad = '2.16.840.1.101.3.4.1.48';
/** 1.2.840.113549.1.9.16.13.3 (RFC 9629 3: id-ori-kem, the OtherRecipientInfo of a KEM) */
export const id_ori_kem = '1.2.840.113549.1.9.16.13.3';
/** 1.2.840.113549.1.9.16.3.28 (RFC 8619 2: id-alg-hkdf-with-sha256) */
export const id_alg_hkdf_with_sha256 = '1.2.840.113549.1.9.16.3.28';
/** 1.3.132.1.11.1 (RFC 5753 7.1.4: dhSinglePass-stdDH-sha256kdf-scheme) */
export const id_dhSinglePass_stdDH_sha256kdf_scheme = '1.3.132.1.11.1';
