/**
 * The login logic shared by `-l mysql:` and `-l pgsql:` (upstream §3.1, §3.6), over a small driver
 * interface. Guarantees: a login outside the charset is "unknown" without touching the database;
 * a missing password, uid, gid or home is "unknown"; a wrong password, a uid/gid that is 0 or does
 * not resolve, or a relative home is "denied"; the database part is bounded by one deadline and a
 * database that cannot be reached becomes FtpError 421 (the session ends with it), never a hang
 * nor a crash. Passwords are never sent to the database and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { FtpError } from '../../errors.js';
import { isArgon2Hash, verifyPassword } from '../hashes/index.js';
import { directoryRecordResult } from '../passwd-line.js';
import { systemDb } from '../system-db.js';
import type { AuthResult, Authenticator, Credentials } from '../types.js';
import {
  KILOBYTE,
  MEGABYTE,
  bindValues,
  isValidSqlLogin,
  placeholderValues,
  positive,
  resolveId,
  type SqlDialect,
} from './sql-common.js';
import {
  loadSqlSettings,
  type ConfiguredQuery,
  type CryptMethod,
  type QueryName,
  type SqlSettings,
} from './sql-conf.js';

/** The database cannot be used at all (down, unreachable, refused our credentials, timed out). */
export class SqlUnavailableError extends Error {
  override readonly name = 'SqlUnavailableError';
}

/** Runs one query; undefined when its result is not exactly one row of one non-empty column. */
export type SqlQueryFn = (query: ConfiguredQuery, values: string[]) => Promise<string | undefined>;

/** A connection pool of one dialect. */
export interface SqlDriver {
  /** Runs `fn` on one connection (in one transaction when configured); throws SqlUnavailableError. */
  withSession<T>(fn: (query: SqlQueryFn) => Promise<T>): Promise<T>;
  /** Where the database is, for log lines (never the password). */
  readonly where: string;
  close(): Promise<void>;
}

/** Options of the SQL backends. */
export interface SqlBackendOptions {
  /** Receives operator messages (database down, failing queries); never sees passwords. */
  onWarning?: (message: string) => void;
  /** Bound of the whole database part of one login, in ms (default 8000). */
  deadlineMs?: number;
  /** Bound of connecting and of each query, in ms (default 5000). */
  timeoutMs?: number;
}

/** The text Pure-FTPd-compatible clients see when the database is unusable. */
const SQL_DOWN_TEXT = 'Temporary authentication failure, try again later';

/** While the database stays down, the same log line is repeated at most this often. */
const DOWN_LOG_INTERVAL_MS = 60_000;

/** The raw values read for one login, as strings. */
type Fetched = Partial<Record<QueryName, string>>;

/** Constant-time equality of two strings of any lengths. */
function sameText(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** MYSQLCrypt semantics (upstream §3.6): `any` tries argon2, scrypt and crypt, never cleartext. */
export async function checkSqlPassword(
  method: CryptMethod,
  password: string,
  stored: string,
): Promise<boolean> {
  switch (method) {
    case 'cleartext':
      return password !== '' && sameText(password, stored);
    case 'argon2':
      return isArgon2Hash(stored) && verifyPassword(password, stored);
    case 'scrypt':
      return stored.startsWith('$7$') && verifyPassword(password, stored);
    case 'crypt':
      return !isArgon2Hash(stored) && verifyPassword(password, stored);
    case 'any':
      return verifyPassword(password, stored);
  }
}

/** Authenticates against the queries of a MySQL/PostgreSQL configuration. */
class SqlAuthenticator implements Authenticator {
  private driver: SqlDriver | undefined;
  private readonly deadlineMs: number;
  private downSince: number | undefined;
  private lastDownLog = -Infinity;

  /** `createDriver` runs on the first login, so start-up never waits for the database. */
  constructor(
    readonly name: string,
    readonly settings: SqlSettings,
    private readonly createDriver: () => SqlDriver,
    private readonly opts: SqlBackendOptions = {},
  ) {
    this.deadlineMs = opts.deadlineMs ?? 8000;
    for (const w of settings.warnings) opts.onWarning?.(`${name}: ${w}`);
  }

  /** Upstream §3.6: password, uid, gid, dir (any missing ⇒ unknown), then the password check. */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    if (!isValidSqlLogin(login)) return { kind: 'unknown' };
    const values = await this.fetch(login, cred);
    const stored = values.GetPW;
    const uidText = this.settings.defaultUid ?? values.GetUID;
    const gidText = this.settings.defaultGid ?? values.GetGID;
    const home = values.GetDir;
    if (stored === undefined || uidText === undefined || gidText === undefined || home === undefined) {
      return { kind: 'unknown' };
    }
    if (!(await checkSqlPassword(this.settings.crypt, cred.password, stored))) {
      return { kind: 'denied', reason: 'bad password' };
    }
    const uid = await resolveId(uidText, async (name) => (await systemDb().userByName(name))?.uid);
    const gid = await resolveId(gidText, async (name) => (await systemDb().groupByName(name))?.gid);
    if (uid === undefined || gid === undefined) {
      return { kind: 'denied', reason: `uid/gid of ${login} is 0 (root) or not a known user/group` };
    }
    return directoryRecordResult(
      {
        login,
        uid,
        gid,
        home,
        quotaFiles: positive(values.GetQTAFS),
        quotaBytes: positive(values.GetQTASZ, MEGABYTE),
        ratioUp: positive(values.GetRatioUL),
        ratioDown: positive(values.GetRatioDL),
        bandwidthUp: positive(values.GetBandwidthUL, KILOBYTE),
        bandwidthDown: positive(values.GetBandwidthDL, KILOBYTE),
      },
      this.name,
    );
  }

  /** Runs every configured query in one session, under the deadline; throws FtpError 421. */
  private async fetch(login: string, cred: Credentials): Promise<Fetched> {
    const values = placeholderValues(login, cred);
    const queries = this.settings.queries;
    this.driver ??= this.createDriver();
    const work = this.driver.withSession(async (query) => {
      const fetched: Fetched = {};
      const run = async (name: QueryName): Promise<string | undefined> => {
        const q = queries[name];
        const bound = q === undefined ? undefined : bindValues(q, values);
        if (q !== undefined && bound === undefined) {
          this.opts.onWarning?.(
            `${this.name}: ${q.keyword} for ${login}: query longer than 8192 bytes, not run`,
          );
        }
        return q === undefined || bound === undefined ? undefined : query(q, bound);
      };
      // Order of Pure-FTPd: a missing value stops before the next query is run.
      fetched.GetPW = await run('GetPW');
      if (fetched.GetPW === undefined) return fetched;
      if (this.settings.defaultUid === undefined && (fetched.GetUID = await run('GetUID')) === undefined) {
        return fetched;
      }
      if (this.settings.defaultGid === undefined && (fetched.GetGID = await run('GetGID')) === undefined) {
        return fetched;
      }
      if ((fetched.GetDir = await run('GetDir')) === undefined) return fetched;
      for (const name of [
        'GetQTAFS',
        'GetQTASZ',
        'GetRatioUL',
        'GetRatioDL',
        'GetBandwidthUL',
        'GetBandwidthDL',
      ] as const) {
        fetched[name] = await run(name);
      }
      return fetched;
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SqlUnavailableError(`no answer within ${this.deadlineMs} ms`)),
        this.deadlineMs,
      );
    });
    try {
      const fetched = await Promise.race([work, deadline]);
      this.markUp();
      return fetched;
    } catch (err) {
      work.catch(() => undefined); // the abandoned work still ends (every step is bounded)
      if (!(err instanceof SqlUnavailableError)) throw err;
      this.markDown(err.message);
      throw new FtpError('ERR_UNAVAILABLE', SQL_DOWN_TEXT, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs the outage once, then at most once a minute (Pure-FTPd logs MSG_SQL_DOWN once). */
  private markDown(reason: string): void {
    const now = Date.now();
    this.downSince ??= now;
    if (now - this.lastDownLog < DOWN_LOG_INTERVAL_MS) return;
    this.lastDownLog = now;
    this.opts.onWarning?.(
      `${this.name}: the database at ${this.driver?.where} is unavailable (${reason}); ` +
        'logins through this backend get 421 until it is back',
    );
  }

  private markUp(): void {
    if (this.downSince === undefined) return;
    this.downSince = undefined;
    this.lastDownLog = -Infinity;
    this.opts.onWarning?.(`${this.name}: the database at ${this.driver?.where} is reachable again`);
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.driver?.close();
  }
}

/** A dialect's pool over `settings`, with every network step bounded by `timeoutMs`. */
export type SqlDriverClass = new (
  settings: SqlSettings,
  timeoutMs: number,
  onWarning?: (message: string) => void,
) => SqlDriver;

/** Builds a `-l mysql:FILE` or `-l pgsql:FILE` backend; throws SqlConfigError (file:line) on a bad file. */
export function createSqlAuthenticator(
  dialect: SqlDialect,
  file: string,
  Driver: SqlDriverClass,
  opts: SqlBackendOptions = {},
): Authenticator {
  const settings = loadSqlSettings(file, dialect);
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new SqlAuthenticator(dialect, settings, () => new Driver(settings, timeoutMs, opts.onWarning), opts);
}
