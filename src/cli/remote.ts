// Commands run against a remote HSM REST API (--api URL): the options, the client they make (a
// bearer token from a file or $ATTESTAMP_API_TOKEN, never from the command line; a client
// certificate for mutual TLS; the server's CA), the API's answers as the HSM's types, and its
// refusals as the same errors (codes, exit codes) the local commands raise.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ApiClient, ApiClientError, Approval, Key } from '../client/index.js';
import {
  HSM_ERROR_CLASS,
  HsmError,
  type Hsm,
  type HsmErrorCode,
  type KeyAttributes,
  type KeyInfo,
} from '../hsm/index.js';
import { decodePemAll } from '../pki/index.js';
import { stringOption, type Invocation, type OptionSpec } from './command.js';
import { withHsm } from './context.js';
import { CliError, EXIT, UsageError, type ExitCode } from './exit-codes.js';
import type { RequestView } from './governance-bytes.js';

/** The options of every command that can run against the REST API. */
export const REMOTE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  api: {
    type: 'string',
    value: 'URL',
    description:
      'run against the HSM REST API at URL (https://HOST:PORT) instead of the local store',
  },
  'api-token-file': {
    type: 'string',
    value: 'FILE',
    description:
      'with --api: file holding the bearer token (default: $ATTESTAMP_API_TOKEN; never on the command line)',
  },
  'api-cert': {
    type: 'string',
    value: 'FILE',
    description: 'with --api: client certificate (PEM) for mutual TLS',
  },
  'api-key': {
    type: 'string',
    value: 'FILE',
    description: "with --api: the client certificate's private key (PEM)",
  },
  'api-ca': {
    type: 'string',
    value: 'FILE',
    description: "with --api: CA certificates (PEM) to trust for the server's certificate",
  },
};

const REMOTE_ONLY = ['api-token-file', 'api-cert', 'api-key', 'api-ca'] as const;

/** A file an --api-* option names; the path is named when it cannot be read (exit 64). */
function optionFile(inv: Invocation, name: string): Buffer | undefined {
  const path = stringOption(inv, name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(resolve(inv.io.cwd, path));
  } catch {
    throw new UsageError(`--${name}: cannot read the file '${path}'`);
  }
}

/**
 * The client the options describe, or undefined without --api (a local command). The client
 * module (and its HTTP agent) is loaded only for a remote command.
 */
export async function remoteClient(inv: Invocation): Promise<ApiClient | undefined> {
  const url = stringOption(inv, 'api');
  if (url === undefined) {
    const stray = REMOTE_ONLY.find((n) => inv.options[n] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray} goes with --api URL`);
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('--api must be an https:// URL');
  }
  if (parsed.protocol !== 'https:') throw new UsageError('--api must be an https:// URL');
  const tokenFile = optionFile(inv, 'api-token-file');
  // The token itself is never echoed: only where it was looked for.
  const token =
    tokenFile !== undefined
      ? tokenFile.toString('utf8').trim()
      : (inv.io.env.ATTESTAMP_API_TOKEN?.trim() ?? undefined);
  if (tokenFile !== undefined && token === '') {
    throw new UsageError('--api-token-file: the file is empty');
  }
  const cert = optionFile(inv, 'api-cert');
  const key = optionFile(inv, 'api-key');
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError('--api-cert and --api-key go together (the certificate and its key)');
  }
  if ((token === undefined || token === '') && cert === undefined) {
    throw new UsageError(
      '--api needs a bearer token (--api-token-file FILE or $ATTESTAMP_API_TOKEN) or a client certificate (--api-cert FILE --api-key FILE)',
    );
  }
  const ca = optionFile(inv, 'api-ca');
  const { createApiClient } = await import('../client/index.js');
  return createApiClient({
    url,
    ...(token === undefined || token === '' ? {} : { token }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
    ...(ca === undefined ? {} : { ca }),
  });
}

/** Exit codes of the API's own refusals and of the transport (HsmError codes keep theirs). */
function apiExit(code: string): ExitCode {
  if (code.startsWith('client-')) return EXIT.unavailable;
  switch (code) {
    case 'api-unauthenticated':
      return EXIT.auth;
    case 'api-forbidden':
    case 'api-address-refused':
      return EXIT.refused;
    case 'api-rate-limited':
      return EXIT.busy;
    case 'api-jwks-unavailable':
      return EXIT.unavailable;
    case 'api-not-found':
      return EXIT.notFound;
    case 'api-invalid-request':
    case 'api-malformed-json':
    case 'api-body-too-large':
    case 'api-unsupported-media-type':
    case 'api-idempotency-mismatch':
      return EXIT.dataError;
    default:
      return EXIT.failure;
  }
}

/** An API refusal as the error a local command raises: an HsmError with its code, or a CliError. */
export function cliErrorOf(error: ApiClientError): Error {
  if (Object.hasOwn(HSM_ERROR_CLASS, error.code)) {
    return new HsmError(error.code as HsmErrorCode, error.message, {
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
  const from = error.transport ? '' : `the API refused: `;
  return new CliError(error.code, apiExit(error.code), `${from}${error.message}`);
}

/** Runs `remote` against the API when --api is given, else `local` on the local store. */
export async function withTarget<T>(
  inv: Invocation,
  local: (hsm: Hsm) => Promise<T> | T,
  remote: (api: ApiClient) => Promise<T>,
): Promise<T> {
  const api = await remoteClient(inv);
  if (api === undefined) return withHsm(inv, local);
  try {
    return await remote(api);
  } catch (error) {
    const { ApiClientError } = await import('../client/index.js');
    throw error instanceof ApiClientError ? cliErrorOf(error) : error;
  } finally {
    await api.close();
  }
}

/** The 202 of a guarded call, raised as the HSM raises it locally (exit 7 and the next steps). */
export function approvalRequired(a: Approval): HsmError {
  const rule = a.rules[0]?.ref;
  return new HsmError(
    'approval-required',
    `${a.operation} is guarded by a quorum rule: approval request ${a.id} was made`,
    {
      details: {
        operation: a.operation,
        ...(rule === undefined
          ? {}
          : { rule: `${rule.scope}/${rule.operation}`, version: rule.version }),
        request: a.id,
      },
    },
  );
}

/** What the key commands print, from the API's representation of a key. */
export type KeyView = Omit<KeyInfo, 'partitionId'>;

export function keyViewOf(k: Key): KeyView {
  // A key pair by its SPKI; a secret key, which has none, by its key check value.
  const spki =
    k.publicKey === null
      ? k.keyCheckValue === undefined
        ? undefined
        : new Uint8Array(Buffer.from(k.keyCheckValue, 'hex'))
      : decodePemAll(k.publicKey.pem).find((b) => b.label === 'PUBLIC KEY')?.der;
  if (spki === undefined) throw new Error('the API answered a key without its public key');
  return {
    id: k.id,
    partitionName: k.partition,
    label: k.label,
    role: k.role,
    algorithm: k.algorithm,
    spki,
    // The document's Key.attributes is the HSM's KeyAttributes as JSON (the server checked it).
    attributes: k.attributes as unknown as KeyAttributes,
    state: k.state,
    createdAt: new Date(k.createdAt),
    invalidatedAt: k.invalidatedAt === null ? undefined : new Date(k.invalidatedAt),
  };
}

/** The API's representation of an approval request as the governance service's view. */
export function requestViewOf(a: Approval): RequestView {
  const view = {
    id: a.id,
    body: {
      statement: a.statement,
      signer: a.signer,
      signature: a.signature,
      closedAt: a.closedAt,
      closedBy: a.closedBy,
      result: a.result,
    },
    approvals: a.approvals,
    evaluation: {
      state: a.state,
      rules: a.rules.map((r) => ({ ref: r.ref, state: r.evaluation })),
      ...(a.notBefore === undefined ? {} : { notBefore: a.notBefore }),
    },
  };
  // The document types the statement and each rule's evaluation as objects: they are the
  // HSM's own, signed by it (the signature is checked before a person reads them).
  return view as unknown as RequestView;
}
