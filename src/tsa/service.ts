// The time-stamping service (RFC 3161 2.4): validates a parsed request against the unit's policy,
// reads a trusted time, assigns a serial, builds and signs the token, archives the response
// before it is released, and turns every refusal into a rejection with the right failInfo.
import { createHash } from 'node:crypto';
import { createVerifier } from '../hsm/index.js';
import {
  der,
  id_md5,
  id_sha1,
  HASHES,
  keyAlgorithmInfo,
  sha256Fingerprint,
  type HashName,
  type Signer,
} from '../pki/index.js';
import { silentLogger, type Logger } from '../shared/index.js';
import type { ArchiveRecord, ArchiveSink, SerialSource } from './archive.js';
import { TsaError, type FailInfo } from './errors.js';
import {
  accuracyFromMicros,
  buildRejection,
  encodeAccuracy,
  TokenTemplate,
  type Accuracy,
  type BuiltToken,
} from './response.js';
import {
  DEFAULT_REQUEST_LIMITS,
  parseTimeStampReq,
  type RequestLimits,
  type TimeStampReq,
} from './request.js';
import { formatGenTime, type GenTimePrecision, type TimeSource } from './time-source.js';
import { tsaCertificateProblems, type CertificateWindow } from './certificate-check.js';
import { FailureLog } from './failure-log.js';

export interface UnitOptions {
  /** Name of the unit (the partition whose timestamp key signs). */
  readonly name: string;
  readonly signer: Signer;
  /** Accepted policy OIDs; the first is the default when a request names none. */
  readonly policies: readonly string[];
}

export interface ServiceOptions {
  readonly units: readonly UnitOptions[];
  /** Accepted imprint hashes (REQ-03); 'sha1' only with legacySha1. */
  readonly hashes: readonly HashName[];
  readonly legacySha1: boolean;
  readonly precision: GenTimePrecision;
  readonly accuracy: Accuracy;
  readonly includeIssuers: boolean;
  readonly qualified: boolean;
  readonly includeTsaName: boolean;
  /** Verify each token before release: 'auto' = for RSA units only. */
  readonly verifyTokens: 'auto' | 'on' | 'off';
  readonly timeSource: TimeSource;
  readonly serials: SerialSource;
  readonly archive: ArchiveSink | undefined;
  /** 'full' keeps each response's bytes in the archive, 'hash' (default) only their SHA-256. */
  readonly archiveResponses?: 'hash' | 'full';
  readonly limits?: RequestLimits;
  readonly logger?: Logger;
}

export interface ServiceResult {
  readonly response: Uint8Array;
  readonly status: 'granted' | 'rejection';
  readonly failInfo?: FailInfo;
  readonly serial?: bigint;
  readonly unit: string;
}

interface Unit {
  readonly name: string;
  readonly template: TokenTemplate;
  readonly policies: readonly string[];
  readonly policyDer: ReadonlyMap<string, Uint8Array>;
  readonly window: CertificateWindow;
  /** Self-check before release, when enabled: verifies a signature over the signed attributes. */
  readonly verify: ((data: Uint8Array, signature: Uint8Array) => boolean) | undefined;
  readonly spkiSha256: string;
  /** Unexpected failures of this unit, logged once per episode and then counted. */
  readonly failures: FailureLog;
}

/** What a granted token was issued with, for its archive record. */
interface Issued {
  readonly unit: Unit;
  readonly req: TimeStampReq;
  readonly atMs: number;
  readonly serial: bigint;
  readonly genTime: string;
  readonly policy: string;
}

const SHA1_INFO = { oid: id_sha1, length: 20 };

export class TimeStampService {
  private readonly units = new Map<string, Unit>();
  private readonly byPolicy = new Map<string, Unit>();
  private readonly hashLengths = new Map<string, number>();
  private readonly limits: RequestLimits;
  private readonly logger: Logger;

  constructor(private readonly options: ServiceOptions) {
    this.limits = options.limits ?? DEFAULT_REQUEST_LIMITS;
    this.logger = options.logger ?? silentLogger;
    // E422-03: accuracy is present in every token, so it cannot be all zero.
    const a = options.accuracy;
    if (a.seconds <= 0 && a.millis <= 0 && a.micros <= 0) {
      throw new RangeError('the declared accuracy must be greater than zero');
    }
    for (const name of options.hashes) this.hashLengths.set(HASHES[name].oid, HASHES[name].length);
    if (options.legacySha1) this.hashLengths.set(SHA1_INFO.oid, SHA1_INFO.length);
    for (const u of options.units) {
      if (u.policies.length === 0) throw new RangeError(`unit ${u.name} has no policy`);
      const template = new TokenTemplate({
        signer: u.signer,
        includeIssuers: options.includeIssuers,
        accuracy: options.accuracy,
        qualified: options.qualified,
        includeTsaName: options.includeTsaName,
      });
      const { window } = tsaCertificateProblems(
        template.certificate,
        u.signer.spki,
        new Date(options.timeSource.read().epochMs),
      );
      const unit: Unit = {
        name: u.name,
        template,
        policies: u.policies,
        policyDer: new Map(u.policies.map((p) => [p, der.oid(p)])),
        window,
        verify:
          options.verifyTokens === 'on' ||
          (options.verifyTokens === 'auto' && keyAlgorithmInfo(u.signer.algorithm).verifyAfterSign)
            ? createVerifier(u.signer.spki, u.signer.algorithm)
            : undefined,
        spkiSha256: sha256Fingerprint(u.signer.spki),
        failures: new FailureLog(this.logger, 'time-stamp request'),
      };
      this.units.set(u.name, unit);
      for (const p of u.policies) {
        if (this.byPolicy.has(p)) throw new RangeError(`policy ${p} is served by two units`);
        this.byPolicy.set(p, unit);
      }
    }
  }

  hasUnit(name: string): boolean {
    return this.units.has(name);
  }

  /** Answers one DER TimeStampReq addressed to the named unit. Never throws for client faults. */
  respond(unitName: string, body: Uint8Array): Promise<ServiceResult> {
    const addressed = this.units.get(unitName);
    if (addressed === undefined) return Promise.reject(new RangeError(`no unit ${unitName}`));
    let unit = addressed;
    let request: TimeStampReq | undefined;
    try {
      request = parseTimeStampReq(body, this.limits);
      unit = this.check(addressed, request);
      return this.grant(unit, request);
    } catch (error) {
      return this.refuse(unit, request, error);
    }
  }

  /** The rejection answering any error of a request: a TsaError's failInfo, else systemFailure. */
  private refuse(
    unit: Unit,
    request: TimeStampReq | undefined,
    error: unknown,
  ): Promise<ServiceResult> {
    const tsaError =
      error instanceof TsaError
        ? error
        : new TsaError('internal', 'internal error', { cause: error });
    if (tsaError.code === 'internal') {
      // Unexpected: the whole error (message, stack, cause) goes to the log, never to the
      // client; once per failure state, then counted (requests_total with systemFailure too).
      unit.failures.failed(error, { unit: unit.name });
    }
    return this.reject(unit, request, tsaError);
  }

  private check(addressed: Unit, req: TimeStampReq): Unit {
    // RFC 3161 2.4.1: version MUST be v1.
    if (req.version !== 1)
      throw new TsaError('request-version', 'only version 1 requests are supported');
    // REQ-02/03: known hash and a digest of its length; SHA-1 and MD5 only behind a switch.
    const expected = this.hashLengths.get(req.hashAlgorithm);
    if (expected === undefined) {
      const weak = req.hashAlgorithm === id_sha1 || req.hashAlgorithm === id_md5;
      throw new TsaError(
        'hash-unsupported',
        weak
          ? 'the imprint hash algorithm is too weak'
          : 'the imprint hash algorithm is not accepted',
        { details: { oid: req.hashAlgorithm } },
      );
    }
    if (req.hashedMessage.length !== expected) {
      throw new TsaError('hash-length', 'the imprint length does not match its hash algorithm', {
        details: { expected, got: req.hashedMessage.length },
      });
    }
    // REQ-05: a requested policy picks the unit that serves it, or is refused.
    let unit = addressed;
    if (req.reqPolicy !== undefined && !addressed.policyDer.has(req.reqPolicy)) {
      const other = this.byPolicy.get(req.reqPolicy);
      if (other === undefined) {
        throw new TsaError('policy-unaccepted', 'the requested policy is not served here', {
          details: { policy: req.reqPolicy },
        });
      }
      unit = other;
    }
    // REQ-06: no request extension is supported, critical or not.
    const ext = req.extensions[0];
    if (ext !== undefined) {
      throw new TsaError('extension-unaccepted', 'request extensions are not supported', {
        details: { oid: ext.oid, critical: ext.critical },
      });
    }
    return unit;
  }

  /**
   * Reads the time, assigns a serial and builds the token; a refusal before that throws. The token
   * path chains promises rather than nesting async functions: each async function and await is one
   * promise more, and with async hooks enabled (AsyncLocalStorage) each promise costs a hook call.
   */
  private grant(unit: Unit, req: TimeStampReq): Promise<ServiceResult> {
    // RSP-07 / TIS-01: never a token with a doubtful time.
    const reading = this.options.timeSource.read();
    if (!reading.trusted) {
      this.logger.warn('clock not trusted; refusing to time-stamp', {
        reason: reading.reason ?? null,
      });
      throw new TsaError('clock-untrusted', 'the time source is not available');
    }
    // CRT-03: issuance stops outside the certificate's validity and private key usage period.
    if (reading.epochMs < unit.window.notBefore || reading.epochMs >= unit.window.notAfter) {
      this.logger.error('tsa certificate or key usage period not valid now; refusing', {
        unit: unit.name,
      });
      throw new TsaError(
        'certificate-not-valid',
        'the time-stamping unit is outside its validity period',
      );
    }
    const policy = req.reqPolicy ?? unit.policies[0]!;
    const serial = this.options.serials.next();
    const genTime = formatGenTime(reading.epochMs, this.options.precision);
    const issued: Issued = { unit, req, atMs: reading.epochMs, serial, genTime, policy };
    return unit.template
      .build({
        policy: unit.policyDer.get(policy)!,
        messageImprint: req.messageImprint,
        serialNumber: der.integer(serial),
        genTime,
        nonce: req.nonce,
        certReq: req.certReq,
        accuracy: this.measuredAccuracy(),
      })
      .then(
        (built) => this.release(issued, built),
        (error: unknown) => this.refuse(unit, req, error),
      );
  }

  /** Self-checks and archives a built token before it is released. */
  private release(issued: Issued, built: BuiltToken): ServiceResult | Promise<ServiceResult> {
    const { unit, req } = issued;
    try {
      if (unit.verify !== undefined) {
        this.selfCheck(unit, unit.verify, built.tstInfo, built.signedAttributes, built.signature);
      }
      const result: ServiceResult = {
        response: built.response,
        status: 'granted',
        serial: issued.serial,
        unit: unit.name,
      };
      if (this.options.archive === undefined) {
        unit.failures.succeeded({ unit: unit.name });
        return result;
      }
      return this.archive(unit, {
        atMs: issued.atMs,
        serial: issued.serial,
        genTime: issued.genTime,
        policy: issued.policy,
        req,
        status: 'granted',
        failInfo: null,
        response: built.response,
      }).then(
        () => {
          unit.failures.succeeded({ unit: unit.name });
          return result;
        },
        (error: unknown) => this.refuse(unit, req, error),
      );
    } catch (error) {
      return this.refuse(unit, req, error);
    }
  }

  private accuracyCache: { micros: number; der: Uint8Array | undefined } | undefined;

  /** TIS-02: never claim better than the measured bound; undefined keeps the declared accuracy. */
  private measuredAccuracy(): Uint8Array | undefined {
    const measured = this.options.timeSource.accuracyMicros?.();
    const a = this.options.accuracy;
    const declared = a.seconds * 1_000_000 + a.millis * 1000 + a.micros;
    if (measured === undefined || measured <= declared) return undefined;
    const micros = Math.ceil(measured);
    if (this.accuracyCache?.micros !== micros) {
      this.accuracyCache = {
        micros,
        der: encodeAccuracy(accuracyFromMicros(micros)),
      };
    }
    return this.accuracyCache.der;
  }

  /** A faulty signature (for RSA, one can leak the key) must never leave the TSA. */
  private selfCheck(
    unit: Unit,
    verify: (data: Uint8Array, signature: Uint8Array) => boolean,
    tstInfo: Uint8Array,
    attrs: Uint8Array,
    signature: Uint8Array,
  ): void {
    const digest = unit.template.digest(tstInfo);
    const digestFound = Buffer.from(attrs).includes(Buffer.from(digest));
    if (!digestFound || !verify(attrs, signature)) {
      this.logger.error('token self-check failed; not released', { unit: unit.name });
      throw new TsaError('key-not-usable', 'the token failed its self-check');
    }
  }

  private async reject(
    unit: Unit,
    req: TimeStampReq | undefined,
    error: TsaError,
  ): Promise<ServiceResult> {
    const failInfo = error.failInfo;
    const text = error.code === 'internal' ? 'internal error' : error.message;
    const response = buildRejection(failInfo, text);
    try {
      await this.archive(unit, {
        atMs: this.options.timeSource.read().epochMs,
        serial: null,
        genTime: null,
        policy: req?.reqPolicy ?? null,
        req,
        status: 'rejection',
        failInfo,
        response,
      });
    } catch (archiveError) {
      unit.failures.failed(
        archiveError,
        { unit: unit.name, step: 'archiving a rejection' },
        error.code !== 'internal',
      );
      return {
        response: buildRejection('systemFailure', 'internal error'),
        status: 'rejection',
        failInfo: 'systemFailure',
        unit: unit.name,
      };
    }
    return { response, status: 'rejection', failInfo, unit: unit.name };
  }

  /** The archive record's promise itself (no async wrapper: one promise less per token). */
  private archive(
    unit: Unit,
    r: {
      atMs: number;
      serial: bigint | null;
      genTime: string | null;
      policy: string | null;
      req: TimeStampReq | undefined;
      status: 'granted' | 'rejection';
      failInfo: FailInfo | null;
      response: Uint8Array;
    },
  ): Promise<void> {
    const sink = this.options.archive;
    if (sink === undefined) return Promise.resolve();
    const record: ArchiveRecord = {
      at: new Date(r.atMs).toISOString(),
      unit: unit.name,
      keySpkiSha256: unit.spkiSha256,
      serial: r.serial,
      genTime: r.genTime,
      policy: r.policy,
      hashAlgorithm: r.req?.hashAlgorithm ?? null,
      imprint: r.req?.hashedMessage ?? null,
      nonce: r.req?.nonce ?? null,
      status: r.status,
      failInfo: r.failInfo,
      responseSha256: createHash('sha256').update(r.response).digest(),
      ...(this.options.archiveResponses === 'full' ? { response: r.response } : {}),
    };
    return sink.record(record);
  }
}
