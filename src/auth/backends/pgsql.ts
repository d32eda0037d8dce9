/**
 * `-l pgsql:/path/pgsql.conf` (upstream §3.6): virtual users in a PostgreSQL database. Security: the
 * placeholders travel as `$n` parameters of the extended query protocol, never inside the SQL
 * text; the queries of one login run in one BEGIN…COMMIT, as Pure-FTPd does; connecting, waiting
 * for a pooled client and every query are bounded, and a client that failed is destroyed.
 */
import pg from 'pg';
import type { Authenticator } from '../types.js';
import {
  SqlUnavailableError,
  createSqlAuthenticator,
  type SqlBackendOptions,
  type SqlDriver,
  type SqlQueryFn,
} from './sql-auth.js';
import { cellText, describeSqlError } from './sql-common.js';
import type { SqlSettings } from './sql-conf.js';

/**
 * SQLSTATE classes meaning "the database is unusable" rather than "this query is wrong":
 * 08 connection exception, 28 invalid authorization, 3D invalid catalog, 53 insufficient
 * resources, 57 operator intervention (shutdown, statement_timeout), 58 system error.
 */
const UNAVAILABLE_CLASSES = new Set(['08', '28', '3D', '53', '57', '58']);

/** True for failures of the connection itself (node errors carry no 5-character SQLSTATE). */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return UNAVAILABLE_CLASSES.has(code.slice(0, 2));
}

/** The value of a one-row, one-column result (upstream §3.6); undefined otherwise or when NULL/empty. */
function singleValue(result: pg.QueryResult<unknown[]>): string | undefined {
  if (result.fields.length !== 1 || result.rows.length !== 1) return undefined;
  return cellText(result.rows[0][0]);
}

/** A node-postgres pool used by the SQL authenticator. */
class PgsqlDriver implements SqlDriver {
  /** host:port, for log lines. */
  readonly where: string;
  private readonly pool: pg.Pool;

  constructor(
    private readonly settings: SqlSettings,
    timeoutMs: number,
    private readonly onWarning?: (message: string) => void,
  ) {
    this.where = `${settings.server}:${settings.port}`;
    this.pool = new pg.Pool({
      host: settings.server,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      // Bounds the TCP/TLS handshake and the wait for a free pooled client alike.
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      max: 8,
      idleTimeoutMillis: 60_000,
      allowExitOnIdle: true,
    });
    // An idle client whose server went away emits 'error' on the pool; unhandled, it would crash us.
    this.pool.on('error', (err) =>
      this.onWarning?.(`pgsql: idle connection to ${this.where} lost: ${describeSqlError(err)}`),
    );
  }

  /** One pooled client, the queries in BEGIN…COMMIT (upstream §3.6: PostgreSQL always uses a transaction). */
  async withSession<T>(fn: (query: SqlQueryFn) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new SqlUnavailableError(describeSqlError(err), { cause: err });
    }
    // Without this, an error on a checked-out client (server killed mid-query) is unhandled.
    const onError = (err: Error): void =>
      this.onWarning?.(`pgsql: connection to ${this.where} lost: ${describeSqlError(err)}`);
    client.on('error', onError);
    let broken = false;
    let aborted = false;
    const run = async (text: string, values: string[] = []): Promise<pg.QueryResult<unknown[]>> => {
      try {
        return await client.query<unknown[]>({ text, values, rowMode: 'array' });
      } catch (err) {
        if (isConnectionError(err)) {
          broken = true;
          throw new SqlUnavailableError(describeSqlError(err), { cause: err });
        }
        throw err;
      }
    };
    const query: SqlQueryFn = async (q, values) => {
      // After a failed statement the transaction only answers 25P02: the later values are missing.
      if (aborted) return undefined;
      try {
        return singleValue(await run(q.sql, values));
      } catch (err) {
        if (err instanceof SqlUnavailableError) throw err;
        aborted = true;
        this.onWarning?.(
          `pgsql: ${q.keyword} (${this.settings.file}:${q.line}) failed: ${describeSqlError(err)}`,
        );
        return undefined;
      }
    };
    try {
      await run('BEGIN');
      const result = await fn(query);
      await run(aborted ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.off('error', onError);
      // release(true) destroys the client: one in an unknown state is never handed out again.
      client.release(broken ? true : undefined);
    }
  }

  /** Ends the pool. */
  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** Builds the `-l pgsql:FILE` backend; throws SqlConfigError (file:line) on a bad configuration. */
export function createPgsqlAuthenticator(file: string, opts: SqlBackendOptions = {}): Authenticator {
  return createSqlAuthenticator('pgsql', file, PgsqlDriver, opts);
}
