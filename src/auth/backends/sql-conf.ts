/**
 * The MySQL / PostgreSQL configuration files of `-l mysql:FILE` and `-l pgsql:FILE` (upstream §3.6),
 * read with Pure-FTPd's generic_parser (pure-conf.ts): `Keyword value` per line, keyword matched
 * case-insensitively as a prefix of the line, `#` comment lines, later lines override earlier
 * ones. Guarantees: an unknown keyword, a keyword without value, a query that cannot be bound or a
 * missing mandatory key aborts start-up with one message naming the file and the line; every query
 * is compiled once into a parameterised statement (sql-common.ts), never filled in with text.
 */
import { readFileSync } from 'node:fs';
import { parseKeywordFile, type KeywordLineProblem, type KeywordValue } from './pure-conf.js';
import { compileQuery, type CompiledQuery, type SqlDialect } from './sql-common.js';

/** MYSQLCrypt / PGSQLCrypt values (upstream §3.6); anything else means cleartext, as in Pure-FTPd. */
export type CryptMethod = 'argon2' | 'scrypt' | 'crypt' | 'any' | 'cleartext';

/** The queries a configuration may define, by their keyword suffix. */
export type QueryName =
  | 'GetPW'
  | 'GetUID'
  | 'GetGID'
  | 'GetDir'
  | 'GetQTAFS'
  | 'GetQTASZ'
  | 'GetRatioUL'
  | 'GetRatioDL'
  | 'GetBandwidthUL'
  | 'GetBandwidthDL';

/** A compiled query with where it was configured, for messages. */
export type ConfiguredQuery = CompiledQuery & { keyword: string; line: number };

/** A validated SQL backend configuration. */
export interface SqlSettings {
  dialect: SqlDialect;
  /** The configuration file, for messages. */
  file: string;
  /** Host name, address, or (PostgreSQL) a socket directory. */
  server?: string;
  port: number;
  /** MySQL UNIX socket, used when no server is set or the server is `localhost` (libmysqlclient). */
  socket?: string;
  user?: string;
  password?: string;
  database?: string;
  crypt: CryptMethod;
  /** MYSQLTransactions On; PostgreSQL always runs its queries in one transaction. */
  transactions: boolean;
  /** MYSQLForceTildeExpansion: carried for `~user` expansion; not used by the session yet. */
  forceTildeExpansion: boolean;
  /** MYSQLDefaultUID / MYSQLDefaultGID: used instead of the GetUID / GetGID queries. */
  defaultUid?: string;
  defaultGid?: string;
  queries: Partial<Record<QueryName, ConfiguredQuery>>;
  /** Non-fatal remarks for the operator (an unknown crypt method...). */
  warnings: string[];
}

/** A configuration file that Pure-FTPd would refuse ("Invalid SQL configuration file"). */
export class SqlConfigError extends Error {
  override readonly name = 'SqlConfigError';
}

/** Keyword suffixes in Pure-FTPd's table order (log_mysql_p.h, log_pgsql_p.h): the first prefix wins. */
const MYSQL_KEYS = [
  'Server', 'Port', 'Socket', 'User', 'Password', 'Database', 'Crypt', 'Transactions', 'GetPW', 'GetUID',
  'DefaultUID', 'GetGID', 'DefaultGID', 'GetDir', 'ForceTildeExpansion', 'GetQTAFS', 'GetQTASZ',
  'GetRatioUL', 'GetRatioDL', 'GetBandwidthUL', 'GetBandwidthDL',
] as const; // prettier-ignore
/** PostgreSQL has no Socket, Transactions nor ForceTildeExpansion keys (upstream §3.6). */
const PGSQL_KEYS = MYSQL_KEYS.filter(
  (k) => k !== 'Socket' && k !== 'Transactions' && k !== 'ForceTildeExpansion',
);

const QUERY_NAMES: readonly QueryName[] = [
  'GetPW', 'GetUID', 'GetGID', 'GetDir', 'GetQTAFS', 'GetQTASZ', 'GetRatioUL', 'GetRatioDL',
  'GetBandwidthUL', 'GetBandwidthDL',
]; // prettier-ignore

/** How the SQL backends word a refused line (Pure-FTPd's "Invalid SQL configuration file"). */
function sqlLineError(where: string, problem: KeywordLineProblem): SqlConfigError {
  const what =
    problem.kind === 'unknown-keyword'
      ? `unknown keyword "${problem.word}"`
      : problem.kind === 'no-value'
        ? `${problem.keyword} has no value`
        : 'line too long';
  return new SqlConfigError(`${where}: ${what} (Invalid SQL configuration file)`);
}

/** The keywords of a SQL file (generic_parser, pure-conf.ts); throws SqlConfigError. */
export function parseSqlKeywords(
  text: string,
  file: string,
  keywords: readonly string[],
): Map<string, KeywordValue> {
  return parseKeywordFile(text, file, { keywords, refuse: sqlLineError });
}

/** atoi(3): leading blanks, optional sign, digits; 0 when there are none. */
export function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/** The crypt method named by MYSQLCrypt/PGSQLCrypt (strcasecmp); unknown names fall back to cleartext. */
function cryptMethod(value: string | undefined): { method: CryptMethod; known: boolean } {
  const v = (value ?? 'cleartext').toLowerCase();
  const known = v === 'argon2' || v === 'scrypt' || v === 'crypt' || v === 'any' || v === 'cleartext';
  return { method: known ? v : 'cleartext', known };
}

/** Builds the settings of one dialect from the file's text (exported for the unit tests). */
export function parseSqlSettings(text: string, file: string, dialect: SqlDialect): SqlSettings {
  const prefix = dialect === 'mysql' ? 'MYSQL' : 'PGSQL';
  const names = (dialect === 'mysql' ? MYSQL_KEYS : PGSQL_KEYS).map((k) => prefix + k);
  const conf = parseSqlKeywords(text, file, names);
  const get = (key: string): KeywordValue | undefined => conf.get(prefix + key);
  const warnings: string[] = [];
  const defaultPort = dialect === 'mysql' ? 3306 : 5432;
  const portValue = get('Port');
  let port = portValue === undefined ? defaultPort : atoi(portValue.value);
  // Pure-FTPd silently uses the default for an out-of-range port; we say so.
  if (port <= 0 || port > 65535) {
    warnings.push(`${file}:${portValue?.line}: invalid port "${portValue?.value}", using ${defaultPort}`);
    port = defaultPort;
  }
  const crypt = cryptMethod(get('Crypt')?.value);
  if (!crypt.known) {
    const entry = get('Crypt')!;
    warnings.push(
      `${file}:${entry.line}: ${prefix}Crypt "${entry.value}" is not argon2, scrypt, crypt, any or ` +
        'cleartext: passwords are compared as cleartext, as Pure-FTPd does',
    );
  }
  const settings: SqlSettings = {
    dialect,
    file,
    server: get('Server')?.value,
    port,
    socket: get('Socket')?.value,
    user: get('User')?.value,
    password: get('Password')?.value,
    database: get('Database')?.value,
    crypt: crypt.method,
    transactions: dialect === 'pgsql' || get('Transactions')?.value.toLowerCase() === 'on',
    forceTildeExpansion: atoi(get('ForceTildeExpansion')?.value ?? '0') > 0,
    defaultUid: get('DefaultUID')?.value,
    defaultGid: get('DefaultGID')?.value,
    queries: {},
    warnings,
  };
  for (const name of QUERY_NAMES) {
    const entry = get(name);
    if (entry === undefined) continue;
    try {
      settings.queries[name] = {
        ...compileQuery(entry.value, dialect),
        keyword: prefix + name,
        line: entry.line,
      };
    } catch (err) {
      throw new SqlConfigError(`${file}:${entry.line}: ${prefix}${name}: ${(err as Error).message}`);
    }
  }
  // Pure-FTPd starts without these and then refuses every login; failing now is kinder.
  if (dialect === 'mysql' && settings.server === undefined && settings.socket === undefined) {
    throw new SqlConfigError(`${file}: MYSQLServer or MYSQLSocket is required`);
  }
  if (dialect === 'pgsql' && settings.server === undefined) {
    throw new SqlConfigError(`${file}: PGSQLServer is required`);
  }
  const required: [QueryName, string | undefined][] = [
    ['GetPW', undefined],
    ['GetUID', settings.defaultUid],
    ['GetGID', settings.defaultGid],
    ['GetDir', undefined],
  ];
  for (const [name, fallback] of required) {
    if (settings.queries[name] === undefined && fallback === undefined) {
      const alt =
        name === 'GetUID' ? ` or ${prefix}DefaultUID` : name === 'GetGID' ? ` or ${prefix}DefaultGID` : '';
      throw new SqlConfigError(`${file}: ${prefix}${name}${alt} is required`);
    }
  }
  return settings;
}

/**
 * Reads and validates a configuration file. Synchronous on purpose: it runs once while the
 * server starts (buildAuthChain), where a bad file must stop the start-up with its message.
 */
export function loadSqlSettings(file: string, dialect: SqlDialect): SqlSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new SqlConfigError(`${file}: cannot read the ${dialect} configuration file (${code})`);
  }
  return parseSqlSettings(text, file, dialect);
}
