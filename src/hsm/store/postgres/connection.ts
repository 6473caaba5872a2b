// Connecting to the PostgreSQL device store: the postgres:// URL (its password never shown),
// the session settings every connection starts with, and the HsmError an operator can act on
// for each way a connection or a statement can fail.
import pg from 'pg';
import { HsmError } from '../../errors.js';

/** The schema that holds the device store unless the URL names another (`?schema=NAME`). */
export const DEFAULT_SCHEMA = 'attestamp_hsm';

/**
 * How long a statement waits for a lock (the writers' advisory lock included) before it fails
 * with store-busy: the same 5 s as the SQLite store's busy_timeout.
 */
export const LOCK_TIMEOUT_MS = 5000;
/** A query without an answer for this long fails (the server or the network is gone). */
const QUERY_TIMEOUT_MS = 15_000;
/** The server ends a session idle inside a transaction for this long. */
const IDLE_IN_TX_TIMEOUT_MS = 30_000;

/** How long opening a connection may take before the store counts as unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Query parameters of a postgres:// URL whose values are secrets. */
const SECRET_PARAMS = ['password', 'sslpassword'];

export interface PostgresTarget {
  /** The schema holding the store: an unquoted identifier, never one of PostgreSQL's own. */
  readonly schema: string;
  /** The URL with its password and secret parameters removed, for messages. */
  readonly location: string;
  readonly config: pg.PoolConfig;
}

function isPostgresProtocol(url: URL): boolean {
  return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
}

/**
 * The URL without its password (nor the password or sslpassword parameters), for messages,
 * logs and the store's `location`. A string that is not a URL gives a fixed text, never itself.
 */
export function redactPostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'postgres://(malformed URL)';
  }
  if (!isPostgresProtocol(parsed)) return 'postgres://(not a postgres URL)';
  parsed.password = '';
  for (const name of SECRET_PARAMS) parsed.searchParams.delete(name);
  return parsed.toString();
}

/** An identifier usable unquoted, and not in PostgreSQL's reserved pg_ namespace. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Parses a postgres:// URL into the pool configuration of the store (invalid-argument else). */
export function postgresTarget(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL's own text (which may hold a password) stays out of the message and the cause.
    throw new HsmError('invalid-argument', 'the store location is not a valid postgres:// URL');
  }
  if (!isPostgresProtocol(parsed)) {
    throw new HsmError('invalid-argument', 'the store location is not a postgres:// URL');
  }
  const schema = parsed.searchParams.get('schema') ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new HsmError(
      'invalid-argument',
      'the schema of a postgres:// store must be a lowercase identifier (letters, digits, _)',
      { details: { schema: schema.slice(0, 64) } },
    );
  }
  const location = redactPostgresUrl(url);
  // pg lets the URL's own settings override the configuration object: take the parameters we
  // set out of it and merge them here, so that the session settings below always apply.
  const userOptions = parsed.searchParams.get('options') ?? '';
  parsed.searchParams.delete('options');
  parsed.searchParams.delete('schema');
  return {
    schema,
    location,
    config: {
      connectionString: parsed.toString(),
      // The store's sessions resolve names in pg_catalog only (every store object is written
      // schema-qualified), so that no function, operator or table planted in another schema
      // on the search path can stand in for a built-in one.
      // A session stuck inside a transaction (a node frozen mid-work) is ended by the server,
      // so that it cannot hold the writers' lock for ever.
      options:
        `${userOptions} -c search_path=pg_catalog,pg_temp -c idle_in_transaction_session_timeout=${IDLE_IN_TX_TIMEOUT_MS}`.trim(),
      lock_timeout: LOCK_TIMEOUT_MS,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      // A server or network that stops answering fails the query instead of hanging it (a
      // signer's recheck, /readyz): the node then refuses, as with no database.
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'attestamp',
      types: { getTypeParser },
    },
  };
}

/** bigint (int8) as a JS number, as SQLite's INTEGER reads; every other type as pg reads it. */
type TypeParserArgs = Parameters<typeof pg.types.getTypeParser>;
function getTypeParser(
  oid: TypeParserArgs[0],
  format?: TypeParserArgs[1],
): (value: string) => unknown {
  if (oid === pg.types.builtins.INT8 && format !== 'binary') return Number;
  return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
}

/** The SQLSTATE of a server error, or a Node error code (ECONNREFUSED...), or ''. */
export function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null || !('code' in error)) return '';
  return typeof error.code === 'string' ? error.code : '';
}

function isSqlState(code: string): boolean {
  return /^[0-9A-Z]{5}$/.test(code);
}

/**
 * The HsmError for a failure of the connection or of the server's resources (what a retry or
 * an operator fixes), undefined for an error of the statement itself (a constraint refused
 * it...), which is left as it is. Messages name `what`, never the URL's credentials.
 */
export function classifyPostgresError(
  cause: unknown,
  what = 'the device store',
): HsmError | undefined {
  if (cause instanceof HsmError) return cause;
  const code = errorCode(cause);
  const details = { postgres: code === '' ? undefined : code };
  const make = (c: ConstructorParameters<typeof HsmError>[0], message: string): HsmError =>
    new HsmError(c, message, { cause, details });
  if (!isSqlState(code)) {
    // Not a server error: the socket (ECONNREFUSED, ENOTFOUND, ECONNRESET...), TLS, a timeout,
    // or the connection ended under a query. pg's own errors carry no code.
    return make('store-unavailable', `${what} cannot be reached (PostgreSQL connection failed)`);
  }
  // Class 08, connection exception; 57P01-57P03, the server shutting down or starting.
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') {
    return make('store-unavailable', `${what} cannot be reached (PostgreSQL connection failed)`);
  }
  if (code === '3D000') return make('store-not-found', `${what}'s database does not exist`);
  // Class 28: invalid authorization (a wrong password, an unknown role, pg_hba refusing it).
  if (code.startsWith('28')) {
    return make('store-permission', `${what} refused the connection: authentication failed`);
  }
  if (code === '42501') return make('store-permission', `${what} refused: permission denied`);
  if (code === '25006') return make('store-permission', `${what} is read-only (a standby?)`);
  if (code === '53100') return make('store-no-space', `${what} has no space left`);
  // 40001 serialization failure, 40P01 deadlock, 55P03 lock timeout, 53300 too many connections.
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '53300') {
    return make('store-busy', `${what} is busy (another writer holds it); try again`);
  }
  if (code.startsWith('53') || code === '57014') {
    return make('store-unavailable', `${what} cannot serve the request now (server resources)`);
  }
  if (code === 'XX001' || code === 'XX002') {
    return make('store-corrupt', `${what} reports corrupted data`);
  }
  return undefined;
}

/** classifyPostgresError, falling back to store-unavailable: for errors met while opening. */
export function classifyOpenError(cause: unknown, what = 'the device store'): HsmError {
  return (
    classifyPostgresError(cause, what) ??
    new HsmError('store-unavailable', `${what} cannot be opened`, {
      cause,
      details: { postgres: errorCode(cause) || undefined },
    })
  );
}
