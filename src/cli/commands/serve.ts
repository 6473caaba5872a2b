// The serve command: checks every unit's certificate against its HSM key, opens the archive and
// serves RFC 3161 over HTTP until SIGINT/SIGTERM, then finishes in-flight work and flushes; and,
// when its settings are given, the HSM's REST API on a listener of its own in the same process.
import cluster from 'node:cluster';
import { constants } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import type { ApiServer } from '../../api/index.js';
import { classifyOpenError, type Hsm } from '../../hsm/index.js';
import {
  id_tsaPolicyPostQuantum,
  keyAlgorithmInfo,
  sha256Fingerprint,
  type KeyAlgorithm,
  type Signer,
} from '../../pki/index.js';
import {
  ClockGuard,
  clockStatusLabel,
  accuracyFromMicros,
  createTsaApp,
  TimeStampService,
  tsaCertificateProblems,
  createTsaMetrics,
  createAccessControl,
  FailureLog,
  createClientAddress,
  isPostgresUrl,
  openArchive,
  parsePasswordFile,
  TsaError,
  type AccessCheck,
  type IssuanceArchive,
  type AccessOptions,
  type ReadinessCheck,
  type UnitRoute,
} from '../../tsa/index.js';
import { flag, type Command, type Invocation } from '../command.js';
import { loadServerConfig, SERVER_OPTIONS, type ServerConfig, type UnitConfig } from '../config.js';
import { dataDir, openHsm, readInputFile, storeLocation } from '../context.js';
import { CliError, EXIT, InputError } from '../exit-codes.js';
import { archiveNodeId, workerNodeId } from '../archive-node.js';
import type { JSONWebKeySet } from 'jose';
import { createJsonLogger } from '../logger.js';
import { MASTER_OPTIONS, opensslTsWarning } from './partition.js';
import { prepareApi, startPreparedApi, type PreparedApi } from './api.js';

export const ARCHIVE_FILE = 'tsa-archive.sqlite';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly httpsPort: number | undefined;
  readonly metricsPort: number | undefined;
  /** The REST API's listener, when serve runs it (see --serve-api). */
  readonly apiUrl: string | undefined;
  /** Stops accepting, finishes in-flight requests and closes; reason is logged (SIGTERM...). */
  close(reason?: string): Promise<void>;
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readInputFile(path, what).toString('utf8')) as unknown;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${what} file '${path}' is not JSON`);
  }
}

/** Access control from the configuration (limits on fresh evidence apply even without auth). */
function accessControl(config: Readonly<ServerConfig>): {
  check: AccessCheck;
  schemes: string[];
} {
  const options: { -readonly [K in keyof AccessOptions]: AccessOptions[K] } = {
    authFailuresPerMinute: config.authFailureLimit,
    evidenceRatePerSecond: config.evidenceRateLimit,
  };
  const schemes: string[] = [];
  if (config.authBasicFile !== undefined) {
    const text = readInputFile(config.authBasicFile, '--auth-basic-file').toString('utf8');
    try {
      options.basic = parsePasswordFile(text);
    } catch (error) {
      throw new InputError(
        `--auth-basic-file '${config.authBasicFile}': ${error instanceof Error ? error.message : 'unreadable'}`,
      );
    }
    schemes.push('Basic realm="attestamp"');
  }
  if (
    config.jwtJwksFile !== undefined &&
    config.jwtIssuer !== undefined &&
    config.jwtAudience !== undefined
  ) {
    const jwks = readJson(config.jwtJwksFile, '--jwt-jwks') as { keys?: unknown };
    if (!Array.isArray(jwks.keys))
      throw new InputError('--jwt-jwks must be a JWK set ({"keys": [...]})');
    // Public keys only: a symmetric key would let anyone holding it mint tokens, and a private
    // key does not belong on the verifying side.
    for (const [i, k] of (jwks.keys as unknown[]).entries()) {
      const key = (typeof k === 'object' && k !== null ? k : {}) as Record<string, unknown>;
      if (key.kty === 'oct' || 'd' in key || 'k' in key) {
        throw new InputError(
          `--jwt-jwks key ${String(i)} is symmetric or private: give the issuer's public keys only`,
        );
      }
    }
    options.jwt = {
      jwks: jwks as JSONWebKeySet,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      maxLifetimeSeconds: config.jwtMaxLifetimeSeconds,
      clockSkewSeconds: config.jwtClockSkewSeconds,
    };
    schemes.push('Bearer realm="attestamp"');
  }
  if (config.mtlsCa !== undefined) options.mtls = true;
  if (config.rateLimit !== undefined) options.ratePerSecond = config.rateLimit;
  return { check: createAccessControl(options), schemes };
}

/** The version reported in build info. */
export const VERSION = '0.1.0';

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      const a = server.address();
      ok(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}

/** The HSM of the configured store, refused when its audit log does not extend the given head. */
async function openServedHsm(inv: Invocation, config: Readonly<ServerConfig>): Promise<Hsm> {
  const hsm: Hsm = await openHsm(inv, config.store);
  if (config.expectAuditHead !== undefined) {
    // Rollback check: an older copy of the store put back does not extend the recorded head.
    try {
      await hsm.requireAuditHead(config.expectAuditHead);
    } catch (error) {
      await hsm.close();
      throw error;
    }
  }
  return hsm;
}

/** Logs whether the REST API runs beside the TSA, and why not when it does not. */
function logApi(
  logger: ReturnType<typeof createJsonLogger>,
  config: Readonly<ServerConfig>,
  api: ApiServer | undefined,
): void {
  if (api !== undefined) {
    logger.info('REST API listening', { url: api.url });
  } else {
    logger.info('REST API not started', {
      serveApi: config.serveApi,
      reason:
        config.serveApi === 'off'
          ? '--serve-api off'
          : 'no --api-tls-cert and --api-tls-key (and no other --api-* setting) given',
    });
  }
}

/**
 * The policies each unit serves: those configured, or by default ARC.6.1[.N] for a unit with a
 * classical key and ARC.6.2 (ARC.6.2.N for the N-th further one) for a unit whose key is
 * post-quantum, so that a client asking for the baseline policy never gets a token it cannot
 * verify (standards/timestamping.md: post-quantum units under their own policy).
 */
export function unitPolicies(
  units: readonly UnitConfig[],
  algorithms: readonly KeyAlgorithm[],
): string[][] {
  let postQuantum = 0;
  return units.map((u, i) => {
    if (u.defaultPolicy !== true || keyAlgorithmInfo(algorithms[i]!).postQuantum !== true) {
      return [...u.policies];
    }
    const n = postQuantum++;
    return [n === 0 ? id_tsaPolicyPostQuantum : `${id_tsaPolicyPostQuantum}.${n}`];
  });
}

/**
 * Starts the TSA, and the REST API when configured and this is not a cluster worker (with
 * --workers N the primary runs the API); resolves once listening. Refuses to start on a
 * certificate problem.
 */
export async function startServer(
  inv: Invocation,
  config: Readonly<ServerConfig>,
): Promise<RunningServer | number> {
  const logger = createJsonLogger(inv.io.stderr);
  // The API's files are read and checked before anything opens or listens.
  const preparedApi: PreparedApi | undefined =
    config.api === undefined || cluster.isWorker ? undefined : prepareApi(config.api);
  const hsm = await openServedHsm(inv, config);
  const routes: UnitRoute[] = [];
  const units: { name: string; signer: Signer; policies: readonly string[] }[] = [];
  const windows: { unit: string; signer: Signer; notAfter: number }[] = [];
  const now = new Date();
  const signers: Signer[] = [];
  for (const u of config.units) signers.push(await hsm.timestampSigner(u.partition));
  const policies = unitPolicies(
    config.units,
    signers.map((s) => s.algorithm),
  );
  for (const [i, u] of config.units.entries()) {
    const signer = signers[i]!;
    // REQ-09, CRT-01, CRT-03: refuse to serve with a certificate that does not fit the key.
    const check = tsaCertificateProblems(signer.certificateChain[0]!, signer.spki, now);
    if (check.problems.length > 0) {
      for (const p of check.problems)
        logger.error('refusing to serve', { unit: u.partition, problem: p });
      await hsm.close();
      return EXIT.refused;
    }
    units.push({ name: u.partition, signer, policies: policies[i]! });
    windows.push({ unit: u.partition, signer, notAfter: check.window.notAfter });
    // Evidence about the unit's own key, published next to its chain (GET PATH/evidence.pem).
    const cached = await hsm.attestKey(u.partition, 'partition-timestamp');
    routes.push({
      path: u.path,
      unit: u.partition,
      chain: signer.certificateChain,
      evidence: (nonce) =>
        nonce === undefined
          ? Promise.resolve(cached)
          : hsm.attestKey(u.partition, 'partition-timestamp', { nonce }),
      crl: (issuer) => hsm.latestCrl(issuer),
    });
  }
  // The SQLite file under --data, or a postgres:// URL shared by several nodes.
  const store = storeLocation(inv, config.store);
  const archiveTarget =
    store.kind === 'postgres' ? store.location : join(dataDir(inv), ARCHIVE_FILE);
  let archive: IssuanceArchive;
  try {
    archive = isPostgresUrl(archiveTarget)
      ? await openArchive(archiveTarget, {
          // One chain per process: each worker of --workers N appends to its own.
          node: workerNodeId(archiveNodeId(dataDir(inv)), cluster.worker?.id),
          // Checkpoints of all chain heads are signed with the first unit's timestamp key.
          signer: units[0]!.signer,
          logger,
        })
      : await openArchive(archiveTarget, { writer: 'wal-sync' });
  } catch (cause) {
    await hsm.close();
    // The archive database was edited (its schema, a chain head, the serial counter): exit 4.
    if (cause instanceof TsaError && cause.code === 'archive-integrity') {
      throw new CliError(
        'archive-integrity',
        EXIT.integrity,
        `the time-stamp archive database was edited; refusing to serve: ${cause.message}`,
      );
    }
    if (isPostgresUrl(archiveTarget)) {
      // The URL may carry a password: the message names the failure, not the URL.
      throw new CliError(
        'archive-unavailable',
        EXIT.unavailable,
        `the time-stamp archive database cannot be opened: ${cause instanceof Error ? cause.message : 'unknown error'}`,
      );
    }
    // The same classification as the device store: a full disk is not corruption.
    throw classifyOpenError(cause, archiveTarget, 'the time-stamp archive');
  }
  // TIS-01: the clock guard (SNTP quorum when servers are configured, jump checks always).
  const timeSource = new ClockGuard({
    servers: config.ntpServers,
    ...(config.ntpQuorum === undefined ? {} : { quorum: config.ntpQuorum }),
    maxOffsetMs: config.maxOffsetMs,
    intervalMs: config.clockCheckIntervalMs,
    timeoutMs: Math.min(1000, Math.floor(config.clockCheckIntervalMs / 2)),
    declaredAccuracyMicros: config.accuracyMicros,
    logger,
    onEvent: (event) => {
      // TIS-03: every clock event is logged (by the guard) and archived.
      return archive.recordClockEvent(event);
    },
  });
  // The first check completes before the server listens.
  await timeSource.start();
  const metrics = createTsaMetrics({ version: VERSION, node: process.version });
  const service = new TimeStampService({
    units,
    hashes: config.hashes,
    legacySha1: config.legacySha1,
    precision: config.precision,
    accuracy: accuracyFromMicros(config.accuracyMicros),
    includeIssuers: config.includeIssuers,
    qualified: config.qualified,
    includeTsaName: config.includeTsaName,
    verifyTokens: config.verifyTokens,
    archiveResponses: config.archiveResponses,
    timeSource,
    serials: archive,
    archive,
    logger,
  });

  const probe = new TextEncoder().encode('attestamp readiness probe');
  // A full disk fails every probe: logged once when it starts and once when it ends.
  const archiveProbe = new FailureLog(logger, 'archive readiness probe');
  /** /readyz: clock trusted, archive writable, every unit key signs, certificates not ending soon. */
  const probeAll = async (): Promise<ReadinessCheck[]> => {
    const reading = timeSource.read();
    const clock = timeSource.status();
    const label = clockStatusLabel(clock);
    // local-only (no time source configured, the quick start) is ready, and says so.
    const checks: ReadinessCheck[] = [
      {
        name: 'clock',
        ok: reading.trusted,
        detail: !reading.trusted
          ? `unsynced: ${reading.reason ?? 'untrusted'}`
          : label === 'local-only'
            ? 'local-only: no time source configured; wall clock checked against the monotonic clock only'
            : label,
      },
    ];
    try {
      metrics.setArchiveRows(await archive.probe(new Date(reading.epochMs)));
      archiveProbe.succeeded();
      checks.push({ name: 'archive', ok: true, detail: 'writable' });
    } catch (error) {
      // The public answer stays generic; the log has the reason.
      archiveProbe.failed(error);
      checks.push({ name: 'archive', ok: false, detail: 'not writable' });
    }
    for (const w of windows) {
      try {
        await w.signer.sign(probe);
        checks.push({ name: `key:${w.unit}`, ok: true, detail: 'signs' });
      } catch {
        checks.push({ name: `key:${w.unit}`, ok: false, detail: 'the timestamp key cannot sign' });
      }
      const days = Math.floor((w.notAfter - reading.epochMs) / 86_400_000);
      metrics.setCertificateExpiry(w.unit, w.notAfter);
      checks.push({
        name: `certificate:${w.unit}`,
        ok: days >= config.readyMinCertDays,
        detail: `${days} days left (minimum ${config.readyMinCertDays})`,
      });
    }
    metrics.setClock(label, clock.boundMs ?? undefined);
    return checks;
  };
  // Probes cost a signature per unit and a write: answered from a cache for a second, so that
  // /readyz and /metrics cannot be used to load the HSM.
  let cached: { at: number; checks: Promise<ReadinessCheck[]> } | undefined;
  const readiness = (): Promise<ReadinessCheck[]> => {
    const t = performance.now();
    if (cached === undefined || t - cached.at > 1_000) cached = { at: t, checks: probeAll() };
    return cached.checks;
  };
  const access = accessControl(config);
  const app = createTsaApp({
    service,
    routes,
    bodyLimit: config.bodyLimit,
    logger,
    readiness,
    metrics,
    access: access.check,
    authSchemes: access.schemes,
    clientAddress: createClientAddress(config.trustedProxies),
    accessLog: config.accessLog,
  });
  const handler = app.callback();
  // Requests in flight, and those finished after close() began (the drained count it logs).
  let inFlight = 0;
  let closingSince: number | undefined;
  let drained = 0;
  const serveRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (closingSince !== undefined) drained++;
    });
    void handler(req, res);
  };
  // Node checks the request and header timeouts only every connectionsCheckingInterval (30 s by
  // default): check at least every second so that a stalled client is cut off on time (HTTP-02).
  const server = createServer(
    { connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs) },
    serveRequest,
  );
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(config.requestTimeoutMs, 60_000);
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // A cap on open connections per listener: beyond it Node closes new sockets at once, so that
  // a flood of idle connections cannot exhaust file descriptors or memory.
  server.maxConnections = config.maxConnections;
  const extra: Server[] = [];
  let port: number;
  let httpsPort: number | undefined;
  let metricsPort: number | undefined;
  let api: ApiServer | undefined;
  try {
    port = await listen(server, config.port, config.host);
    if (
      config.httpsPort !== undefined &&
      config.tlsCert !== undefined &&
      config.tlsKey !== undefined
    ) {
      // HTTP-03: HTTPS beside plain HTTP (some signing tools refuse https TSA URLs).
      const tls = createHttpsServer(
        {
          cert: readInputFile(config.tlsCert, 'TLS certificate'),
          key: readInputFile(config.tlsKey, 'TLS key'),
          // TLS 1.2 and 1.3 only, and no renegotiation (a full handshake the server pays for at
          // the client's request, and a way to swap a client certificate mid-connection).
          minVersion: 'TLSv1.2',
          secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
          // Mutual TLS: ask for a client certificate; the access check decides (401 without one).
          ...(config.mtlsCa === undefined
            ? {}
            : {
                requestCert: true,
                rejectUnauthorized: false,
                ca: readInputFile(config.mtlsCa, 'mTLS CA'),
              }),
          connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs),
          // Node's default gives a silent client 120 s to start TLS: a cheap way to hold sockets.
          handshakeTimeout: config.tlsHandshakeTimeoutMs,
        },
        serveRequest,
      );
      tls.on('secureConnection', (socket) => {
        socket.disableRenegotiation();
      });
      tls.requestTimeout = config.requestTimeoutMs;
      tls.headersTimeout = server.headersTimeout;
      tls.keepAliveTimeout = config.keepAliveTimeoutMs;
      tls.maxConnections = config.maxConnections;
      httpsPort = await listen(tls, config.httpsPort, config.host);
      extra.push(tls);
    }
    if (config.metricsPort !== undefined) {
      const metricsServer = createServer((req, res) => {
        if (req.method !== 'GET' || req.url !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        // Scrapes probe afresh instead of reading the cache: the metrics listener is meant for
        // a local scraper (127.0.0.1 by default; --metrics-host widens it at the operator's risk).
        void probeAll()
          .then(() => metrics.registry.metrics())
          .then(
            (text) => {
              res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
            },
            () => {
              res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
            },
          );
      });
      metricsPort = await listen(metricsServer, config.metricsPort, config.metricsHost);
      extra.push(metricsServer);
    }
    // The REST API on its own HTTPS listener, over the same HSM (the last one started).
    if (preparedApi !== undefined) api = await startPreparedApi(preparedApi, hsm, logger);
  } catch (error) {
    // A listener that cannot start (port in use, bad TLS file) stops everything already opened.
    for (const srv of [server, ...extra]) srv.close();
    await timeSource.stop();
    await archive.drain();
    await archive.close();
    await hsm.close();
    throw error;
  }
  for (const [i, u] of config.units.entries()) {
    const signer = units[i]!.signer;
    logger.info('time-stamping unit ready', {
      unit: u.partition,
      path: u.path,
      policy: units[i]!.policies[0] ?? null,
      algorithm: signer.algorithm,
      certificateSha256: sha256Fingerprint(signer.certificateChain[0]!),
    });
    const warning = opensslTsWarning(signer.algorithm);
    if (warning !== undefined)
      logger.warn(warning, { unit: u.partition, algorithm: signer.algorithm });
  }
  if (!cluster.isWorker) logApi(logger, config, api);
  const bracket = (h: string): string => (h.includes(':') ? `[${h}]` : h);
  // The settings that change behaviour; file names and credentials stay out of the log.
  logger.info('attestamp started', {
    version: VERSION,
    node: process.version,
    pid: process.pid,
    units: config.units
      .map((u, i) => `${u.partition}:${u.path} ${units[i]!.signer.algorithm}`)
      .join(', '),
    http: `http://${bracket(config.host)}:${port}/`,
    https: httpsPort === undefined ? null : `https://${bracket(config.host)}:${httpsPort}/`,
    metrics:
      metricsPort === undefined
        ? null
        : `http://${bracket(config.metricsHost)}:${metricsPort}/metrics`,
    api: api?.url ?? null,
    hashes: config.hashes.join(','),
    legacySha1: config.legacySha1,
    precision: config.precision,
    accuracyUs: config.accuracyMicros,
    qualified: config.qualified,
    tsaName: config.includeTsaName,
    verifyTokens: config.verifyTokens,
    archiveResponses: config.archiveResponses,
    auth:
      [
        ...(config.authBasicFile === undefined ? [] : ['basic']),
        ...(config.jwtJwksFile === undefined ? [] : ['jwt']),
        ...(config.mtlsCa === undefined ? [] : ['mtls']),
      ].join(',') || 'none',
    rateLimit: config.rateLimit ?? null,
    trustedProxies: config.trustedProxies.length,
    timeSources: config.ntpServers.map((n) => `${n.host}:${n.port}`).join(',') || 'none',
    clock: clockStatusLabel(timeSource.status()),
    bodyLimit: config.bodyLimit,
    maxConnections: config.maxConnections,
    accessLog: config.accessLog,
  });
  let closing: Promise<void> | undefined;
  /** How long shutdown waits for requests in flight before it closes their connections. */
  const SHUTDOWN_GRACE_MS = 10_000;
  return {
    server,
    port,
    httpsPort,
    metricsPort,
    apiUrl: api?.url,
    close(reason = 'requested') {
      closing ??= new Promise<void>((done) => {
        closingSince = performance.now();
        const inFlightAtClose = inFlight;
        logger.info('attestamp stopping', { reason, inFlight: inFlightAtClose });
        // The API stops beside the TSA; the HSM is closed only once both are done with it.
        const apiClosed = api?.close(SHUTDOWN_GRACE_MS) ?? Promise.resolve();
        // Connections that finish their request after close() are closed once idle.
        const sweep = setInterval(() => {
          server.closeIdleConnections();
        }, 100);
        sweep.unref();
        void timeSource.stop();
        for (const e of extra) {
          e.close();
          e.closeIdleConnections();
        }
        // Bounded: a connection that never finishes (a client that stops reading, a request
        // stuck on the archive) must not keep the process alive. Nothing it waits for was sent.
        const force = setTimeout(() => {
          logger.warn('attestamp stopping: closing connections still open', {
            afterMs: SHUTDOWN_GRACE_MS,
          });
          server.closeAllConnections();
          for (const e of extra) e.closeAllConnections();
        }, SHUTDOWN_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          // Every response sent is durable already; this commits nothing new but waits for
          // a batch still in the writer thread before closing.
          // Bounded, so that a stuck writer cannot keep the process alive; nothing waiting on it
          // was sent to a client.
          const giveUp = new Promise<void>((r) => setTimeout(r, 5_000).unref());
          void Promise.race([archive.drain(), giveUp])
            // The PostgreSQL archive signs a last checkpoint here, with the HSM still open.
            .then(() => Promise.race([archive.close(), giveUp]))
            .catch((error: unknown) => {
              logger.warn('archive not closed cleanly', {
                error: error instanceof Error ? error.message : 'unknown',
              });
            })
            .then(async () => {
              clearInterval(sweep);
              await apiClosed;
              await hsm.close().catch(() => undefined);
              logger.info('attestamp stopped', {
                reason,
                drained,
                durationMs: Math.round(performance.now() - (closingSince ?? performance.now())),
              });
              done();
            });
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

export const serve: Command = {
  path: ['serve'],
  summary: 'Serve the RFC 3161 time-stamp authority over HTTP.',
  positionals: [],
  details: `Each unit is a partition's timestamp key, answering POSTs of application/timestamp-query
at its path and publishing PATH/chain.pem, PATH/tsa.pem, PATH/root.pem and PATH/evidence.pem. Every response is
archived in DATA/tsa-archive.sqlite before it is sent. Settings come from flags, then
environment variables (ATTESTAMP_PORT, ...), then --config FILE (JSON), then defaults.

The HSM's REST API (as attestamp api) runs in the same process on a listener of its own, with
its own port and TLS (the --api-* settings), when --api-tls-cert and --api-tls-key are given;
it then needs an authentication method (--api-jwks ... or --api-client-map) as attestamp api
does. Other --api-* settings without that TLS are refused. --serve-api on requires the API,
--serve-api off never starts it (for an attestamp api process of its own on the same settings).
With --workers N the API runs in the primary process only. SIGTERM stops both listeners.`,
  options: { ...SERVER_OPTIONS, ...MASTER_OPTIONS },
  async run(inv) {
    const config = loadServerConfig(inv);
    if (config.workers > 1 && cluster.isPrimary) return serveWorkers(inv, config);
    return serveUntilSignal(inv, config);
  },
};

interface Ports {
  readonly port: number;
  readonly httpsPort: number | undefined;
  readonly metricsPort: number | undefined;
}

/** What serve announces: the TSA's ports and the REST API's URL when it runs. */
interface Listening extends Ports {
  readonly apiUrl: string | undefined;
}

function isListening(m: unknown): m is { listening: Ports } {
  return typeof m === 'object' && m !== null && 'listening' in m;
}

function announce(inv: Invocation, config: Readonly<ServerConfig>, ports: Listening): void {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${ports.port}/`;
  const httpsUrl =
    ports.httpsPort === undefined ? undefined : `https://${host}:${ports.httpsPort}/`;
  const metricsHost = config.metricsHost.includes(':')
    ? `[${config.metricsHost}]`
    : config.metricsHost;
  const metricsUrl =
    ports.metricsPort === undefined
      ? undefined
      : `http://${metricsHost}:${ports.metricsPort}/metrics`;
  if (flag(inv, 'json')) {
    inv.io.stdout(
      JSON.stringify({
        listening: url,
        port: ports.port,
        https: httpsUrl,
        metrics: metricsUrl,
        api: ports.apiUrl,
      }) + '\n',
    );
  } else {
    inv.io.stdout(`attestamp TSA listening on ${url}\n`);
    if (httpsUrl !== undefined) inv.io.stdout(`attestamp TSA listening on ${httpsUrl} (TLS)\n`);
    if (metricsUrl !== undefined) inv.io.stdout(`metrics on ${metricsUrl}\n`);
    if (ports.apiUrl !== undefined) inv.io.stdout(`attestamp API listening on ${ports.apiUrl}\n`);
  }
}

/**
 * --workers N: N server processes (node:cluster) share the listening sockets. Each opens the
 * HSM and the archive file itself: serial blocks are reserved in the archive's own transactions
 * and each batch is chained to the last row committed by any process, so serials stay unique and
 * the chain stays whole; on PostgreSQL each worker appends to a chain of its own (NODE.wN). The
 * primary starts, announces and stops them, and runs the REST API when it is configured: on
 * SIGINT/SIGTERM each worker finishes its in-flight work; if one stops on its own, the others
 * are stopped too.
 */
async function serveWorkers(inv: Invocation, config: Readonly<ServerConfig>): Promise<number> {
  // The API's files are read and checked before any worker starts.
  const preparedApi = config.api === undefined ? undefined : prepareApi(config.api);
  const workers = Array.from({ length: config.workers }, () => cluster.fork());
  const exits = workers.map(
    (w) =>
      new Promise<number>((done) => {
        w.once('exit', (code: number | null) => {
          done(code ?? EXIT.failure);
        });
      }),
  );
  const stopAll = (): void => {
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
  };
  const ready = Promise.all(
    workers.map(
      (w) =>
        new Promise<Ports>((ok) => {
          w.on('message', (m: unknown) => {
            if (isListening(m)) ok(m.listening);
          });
        }),
    ),
  );
  const first = await Promise.race([ready, Promise.race(exits)]);
  if (typeof first === 'number') {
    // A worker could not start (a certificate problem, a port in use): none serves.
    stopAll();
    const codes = await Promise.all(exits);
    return codes.find((c) => c !== EXIT.ok) ?? EXIT.failure;
  }
  // The REST API runs in the primary only, once the workers serve: one listener, one HSM of
  // its own (the workers each have theirs), not one per worker on a shared port.
  const logger = createJsonLogger(inv.io.stderr);
  let api: { server: ApiServer; hsm: Hsm } | undefined;
  if (preparedApi !== undefined) {
    let hsm: Hsm | undefined;
    try {
      hsm = await openServedHsm(inv, config);
      api = { server: await startPreparedApi(preparedApi, hsm, logger), hsm };
    } catch (error) {
      await hsm?.close().catch(() => undefined);
      stopAll();
      await Promise.all(exits);
      throw error;
    }
  }
  logApi(logger, config, api?.server);
  const state = { stopping: false };
  const stop = (): void => {
    state.stopping = true;
    stopAll();
  };
  // In place before the listening line, which a supervisor may answer with SIGTERM at once.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  announce(inv, config, { ...first[0]!, apiUrl: api?.server.url });
  const early = await Promise.race(exits);
  if (!state.stopping) {
    inv.io.stderr(`a server worker stopped (exit ${early}); stopping the others\n`);
    stopAll();
  }
  // The API stops with the workers, its requests in flight finished, then its HSM closes.
  const apiClosed = (async () => {
    if (api === undefined) return;
    await api.server.close();
    await api.hsm.close().catch(() => undefined);
  })();
  const codes = await Promise.all(exits);
  await apiClosed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (!state.stopping) return codes.find((c) => c !== EXIT.ok) ?? EXIT.failure;
  return codes.find((c) => c !== EXIT.ok) ?? EXIT.ok;
}

export async function serveUntilSignal(
  inv: Invocation,
  config: Readonly<ServerConfig>,
): Promise<number> {
  const running = await startServer(inv, config);
  if (typeof running === 'number') return running;
  const ports = {
    port: running.port,
    httpsPort: running.httpsPort,
    metricsPort: running.metricsPort,
  };
  // The signal handlers are in place before the listening line: a supervisor may send SIGTERM
  // the moment it reads it.
  const stopped = new Promise<void>((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      // A cluster worker keeps its handlers: Ctrl-C reaches it and the primary's SIGTERM follows.
      if (!cluster.isWorker) {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      void running.close(signal).then(() => {
        // A cluster worker's channel to the primary would keep it alive.
        if (cluster.isWorker) process.disconnect();
        done();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  // A cluster worker tells the primary, which announces once for all.
  if (cluster.isWorker) process.send?.({ listening: ports });
  else announce(inv, config, { ...ports, apiUrl: running.apiUrl });
  await stopped;
  return EXIT.ok;
}
