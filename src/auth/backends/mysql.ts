/**
 * `-l mysql:/path/mysql.conf` (upstream §3.6): virtual users in a MySQL/MariaDB database. Security:
 * queries run as server-side prepared statements (`execute`, binary protocol) with the
 * placeholders bound, never formatted into the text; connecting and every query are bounded by
 * timeouts and a connection that failed or timed out is destroyed, never reused.
 */
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection } from 'mysql2/promise';
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

/** libmysqlclient's default socket, used for `MYSQLServer localhost` without MYSQLSocket. */
const DEFAULT_SOCKET = '/run/mysqld/mysqld.sock';

/** Connection-level failures: the database is unusable, not the query wrong. */
function isConnectionError(err: unknown): boolean {
  const e = err as { fatal?: unknown; code?: unknown };
  return e.fatal === true || e.code === 'PROTOCOL_SEQUENCE_TIMEOUT' || e.code === 'ER_SERVER_SHUTDOWN';
}

/** A mysql2 pool used by the SQL authenticator. */
class MysqlDriver implements SqlDriver {
  /** host:port or the socket path. */
  readonly where: string;
  private readonly pool: Pool;

  constructor(
    private readonly settings: SqlSettings,
    private readonly timeoutMs: number,
    private readonly onWarning?: (message: string) => void,
  ) {
    // libmysqlclient connects through the UNIX socket when the host is "localhost" or unset.
    const useSocket = settings.server === undefined || settings.server === 'localhost';
    const socketPath = useSocket ? (settings.socket ?? DEFAULT_SOCKET) : undefined;
    this.where = socketPath ?? `${settings.server}:${settings.port}`;
    this.pool = mysql.createPool({
      host: useSocket ? undefined : settings.server,
      port: settings.port,
      socketPath,
      user: settings.user,
      password: settings.password,
      database: settings.database,
      connectTimeout: timeoutMs,
      connectionLimit: 8,
      maxIdle: 2,
      idleTimeout: 60_000,
      queueLimit: 256,
      enableKeepAlive: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
    // An idle pooled connection that dies emits 'error'; without a listener it would crash us.
    // (The core pool hands out the callback-style connection, which is the EventEmitter.)
    this.pool.pool.on('connection', (conn) => {
      conn.on('error', (err: unknown) =>
        this.warn(`connection to ${this.where} lost: ${describeSqlError(err)}`),
      );
    });
  }

  /** One pooled connection; MYSQLTransactions On wraps the queries in a transaction. */
  async withSession<T>(fn: (query: SqlQueryFn) => Promise<T>): Promise<T> {
    let conn: PoolConnection;
    try {
      conn = await this.pool.getConnection();
    } catch (err) {
      throw new SqlUnavailableError(describeSqlError(err), { cause: err });
    }
    let broken = false;
    const guard = async <R>(op: () => Promise<R>): Promise<R> => {
      try {
        return await op();
      } catch (err) {
        broken = true;
        throw new SqlUnavailableError(describeSqlError(err), { cause: err });
      }
    };
    const query: SqlQueryFn = async (q, values) => {
      let rows: unknown;
      try {
        [rows] = await conn.execute({ sql: q.sql, timeout: this.timeoutMs, rowsAsArray: true }, values);
      } catch (err) {
        if (isConnectionError(err)) {
          broken = true;
          throw new SqlUnavailableError(describeSqlError(err), { cause: err });
        }
        this.warn(`${q.keyword} (${this.settings.file}:${q.line}) failed: ${describeSqlError(err)}`);
        return undefined;
      }
      return singleValue(rows);
    };
    try {
      if (this.settings.transactions)
        await guard(() => conn.query({ sql: 'START TRANSACTION', timeout: this.timeoutMs }));
      const result = await fn(query);
      if (this.settings.transactions)
        await guard(() => conn.query({ sql: 'COMMIT', timeout: this.timeoutMs }));
      return result;
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      // A connection in an unknown state (timeout, open transaction) is dropped, never reused.
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  private warn(message: string): void {
    this.onWarning?.(`mysql: ${message}`);
  }

  /** Ends the pool (bounded: idle connections close at once). */
  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** The value of a one-row, one-column result (upstream §3.6); undefined otherwise or when NULL/empty. */
function singleValue(rows: unknown): string | undefined {
  if (!Array.isArray(rows) || rows.length !== 1) return undefined;
  const row: unknown = rows[0];
  if (!Array.isArray(row) || row.length !== 1) return undefined;
  return cellText(row[0]);
}

/** Builds the `-l mysql:FILE` backend; throws SqlConfigError (file:line) on a bad configuration. */
export function createMysqlAuthenticator(file: string, opts: SqlBackendOptions = {}): Authenticator {
  return createSqlAuthenticator('mysql', file, MysqlDriver, opts);
}
