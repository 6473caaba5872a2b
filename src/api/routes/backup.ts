// Backup routes (README "Backup and migration"): backup domains (list, create, the three
// enrolment steps), transport keys (list, create, the certificate chain a source checks),
// partition backup and restore, inspecting a bundle offline, and downloading the bundle of a
// backup made through an approval request (audited); the same Hsm calls as `attestamp domain`,
// `partition backup`, `partition restore` and `backup inspect`. DER messages travel as raw
// application/octet-stream (the primary path: a bundle may be large) or as base64 in JSON.
import { inspectBackup } from '../../attestation/index.js';
import {
  GOVERNED,
  type BackupDomainInfo,
  type BackupTarget,
  type PresentedPrincipal,
  type RestoreOptions,
  type TransportKeyInfo,
} from '../../hsm/index.js';
import { encodePem, type TransportAlgorithm } from '../../pki/index.js';
import { ApiError } from '../errors.js';
import {
  b64,
  certPem,
  fromB64,
  ok,
  partitionView,
  principalOf,
  requireRole,
  type Answer,
  type Call,
  type Handler,
  type RouteContext,
} from './types.js';

/** The media type of a certificate chain as PEM blocks (RFC 8555 9.1). */
const PEM_CHAIN = 'application/pem-certificate-chain';

/**
 * Whether the caller asked for JSON rather than bytes: its Accept names application/json and
 * not application/octet-stream (absent, or anything else: the bytes).
 */
const wantsJson = (call: Call): boolean =>
  /application\/json/i.test(call.accept) && !/application\/octet-stream/i.test(call.accept);

/** The DER message of a call: the raw body, or the JSON body's base64 `field`. */
function messageOf(call: Call, field: string): Uint8Array {
  if (call.bytes !== undefined) return call.bytes;
  const text = (call.body as Record<string, unknown> | undefined)?.[field];
  if (typeof text !== 'string' || text.length === 0) {
    throw new ApiError('api-invalid-request', `give the ${field} as the body or in '${field}'`, {
      details: { field },
    });
  }
  return fromB64(text);
}

/** Bytes, or JSON with the bytes under `field` (base64) beside `extra`. */
function bytesAnswer(
  call: Call,
  status: number,
  bytes: Uint8Array,
  field: string,
  extra: Record<string, unknown> = {},
): Answer {
  return wantsJson(call)
    ? ok({ ...extra, [field]: b64(bytes) }, status)
    : { status, body: bytes, type: 'application/octet-stream' };
}

/**
 * Who reads the device's domains and transport keys: device-so or auditor of the device, or a
 * pso (who backs a partition up to one of them).
 */
function requireBackupReader(p: PresentedPrincipal, operation: string): void {
  if (p.roles.includes('pso') && p.partitions.length > 0) return;
  requireRole(p, ['device-so', 'auditor'], undefined, operation);
}

function domainView(d: BackupDomainInfo): Record<string, unknown> {
  return {
    id: d.id,
    name: d.name,
    state: d.state,
    origin: d.origin,
    from: d.from,
    createdAt: d.createdAt.toISOString(),
    kcv: d.kcv,
  };
}

function transportKeyView(k: TransportKeyInfo): Record<string, unknown> {
  return {
    id: k.id,
    algorithm: k.algorithm,
    createdAt: k.createdAt.toISOString(),
    device: k.deviceId,
    subjectKeyIdentifier: k.subjectKeyIdentifier,
    certificateDigest: k.certificateDigest,
    notAfter: k.notAfter.toISOString(),
    certificate: certPem(k.certificate),
  };
}

/** A query flag ('true' or 'false', the schema checked) or the JSON body's boolean. */
function flagOf(call: Call, name: string): boolean {
  const fromBody = (call.body as Record<string, unknown> | undefined)?.[name];
  if (typeof fromBody === 'boolean') return fromBody;
  return call.query[name] === 'true';
}

export function backupRoutes({ hsm }: RouteContext): Record<string, Handler> {
  return {
    listBackupDomains: async (call) => {
      requireBackupReader(principalOf(call), 'domain.list');
      return ok({ domains: (await hsm.backupDomains()).map(domainView) });
    },

    createBackupDomain: async (call) => {
      const { name } = call.body as { name: string };
      const d = await hsm.createBackupDomain(name, { presented: principalOf(call) });
      return ok(domainView(d), 201);
    },

    backupDomainJoinRequest: async (call) => {
      // It grants nothing (the HSM does not govern it): the roles of the step that follows.
      requireRole(principalOf(call), GOVERNED['domain.join']!.roles, undefined, 'domain.request');
      const bytes = await hsm.backupDomainJoinRequest(call.params.name!);
      return bytesAnswer(call, 201, bytes, 'request');
    },

    enrolBackupDevice: async (call) => {
      const request = messageOf(call, 'request');
      const bytes = await hsm.enrolDevice(call.params.name!, request, {
        presented: principalOf(call),
      });
      return bytesAnswer(call, 200, bytes, 'enrolment');
    },

    joinBackupDomain: async (call) => {
      const enrolment = messageOf(call, 'enrolment');
      const d = await hsm.joinBackupDomain(enrolment, { presented: principalOf(call) });
      return ok(domainView(d));
    },

    listTransportKeys: async (call) => {
      requireBackupReader(principalOf(call), 'transport-key.list');
      return ok({ transportKeys: (await hsm.transportKeys()).map(transportKeyView) });
    },

    createTransportKey: async (call) => {
      const { algorithm } = (call.body ?? {}) as { algorithm?: TransportAlgorithm };
      const k = await hsm.createTransportKey(algorithm ?? 'ml-kem-768', {
        presented: principalOf(call),
      });
      return ok(
        transportKeyView(k),
        201,
        `/v1/transport-keys/${encodeURIComponent(k.id)}/certificate`,
      );
    },

    getTransportKeyCertificate: async (call) => {
      // Public material: what a source device checks before it makes a bundle for this one.
      const k = await hsm.transportKey(call.params.id!);
      const [device, root] = await hsm.deviceCertificateChain();
      const chain = [k.certificate, device!];
      if (/application\/pem-certificate-chain/i.test(call.accept)) {
        const text = chain.map((c) => encodePem('CERTIFICATE', c)).join('');
        return { status: 200, body: new TextEncoder().encode(text), type: PEM_CHAIN };
      }
      return ok({
        transportKey: k.id,
        certificates: chain.map(b64),
        root: b64(root!),
      });
    },

    backupPartition: async (call) => {
      const body = call.body as {
        domain?: string;
        transportCertificate?: string[];
        custodians?: { threshold: number; certificates: string[] };
      };
      const given = [body.domain, body.transportCertificate, body.custodians].filter(
        (v) => v !== undefined,
      );
      if (given.length !== 1) {
        throw new ApiError(
          'api-invalid-request',
          'give exactly one of domain, transportCertificate and custodians',
          { details: { field: 'domain' } },
        );
      }
      const target: BackupTarget =
        body.domain !== undefined
          ? { domain: body.domain }
          : body.custodians !== undefined
            ? {
                custodians: {
                  threshold: body.custodians.threshold,
                  certificates: body.custodians.certificates.map(fromB64),
                },
              }
            : { transportCertificate: (body.transportCertificate ?? []).map(fromB64) };
      const r = await hsm.backupPartition(call.params.partition!, target, {
        presented: principalOf(call),
      });
      return bytesAnswer(call, 201, r.bundle, 'bundle', {
        serial: r.serial,
        digest: r.digest,
        keys: r.manifest.keys.length,
      });
    },

    restorePartition: async (call) => {
      const bundle = messageOf(call, 'bundle');
      const fromBody = (call.body as Record<string, unknown> | undefined)?.['name'];
      const name =
        typeof fromBody === 'string' ? fromBody : (call.query.name as string | undefined);
      const options: RestoreOptions = {
        ...(name === undefined ? {} : { name }),
        allowRollback: flagOf(call, 'allowRollback'),
        destroyNewer: flagOf(call, 'destroyNewer'),
      };
      const r = await hsm.restorePartition(bundle, options, { presented: principalOf(call) });
      return ok(
        {
          partition: r.partition.name,
          id: r.partition.id,
          serial: r.serial,
          keys: r.keys,
          replaced: r.replaced,
          notCarried: [...r.skippedGovernance],
        },
        201,
        `/v1/partitions/${encodeURIComponent(r.partition.name)}`,
      );
    },

    migrationReceipt: async (call) => {
      const r = await hsm.migrationReceipt(call.params.partition!, {
        presented: principalOf(call),
      });
      return bytesAnswer(call, 201, r.receipt, 'receipt', {
        digest: r.digest,
        statement: r.statement,
      });
    },

    completeMigration: async (call) => {
      const receipt = messageOf(call, 'receipt');
      const text = (call.body as Record<string, unknown> | undefined)?.['bundle'];
      const partition = call.params.partition!;
      const dryRun = flagOf(call, 'dryRun');
      // The HSM does not govern a dry run (a read): over the API, the roles of the completion.
      const roles = GOVERNED['partition.migrate']!.roles;
      if (dryRun) requireRole(principalOf(call), roles, partition, 'partition.migrate');
      const r = await hsm.completeMigration(
        partition,
        {
          receipt,
          ...(typeof text === 'string' ? { bundle: fromB64(text) } : {}),
          dryRun,
        },
        { presented: principalOf(call) },
      );
      return ok({
        dryRun: r.dryRun,
        partition: partitionView(r.partition),
        target: { ...r.target },
        serial: r.serial,
        receipt: r.receipt,
        moving: r.moving.map((k) => ({ label: k.label, role: k.role, algorithm: k.algorithm })),
        refused: r.refused.map((k) => ({ label: k.label, reason: k.reason })),
      });
    },

    inspectBackup: async (call) => {
      const bundle = messageOf(call, 'bundle');
      // The auditor's view, against this device's own factory root; nothing is decrypted.
      const root = (await hsm.device()).rootCertificate;
      const report = await inspectBackup(bundle, { anchors: { certificates: [root] } });
      return ok(JSON.parse(JSON.stringify(report)) as unknown);
    },

    downloadBackup: async (call) => {
      const d = await hsm.backupDownload(call.params.id!, { presented: principalOf(call) });
      return bytesAnswer(call, 200, d.bundle, 'bundle', {
        request: d.request,
        partition: d.partition,
        serial: d.serial,
        digest: d.digest,
      });
    },
  };
}
