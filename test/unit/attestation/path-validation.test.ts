// The two profiles of path validation (src/attestation/chain.ts over path-validation.ts): the
// project chain in the x509 profile, name chaining by encoding or per RFC 5280 7.1, and the
// policy inputs, which start below the anchor in both profiles.
import { describe, expect, it } from 'vitest';
import { verifyChain, type ChainOptions } from '../../../src/attestation/chain.js';
import type { Report } from '../../../src/attestation/report.js';
import { der } from '../../../src/pki/index.js';
import {
  AT,
  finding,
  hsmChain,
  keyAttestationCertificate,
  PARTITION_ID,
  statusOf,
  type Issued,
} from './support.js';

function options(root: Issued, extra: Partial<ChainOptions> = {}): ChainOptions {
  return { anchors: { certificates: [root.der] }, at: AT, ...extra };
}

const ids = (report: Report) => report.checks.map((c) => c.id);

describe('the x509 profile', () => {
  it('verifies the project chain by RFC 5280 alone: no roles, key identifiers not required', async () => {
    const chain = await hsmChain();
    const report = await verifyChain(
      [chain.timestamp.der, chain.device.der],
      options(chain.root, { profile: 'x509' }),
    );
    expect(report.outcome).toBe('verified');
    expect(ids(report)).not.toContain('roles.chain');
    expect(statusOf(report, 'path.key-ids')).toBe('skip');
    expect(statusOf(report, 'path.policies')).toBe('pass');
    expect(statusOf(report, 'path.name-constraints')).toBe('pass');
    expect(report.claims).toMatchObject({ policies: [] });
  });

  it('chains names per RFC 5280 7.1, where the attestamp profile wants the exact encoding', async () => {
    const chain = await hsmChain();
    const printable = (oid: string, text: string) =>
      der.setOf(der.seq(der.oid(oid), der.tlv(0x13, new TextEncoder().encode(text))));
    const issuerName = der.seq(
      printable('2.5.4.10', 'ATTESTAMP  unit test'),
      printable('2.5.4.11', PARTITION_ID),
      printable('2.5.4.3', 'partition attestation key'),
    );
    const leaf = await keyAttestationCertificate(chain.attestation, { issuerName });
    const certs = [leaf.der, chain.attestation.der, chain.device.der];
    const strict = await verifyChain(certs, options(chain.root));
    expect(statusOf(strict, 'path.build')).toBe('fail');
    const x509 = await verifyChain(certs, options(chain.root, { profile: 'x509' }));
    expect(x509.outcome).toBe('verified');
    expect(statusOf(x509, 'path.names')).toBe('pass');
  });

  it('an unused certificate is a warning, a duplicate still fails', async () => {
    const chain = await hsmChain();
    const extra = await verifyChain(
      [chain.timestamp.der, chain.device.der, chain.attestation.der],
      options(chain.root, { profile: 'x509' }),
    );
    expect(statusOf(extra, 'path.leftover')).toBe('warn');
    expect(extra.outcome).toBe('verified');
    const twice = await verifyChain(
      [chain.timestamp.der, chain.device.der, chain.device.der],
      options(chain.root, { profile: 'x509' }),
    );
    expect(statusOf(twice, 'path.leftover')).toBe('fail');
  });
});

describe('policy inputs', () => {
  it('an explicit policy fails a chain without certificatePolicies, in either profile', async () => {
    const chain = await hsmChain();
    const certs = [chain.timestamp.der, chain.device.der];
    for (const profile of ['attestamp', 'x509'] as const) {
      const report = await verifyChain(
        certs,
        options(chain.root, { profile, policy: { initialExplicitPolicy: true } }),
      );
      expect(report.outcome).toBe('failed');
      // The anchor is trust anchor information: the first certificate below it is the device.
      expect(finding(report, 'path.policies').detail).toBe(
        'no valid policy at certificate 1 and an explicit policy is required',
      );
    }
  });

  it('the attestamp profile reports policies only when there is something to process', async () => {
    const chain = await hsmChain();
    const report = await verifyChain([chain.timestamp.der, chain.device.der], options(chain.root));
    expect(ids(report)).not.toContain('path.policies');
    expect(ids(report)).not.toContain('path.name-constraints');
  });
});
