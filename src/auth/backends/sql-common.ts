/**
 * What the MySQL and PostgreSQL backends share (upstream §3.6): the placeholders `\L \I \P \R \D`,
 * the login charset, the size cap and the units. Security: Pure-FTPd escapes the values into the
 * query text; tsftpd never does. Each query template is rewritten once, at start-up, into a
 * parameterised statement (`?` for MySQL, `$n` for PostgreSQL) and the values travel as bound
 * parameters, so no login, address or port can change the statement, whatever its bytes.
 */
import { parseIp } from '../cidr.js';
import type { Credentials } from '../types.js';

/** The two SQL dialects. */
export type SqlDialect = 'mysql' | 'pgsql';

/** `\L` login, `\I` local IP, `\P` local port, `\R` remote IP, `\D` remote IPv4 as a number. */
export type Placeholder = 'L' | 'I' | 'P' | 'R' | 'D';

/** A query template rewritten for binding. */
export interface CompiledQuery {
  /** The template as written in the configuration file. */
  template: string;
  /** The statement sent to the server, with one parameter marker per placeholder occurrence. */
  sql: string;
  /** Which value each marker takes, in order. */
  params: Placeholder[];
  /** Bytes of the template without its placeholders, for the 8192-byte cap. */
  fixedBytes: number;
}

/** Pure-FTPd's query buffer (MYSQL_MAX_REQUEST_LENGTH): a longer substituted query is not run. */
export const MAX_QUERY_BYTES = 8192;

const PLACEHOLDERS = new Set(['l', 'i', 'p', 'r', 'd']);

/** One piece of a string literal: raw text as written, or a placeholder. */
type Part = { raw: string } | { ph: Placeholder };

/**
 * Rewrites `\L`-style placeholders into bound parameters. A placeholder alone in a literal
 * (`'\L'`) becomes a bare marker, so the database types it from its context as it would the
 * literal; a literal mixing text and placeholders (`'\L@%'`) becomes a concatenation. Control
 * characters are dropped and other `\x` pairs kept, as sqlsubst() does. Throws on templates whose
 * placeholders cannot be bound (inside a quoted identifier or a prefixed literal such as E'...').
 */
export function compileQuery(template: string, dialect: SqlDialect): CompiledQuery {
  const src = [...template].filter((c) => c >= ' ' && c !== '\x7f').join('');
  const params: Placeholder[] = [];
  const marker = (p: Placeholder): string => {
    params.push(p);
    return dialect === 'mysql' ? '?' : `$${params.length}`;
  };
  const isPlaceholderAt = (i: number): boolean =>
    src[i] === '\\' && i + 1 < src.length && PLACEHOLDERS.has(src[i + 1].toLowerCase());
  let out = '';
  let placeholderCount = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (isPlaceholderAt(i)) {
      out += marker(src[i + 1].toUpperCase() as Placeholder);
      placeholderCount++;
      i += 2;
    } else if (c === '\\') {
      out += src.slice(i, i + 2);
      i += 2;
    } else if (c === "'" || (c === '"' && dialect === 'mysql')) {
      const { parts, end } = readLiteral(src, i, dialect, isPlaceholderAt);
      const phs = parts.filter((p): p is { ph: Placeholder } => 'ph' in p);
      if (phs.length === 0) {
        out += src.slice(i, end);
      } else {
        if (i > 0 && /[A-Za-z0-9_]/.test(src[i - 1])) {
          throw new Error("a placeholder inside a prefixed string literal (such as E'...') cannot be bound");
        }
        out += literalExpression(parts, c, dialect, marker);
        placeholderCount += phs.length;
      }
      i = end;
    } else if (c === '`' || c === '"') {
      const close = src.indexOf(c, i + 1);
      const end = close === -1 ? src.length : close + 1;
      if (/\\[lipdr]/i.test(src.slice(i, end))) {
        throw new Error('a placeholder inside a quoted identifier cannot be bound');
      }
      out += src.slice(i, end);
      i = end;
    } else if (src.startsWith('/*', i) || src.startsWith('--', i) || (c === '#' && dialect === 'mysql')) {
      // Comments are sent as written; a placeholder in one stays text, which changes nothing.
      const close = src.startsWith('/*', i) ? src.indexOf('*/', i + 2) : -1;
      const end = src.startsWith('/*', i) ? (close === -1 ? src.length : close + 2) : src.length;
      out += src.slice(i, end);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return { template, sql: out, params, fixedBytes: Buffer.byteLength(src) - 2 * placeholderCount };
}

/** Reads the literal opening at `start`; returns its parts and the index after the closing quote. */
function readLiteral(
  src: string,
  start: number,
  dialect: SqlDialect,
  isPlaceholderAt: (i: number) => boolean,
): { parts: Part[]; end: number } {
  const quote = src[start];
  const parts: Part[] = [];
  let raw = '';
  let i = start + 1;
  while (i < src.length) {
    if (isPlaceholderAt(i)) {
      if (raw !== '') parts.push({ raw });
      raw = '';
      parts.push({ ph: src[i + 1].toUpperCase() as Placeholder });
      i += 2;
    } else if (src[i] === '\\' && dialect === 'mysql' && i + 1 < src.length) {
      raw += src.slice(i, i + 2); // MySQL backslash escape: `\'` does not close the literal
      i += 2;
    } else if (src[i] === quote && src[i + 1] === quote) {
      raw += quote + quote;
      i += 2;
    } else if (src[i] === quote) {
      if (raw !== '') parts.push({ raw });
      return { parts, end: i + 1 };
    } else {
      raw += src[i++];
    }
  }
  throw new Error(`unterminated string literal starting with ${quote}`);
}

/** The SQL expression standing for a literal that holds placeholders. */
function literalExpression(
  parts: Part[],
  quote: string,
  dialect: SqlDialect,
  marker: (p: Placeholder) => string,
): string {
  if (parts.length === 1 && 'ph' in parts[0]) return marker(parts[0].ph);
  const items = parts.map((p) =>
    'raw' in p ? `${quote}${p.raw}${quote}` : dialect === 'mysql' ? marker(p.ph) : `${marker(p.ph)}::text`,
  );
  return dialect === 'mysql' ? `CONCAT(${items.join(', ')})` : `(${items.join(' || ')})`;
}

/** The values of the placeholders for one login attempt. */
export type PlaceholderValues = Record<Placeholder, string>;

/** `\D`: the remote IPv4 address as an unsigned decimal; empty for IPv6 (upstream §3.6). */
export function decimalIPv4(ip: string): string {
  const bytes = parseIp(ip);
  if (bytes === undefined || bytes.length !== 4) return '';
  return String(((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3]);
}

/** Placeholder values of a login attempt. */
export function placeholderValues(login: string, cred: Credentials): PlaceholderValues {
  return {
    L: login,
    I: cred.localIp,
    P: String(cred.localPort),
    R: cred.remoteIp,
    D: decimalIPv4(cred.remoteIp),
  };
}

/** The bound values of a compiled query, or undefined when the substituted query would exceed the cap. */
export function bindValues(q: CompiledQuery, values: PlaceholderValues): string[] | undefined {
  const bound = q.params.map((p) => values[p]);
  const size = q.fixedBytes + bound.reduce((n, v) => n + Buffer.byteLength(v), 0);
  return size >= MAX_QUERY_BYTES ? undefined : bound;
}

/** Pure-FTPd's pw_mysql_validate_name(): only these characters, else the account is "not found". */
export function isValidSqlLogin(login: string): boolean {
  return /^[A-Za-z0-9 _'.:@+-]+$/.test(login) && login.length <= 255;
}

/** strtoull(3) of a stored value: leading digits, 0 when there are none or the value is negative. */
export function leadingNumber(value: string | undefined): number {
  const m = value === undefined ? null : /^\s*\+?(\d+)/.exec(value);
  if (m === null) return 0;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
}

/** A positive count, or undefined (optional values apply only when > 0, upstream §3.6). */
export function positive(value: string | undefined, unit = 1): number | undefined {
  const n = leadingNumber(value);
  return n > 0 ? Math.min(n * unit, Number.MAX_SAFE_INTEGER) : undefined;
}

/** MYSQLGetQTASZ is in megabytes (upstream §3.6). */
export const MEGABYTE = 1024 * 1024;
/** MYSQLGetBandwidthUL/DL are in kilobytes per second (upstream §3.6). */
export const KILOBYTE = 1024;

/**
 * A stored uid/gid: digits are the id (strtoul), anything else (or 0) is a name given to `idOfName`
 * (getpwnam/getgrnam), as Pure-FTPd does. Undefined when it resolves to nothing or to 0 (root is
 * refused, upstream §3.1).
 */
export async function resolveId(
  value: string,
  idOfName: (name: string) => Promise<number | undefined>,
): Promise<number | undefined> {
  const m = /^\s*\+?(\d+)/.exec(value);
  const n = m === null ? 0 : Number(m[1]);
  if (n > 0) return n <= 0xffffffff ? n : undefined;
  const id = await idOfName(value.trim());
  return id !== undefined && id > 0 ? id : undefined;
}

/** The text of a result cell (upstream §3.6): undefined for NULL or empty; bytes as UTF-8, dates ISO 8601. */
export function cellText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const text = Buffer.isBuffer(v) ? v.toString('utf8') : v instanceof Date ? v.toISOString() : String(v);
  return text === '' ? undefined : text;
}

/** A driver error for logs: its code and message (never a password: none is ever in a query). */
export function describeSqlError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  return `${code}${typeof e.message === 'string' && e.message !== '' ? e.message : String(err)}`;
}
