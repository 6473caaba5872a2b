// The stamp command: an RFC 3161 client for pipelines. Hashes each file, asks a TSA (any RFC 3161
// TSA, over HTTP or HTTPS) with a fresh nonce and certReq, checks the answer against the request
// (RFC 3161 2.4.2: nonce, imprint, policy; the signature and its certificate) and stores it.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, join, resolve } from 'node:path';
import { inspectToken, type Report } from '../../attestation/index.js';
import { derOrPem, encodeTimeStampReq, HASHES, type HashName } from '../../pki/index.js';
import { flag, stringOption, type Command, type Invocation } from '../command.js';
import { readInputFile, readSecretFile } from '../context.js';
import { EXIT, InputError, UsageError, type ExitCode } from '../exit-codes.js';
import { jsonText } from '../output.js';

/** A TimeStampResp is small (a token with its chain); more than this is not an RFC 3161 answer. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Checks that hold whatever the trust anchor: the answer matches the request and is signed. */
const SELF_CHECKS = [
  'token.structure',
  'token.status',
  'token.content-type',
  'token.imprint',
  'token.message-digest',
  'token.signer',
  'token.signature',
  'token.ess-cert-id',
  'token.algorithm-protection',
  'token.tsa-name',
  'token.request',
  'token.encoding',
];

/** Node's digest name for each hash we offer. */
const NODE_HASH: Readonly<Record<HashName, string>> = {
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  'sha3-256': 'sha3-256',
  'sha3-384': 'sha3-384',
  'sha3-512': 'sha3-512',
};

export interface StampResult {
  readonly file: string;
  readonly outcome: 'stamped' | 'verified' | 'rejected' | 'failed' | 'unavailable';
  readonly token?: string;
  readonly serial?: string;
  readonly serialHex?: string;
  readonly genTime?: string;
  readonly policy?: string;
  readonly message?: string;
  readonly checks?: Report['checks'];
}

async function fileDigest(path: string, hash: HashName): Promise<Uint8Array> {
  const h = createHash(NODE_HASH[hash]);
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch {
    throw new InputError(`cannot read file to stamp '${path}'`);
  }
  return new Uint8Array(h.digest());
}

interface Transport {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly timeoutMs: number;
}

class Unavailable extends Error {}

/** POSTs the query; resolves with the body of a 200 application/timestamp-reply answer. */
function post(t: Transport, body: Uint8Array): Promise<Uint8Array> {
  return new Promise((done, fail) => {
    const send = t.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      t.url,
      {
        method: 'POST',
        headers: {
          ...t.headers,
          'content-type': 'application/timestamp-query',
          'content-length': String(body.length),
        },
        timeout: t.timeoutMs,
        ...(t.ca === undefined ? {} : { ca: t.ca }),
        ...(t.cert === undefined ? {} : { cert: t.cert }),
        ...(t.key === undefined ? {} : { key: t.key }),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            fail(new Unavailable(`the answer exceeds ${String(MAX_RESPONSE_BYTES)} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () => {
          const type = (res.headers['content-type'] ?? '').split(';')[0]?.trim();
          if (res.statusCode !== 200) {
            fail(new Unavailable(`the TSA answered HTTP ${String(res.statusCode)}`));
          } else if (type !== 'application/timestamp-reply') {
            fail(new Unavailable(`the TSA answered with content type '${type ?? ''}'`));
          } else done(new Uint8Array(Buffer.concat(chunks)));
        });
        res.on('error', (e) => {
          fail(new Unavailable(`reading the answer failed: ${e.message}`));
        });
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${String(t.timeoutMs)} ms`));
    });
    req.on('error', (e) => {
      fail(new Unavailable(`cannot reach the TSA: ${e.message}`));
    });
    req.end(body);
  });
}

function transport(inv: Invocation): Transport {
  const raw = stringOption(inv, 'tsa') ?? inv.io.env.ATTESTAMP_TSA_URL;
  if (raw === undefined) throw new UsageError('missing --tsa URL (or $ATTESTAMP_TSA_URL)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('--tsa must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError('--tsa must be an http:// or https:// URL');
  }
  const headers: Record<string, string> = { accept: 'application/timestamp-reply' };
  const bearer = stringOption(inv, 'bearer-file');
  const basic = stringOption(inv, 'basic-file');
  if (bearer !== undefined && basic !== undefined) {
    throw new UsageError('give --bearer-file or --basic-file, not both');
  }
  if (bearer !== undefined)
    headers.authorization = `Bearer ${readSecretFile(bearer, 'bearer token')}`;
  if (basic !== undefined) {
    const line = readSecretFile(basic, 'basic credentials');
    if (!line.includes(':'))
      throw new InputError(`--basic-file '${basic}' must hold USER:PASSWORD`);
    headers.authorization = `Basic ${Buffer.from(line).toString('base64')}`;
  }
  const ca = stringOption(inv, 'ca');
  const cert = stringOption(inv, 'client-cert');
  const key = stringOption(inv, 'client-key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError('--client-cert and --client-key go together');
  }
  const timeout = stringOption(inv, 'timeout-ms') ?? '30000';
  const timeoutMs = Number(timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 600_000) {
    throw new UsageError('--timeout-ms must be an integer from 100 to 600000');
  }
  return {
    url,
    headers,
    timeoutMs,
    ...(ca === undefined ? {} : { ca: readInputFile(ca, 'CA certificate') }),
    ...(cert === undefined ? {} : { cert: readInputFile(cert, 'client certificate') }),
    ...(key === undefined ? {} : { key: readInputFile(key, 'client key') }),
  };
}

function hashOption(inv: Invocation): HashName {
  const name = stringOption(inv, 'hash') ?? 'sha256';
  if (!(name in HASHES)) {
    throw new UsageError(`--hash must be one of ${Object.keys(HASHES).join(', ')}`);
  }
  return name as HashName;
}

function certificates(inv: Invocation, name: string): Uint8Array[] {
  const v = inv.options[name];
  const paths = Array.isArray(v) ? v : [];
  return paths.map((p) => {
    try {
      return derOrPem(readInputFile(p, `--${name}`), 'CERTIFICATE');
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(`--${name} '${p}' is not a PEM or DER certificate`);
    }
  });
}

export const stamp: Command = {
  path: ['stamp'],
  summary: 'Time-stamp files with any RFC 3161 TSA; check and store each token.',
  positionals: ['FILE'],
  variadic: true,
  details: `For each FILE: hashes it, sends a TimeStampReq with a fresh 64-bit nonce and certReq to
--tsa, and checks the answer: granted, the imprint, nonce and policy of the request, the signature
and its signingCertificate. The answer (a TimeStampResp, as openssl ts -reply writes) is stored as
FILE.tsr, or in --out DIR. With --verify the token is also validated to a trust anchor
(--anchor or --anchor-sha256), at its genTime.
Exit codes: 0 every file stamped (and verified), 1 an answer failed its checks, 2 the TSA refused,
65 a file or credential cannot be read, 69 the TSA cannot be reached or answered outside RFC 3161,
64 usage error. Files are processed in order; the exit code is that of the first failure.`,
  options: {
    tsa: { type: 'string', value: 'URL', description: 'TSA URL (default $ATTESTAMP_TSA_URL)' },
    hash: { type: 'string', value: 'ALG', description: 'sha256 (default), sha384, sha512, sha3-*' },
    policy: { type: 'string', value: 'OID', description: 'ask for this TSA policy' },
    out: {
      type: 'string',
      value: 'DIR',
      description: 'write FILE.tsr here (default: beside FILE)',
    },
    verify: { type: 'boolean', description: 'also validate each token to a trust anchor' },
    anchor: {
      type: 'string',
      multiple: true,
      value: 'FILE',
      description: 'trust anchor certificate, PEM or DER (repeatable; with --verify)',
    },
    'anchor-sha256': {
      type: 'string',
      multiple: true,
      value: 'HEX',
      description: 'SHA-256 of an anchor certificate or its key (repeatable; with --verify)',
    },
    certs: {
      type: 'string',
      multiple: true,
      value: 'FILE',
      description: 'extra untrusted certificates for the path (repeatable)',
    },
    'bearer-file': { type: 'string', value: 'F', description: 'send the bearer token in F' },
    'basic-file': {
      type: 'string',
      value: 'F',
      description: 'send HTTP Basic USER:PASSWORD from F',
    },
    ca: { type: 'string', value: 'FILE', description: 'CA certificates for an https:// TSA' },
    'client-cert': {
      type: 'string',
      value: 'FILE',
      description: 'client certificate (mutual TLS)',
    },
    'client-key': { type: 'string', value: 'FILE', description: 'client key (mutual TLS)' },
    'timeout-ms': { type: 'string', value: 'MS', description: 'per request (default 30000)' },
  },
  async run(inv) {
    const t = transport(inv);
    const hash = hashOption(inv);
    const verify = flag(inv, 'verify');
    const pins = (
      Array.isArray(inv.options['anchor-sha256']) ? inv.options['anchor-sha256'] : []
    ).map((h) => {
      if (!/^[0-9a-fA-F]{64}$/.test(h))
        throw new UsageError('--anchor-sha256 must be 64 hex digits');
      return h.toLowerCase();
    });
    const anchors = certificates(inv, 'anchor');
    if (verify && anchors.length === 0 && pins.length === 0) {
      throw new UsageError('--verify needs --anchor FILE or --anchor-sha256 HEX');
    }
    if (!verify && (anchors.length > 0 || pins.length > 0)) {
      throw new UsageError('--anchor and --anchor-sha256 are used with --verify');
    }
    const extra = certificates(inv, 'certs');
    const policy = stringOption(inv, 'policy');
    if (policy !== undefined && !/^[0-2](\.(0|[1-9]\d*))+$/.test(policy)) {
      throw new UsageError('--policy must be a dotted OID');
    }
    const outDir = stringOption(inv, 'out');
    if (outDir !== undefined) mkdirSync(resolve(inv.io.cwd, outDir), { recursive: true });

    const results: StampResult[] = [];
    let exit: ExitCode = EXIT.ok;
    for (const name of inv.positionals) {
      const file = resolve(inv.io.cwd, name);
      const result = await stampOne(file);
      results.push(result);
      if (exit === EXIT.ok) exit = exitOf(result);
      if (!flag(inv, 'json')) inv.io.stdout(line(name, result));
    }
    if (flag(inv, 'json')) inv.io.stdout(jsonText({ results }));
    return exit;

    async function stampOne(file: string): Promise<StampResult> {
      const value = await fileDigest(file, hash);
      const query = encodeTimeStampReq({
        hashOid: HASHES[hash].oid,
        hashedMessage: value,
        ...(policy === undefined ? {} : { policy }),
        // RFC 3161 2.4.1: a large random nonce lets the client match answer to question.
        nonce: Uint8Array.of(0x01, ...randomBytes(8)),
        certReq: true,
      });
      let answer: Uint8Array;
      try {
        answer = await post(t, query);
      } catch (error) {
        return { file, outcome: 'unavailable', message: (error as Error).message };
      }
      const report = await inspectToken(answer, {
        anchors: verify
          ? { certificates: anchors, sha256: pins }
          : { certificates: [], sha256: [] },
        digest: { hash, value },
        request: query,
        certificates: extra,
      });
      const claims = report.claims as {
        serial?: string;
        serialHex?: string;
        genTime?: string;
        policy?: string;
      };
      const refused = report.checks.find((c) => c.id === 'token.status' && c.status === 'fail');
      if (refused !== undefined) return { file, outcome: 'rejected', message: refused.detail };
      const failed = report.checks.filter(
        (c) => c.status === 'fail' && (verify || SELF_CHECKS.includes(c.id)),
      );
      const ok = verify ? report.outcome === 'verified' : failed.length === 0;
      const common = {
        file,
        ...(claims.serial === undefined || claims.serialHex === undefined
          ? {}
          : { serial: claims.serial, serialHex: claims.serialHex }),
        ...(claims.genTime === undefined ? {} : { genTime: claims.genTime }),
        ...(claims.policy === undefined ? {} : { policy: claims.policy }),
      };
      if (!ok) {
        return {
          ...common,
          outcome: 'failed',
          message:
            failed.map((c) => `${c.id}: ${c.detail}`).join('; ') || `outcome ${report.outcome}`,
          checks: report.checks,
        };
      }
      const token = join(
        outDir === undefined ? resolve(file, '..') : resolve(inv.io.cwd, outDir),
        `${basename(file)}.tsr`,
      );
      writeFileSync(token, answer);
      return { ...common, outcome: verify ? 'verified' : 'stamped', token };
    }
  },
};

function exitOf(r: StampResult): ExitCode {
  switch (r.outcome) {
    case 'stamped':
    case 'verified':
      return EXIT.ok;
    case 'rejected':
      return EXIT.refused;
    case 'failed':
      return EXIT.failure;
    case 'unavailable':
      return EXIT.unavailable;
  }
}

function line(name: string, r: StampResult): string {
  if (r.outcome === 'stamped' || r.outcome === 'verified') {
    return `${name}: ${r.outcome}, serial ${r.serial ?? '?'}, genTime ${r.genTime ?? '?'} -> ${r.token ?? '?'}\n`;
  }
  return `${name}: ${r.outcome}: ${r.message ?? ''}\n`;
}
