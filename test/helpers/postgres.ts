// The PostgreSQL server of the store tests (test/global-setup.ts provides it): its URL, a
// skip-or-fail rule like the interop clients', and a fresh database per test.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { POSTGRES_URL_VARIABLE } from './postgres-cluster.js';
import { requireAvailable } from './tools.js';

export { POSTGRES_URL_VARIABLE };

/** The URL of a server whose superuser the tests may use; undefined when there is none. */
export function postgresUrl(): string | undefined {
  const url = process.env[POSTGRES_URL_VARIABLE] ?? '';
  return url === '' || url === 'off' ? undefined : url;
}

/**
 * True when the PostgreSQL tests must be skipped (for `describe.skipIf`); with CI=true a
 * missing server also registers a failing test, so the run cannot pass without it.
 */
export function requirePostgres(): boolean {
  return requireAvailable(
    'PostgreSQL',
    postgresUrl() === undefined ? `a server (${POSTGRES_URL_VARIABLE})` : undefined,
  );
}

function serverUrl(): string {
  const url = postgresUrl();
  if (url === undefined) throw new Error(`no PostgreSQL server: ${POSTGRES_URL_VARIABLE} is unset`);
  return url;
}

/** Runs statements on the database at `url` on a connection of its own (test-side SQL). */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export interface FreshDatabase {
  /** The new database's URL (the server's credentials, another database name). */
  readonly url: string;
  readonly name: string;
  /** Drops it, closing whatever connections are left. */
  drop(): Promise<void>;
}

/**
 * A new, uniquely named database. Its default collation is ICU's en-US where the server has
 * ICU, so that a query that relies on the database's collation orders differently from SQLite.
 */
export async function freshDatabase(): Promise<FreshDatabase> {
  const server = serverUrl();
  const name = `attestamp_test_${randomBytes(8).toString('hex')}`;
  try {
    await sql(
      server,
      `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`,
    );
  } catch {
    await sql(server, `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await sql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
