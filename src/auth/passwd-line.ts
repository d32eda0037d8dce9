/**
 * One `pureftpd.passwd` line (upstream §3.2): 18 `:`-separated fields, written exactly as pure-pw writes
 * them, read as pure-pw and the puredb backend read them. Guarantees: formatting never lets a field
 * inject a separator or a new line (a new account); parsing never throws.
 */
import { parseCidrList, unmatchableCidr } from './cidr.js';
import type { Account, AuthResult, Cidr } from './types.js';

/** The fields of one line; optional numeric/text fields are undefined when the field is empty. */
export interface PasswdRecord {
  login: string;
  hash: string;
  uid: number;
  gid: number;
  gecos: string;
  /** As stored: may end in `/./` (chroot) and carry a start directory after it. */
  home: string;
  /** Bytes per second. */
  bandwidthUp?: number;
  bandwidthDown?: number;
  ratioUp?: number;
  ratioDown?: number;
  maxSessions?: number;
  quotaFiles?: number;
  quotaBytes?: number;
  allowLocal?: string;
  denyLocal?: string;
  allowClient?: string;
  denyClient?: string;
  /** `HHMM-HHMM` as stored (pure-pw writes it without leading zeros: `900-1800`). */
  timeWindow?: string;
}

/** Longest login: Pure-FTPd cuts a USER name to 127 bytes (upstream §2.3); `:` and controls cannot be stored. */
export const MAX_LOGIN_BYTES = 127;

/** True for C0 controls and DEL (never valid in a login or a stored hash). */
export function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** True when `login` could be a key of the passwd file / PureDB (else the backend says "unknown"). */
export function isAcceptableLogin(login: string): boolean {
  return (
    login.length > 0 &&
    Buffer.byteLength(login, 'utf8') <= MAX_LOGIN_BYTES &&
    !login.includes(':') &&
    !hasControlChar(login)
  );
}

/** strtoul(3)-like: leading decimal digits, 0 when there are none (how Pure-FTPd reads these fields). */
function lenientNumber(field: string | undefined): number | undefined {
  if (field === undefined || field === '') return undefined;
  const m = /^\s*\+?(\d+)/.exec(field);
  return m === null ? 0 : Number(m[1]);
}

/** Index of the first IP-list field (allow_local_ip, upstream §3.2). */
const FIRST_IP_FIELD = 13;
/** Index of the field after the IP lists (time_window). */
const AFTER_IP_FIELDS = 17;

/**
 * Splits a passwd line into its `:`-separated fields. In the four IP-list fields a `:` inside
 * square brackets belongs to an IPv6 entry (`[2001:db8::]/32`): a tsftpd extension, since a bare
 * IPv6 address cannot be stored there (Pure-FTPd matches no IPv6 address at all, upstream §4.2).
 */
export function splitPasswdFields(line: string): string[] {
  const raw = line.split(':');
  if (raw.length <= FIRST_IP_FIELD + 1 || !line.includes('[')) return raw;
  const out = raw.slice(0, FIRST_IP_FIELD);
  let open = false;
  for (const piece of raw.slice(FIRST_IP_FIELD)) {
    if (open) out[out.length - 1] += `:${piece}`;
    else out.push(piece);
    const field = out[out.length - 1];
    open = out.length <= AFTER_IP_FIELDS && field.lastIndexOf('[') > field.lastIndexOf(']');
  }
  return out;
}

/** True when every `:` of an IP-list value is inside square brackets (see splitPasswdFields). */
export function isStorableIpList(value: string): boolean {
  return !/[[\]:]/.test(value.replace(/\[[^[\]]*\]/g, ''));
}

/** Parses one line (without its end of line); undefined when login..home are not all valid. */
export function parsePasswdLine(line: string): PasswdRecord | undefined {
  const cut = line.search(/[\r\n]/);
  const f = splitPasswdFields(cut === -1 ? line : line.slice(0, cut));
  const [login, hash, uid, gid, gecos, home] = f;
  // The server requires plain decimal ids and an absolute home (log_puredb.c); 0 is refused later.
  if (f.length < 6 || login === '' || hash === '' || !/^\d{1,10}$/.test(uid) || !/^\d{1,10}$/.test(gid)) {
    return undefined;
  }
  if (!home.startsWith('/') || Number(uid) > 0xffffffff || Number(gid) > 0xffffffff) return undefined;
  const text = (i: number): string | undefined => (f[i] === undefined || f[i] === '' ? undefined : f[i]);
  return {
    login,
    hash,
    uid: Number(uid),
    gid: Number(gid),
    gecos,
    home,
    bandwidthUp: lenientNumber(f[6]),
    bandwidthDown: lenientNumber(f[7]),
    ratioUp: lenientNumber(f[8]),
    ratioDown: lenientNumber(f[9]),
    maxSessions: lenientNumber(f[10]),
    quotaFiles: lenientNumber(f[11]),
    quotaBytes: lenientNumber(f[12]),
    allowLocal: text(13),
    denyLocal: text(14),
    allowClient: text(15),
    denyClient: text(16),
    timeWindow: text(17),
  };
}

/** `HHMM-HHMM` as pure-pw validates it (sscanf "%u-%u", < 2360, minutes < 60), or undefined. */
export function parseTimeWindowHHMM(text: string): { begin: number; end: number } | undefined {
  const m = /^\s*\+?(\d+)-\s*\+?(\d+)/.exec(text);
  if (m === null) return undefined;
  const begin = Number(m[1]);
  const end = Number(m[2]);
  const ok = (v: number): boolean => v < 2360 && v % 100 < 60;
  return ok(begin) && ok(end) ? { begin, end } : undefined;
}

/** Refuses characters that would end the line or the field (a forged extra account). */
function field(value: string, name: string, colon: 'refuse' | 'underscore' | 'bracketed'): string {
  if (/[\r\n\0]/.test(value)) throw new RangeError(`passwd field ${name} contains a line break or NUL`);
  if (colon === 'bracketed') {
    if (!isStorableIpList(value)) throw new RangeError(`passwd field ${name} has ':' outside [brackets]`);
    return value;
  }
  if (!value.includes(':')) return value;
  // pure-pw turns `:` into `_` in login, gecos and home (filter_pw_line_sep).
  if (colon === 'underscore') return value.replaceAll(':', '_');
  throw new RangeError(`passwd field ${name} contains ':'`);
}

/** A non-negative integer as C's %lu would print it. */
function integer(value: number, name: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`passwd field ${name} must be >= 0`);
  return String(value);
}

/** Formats a record exactly as pure-pw's add_new_pw_line() (no trailing newline). */
export function formatPasswdLine(r: PasswdRecord): string {
  const opt = (v: number | undefined, name: string): string => (v === undefined ? '' : integer(v, name));
  // pure-pw keeps ratios and max sessions only when > 0, and a time window only when valid.
  const positive = (v: number | undefined, name: string): string =>
    v === undefined || v <= 0 ? '' : integer(v, name);
  const time = r.timeWindow === undefined ? undefined : parseTimeWindowHHMM(r.timeWindow);
  return [
    field(r.login, 'login', 'underscore'),
    field(r.hash, 'hash', 'refuse'),
    integer(r.uid, 'uid'),
    integer(r.gid, 'gid'),
    field(r.gecos, 'gecos', 'underscore'),
    field(r.home, 'home', 'underscore'),
    opt(r.bandwidthUp, 'bandwidthUp'),
    opt(r.bandwidthDown, 'bandwidthDown'),
    positive(r.ratioUp, 'ratioUp'),
    positive(r.ratioDown, 'ratioDown'),
    positive(r.maxSessions, 'maxSessions'),
    opt(r.quotaFiles, 'quotaFiles'),
    opt(r.quotaBytes, 'quotaBytes'),
    field(r.allowLocal ?? '', 'allowLocal', 'bracketed'),
    field(r.denyLocal ?? '', 'denyLocal', 'bracketed'),
    field(r.allowClient ?? '', 'allowClient', 'bracketed'),
    field(r.denyClient ?? '', 'denyClient', 'bracketed'),
    time === undefined ? '' : `${time.begin}-${time.end}`,
  ].join(':');
}

/**
 * The `[login, rest]` pairs `pure-pw mkdb` indexes from a passwd file, in file order: each line is
 * cut at its first CR or LF; `#` lines, lines without `:` and lines with nothing after the first
 * `:` are skipped. Decode the file as latin1 to keep bytes exact, as utf8 to match client logins.
 */
export function* passwdFileEntries(text: string): Generator<[login: string, rest: string]> {
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    let line = text.slice(start, nl);
    start = nl + 1;
    const cr = line.indexOf('\r');
    if (cr !== -1) line = line.slice(0, cr);
    if (line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon === -1 || colon === line.length - 1) continue;
    yield [line.slice(0, colon), line.slice(colon + 1)];
  }
}

/** Result of turning a record into an Account: the account plus operator warnings, or a refusal. */
export type RecordConversion = { account: Account; warnings: string[] } | { error: string };

/** Normalises the part after `/./` into a virtual path that never rises above `/`. */
function virtualStartDir(rest: string): string {
  const parts: string[] = [];
  for (const seg of rest.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** Converts the IP-list fields; unparseable entries (hostnames) are reported and never matched. */
function cidrField(raw: string | undefined, name: string, warnings: string[]): Cidr[] | undefined {
  if (raw === undefined) return undefined;
  const { list, invalid } = parseCidrList(raw);
  for (const entry of invalid) {
    warnings.push(
      `${name}: ignoring entry "${entry}" (not an IP address or network; names are not resolved)`,
    );
    // An allow list must not turn into "allow all" because its only entries were names.
    if (name.startsWith('allow')) list.push(unmatchableCidr(entry));
  }
  return list.length > 0 ? list : undefined;
}

/** Builds the Account of a puredb/passwd record (upstream §3.2, §4.2); uid/gid 0 are refused (§3.1). */
export function recordToAccount(r: PasswdRecord, backendName: string): RecordConversion {
  if (r.uid <= 0 || r.gid <= 0) return { error: `uid/gid 0 (root) refused for virtual user ${r.login}` };
  if (!r.home.startsWith('/')) return { error: `home directory of ${r.login} is not absolute` };
  const warnings: string[] = [];
  const marker = r.home.indexOf('/./');
  const chroot = marker !== -1;
  const home = chroot ? r.home.slice(0, marker) || '/' : r.home.replace(/(?<=.)\/+$/, '');
  const account: Account = {
    login: r.login,
    uid: r.uid,
    gid: r.gid,
    home,
    chroot,
    anonymous: false,
    backend: backendName,
  };
  if (chroot) account.startDir = virtualStartDir(r.home.slice(marker + 3));
  if (r.quotaFiles !== undefined || r.quotaBytes !== undefined) {
    account.quota = { files: r.quotaFiles, bytes: r.quotaBytes };
  }
  // Ratios and bandwidths only override the global values when > 0 (log_puredb.c, upstream §4.2).
  const up = r.ratioUp !== undefined && r.ratioUp > 0 ? r.ratioUp : undefined;
  const down = r.ratioDown !== undefined && r.ratioDown > 0 ? r.ratioDown : undefined;
  if (up !== undefined || down !== undefined) account.ratio = { up: up ?? 1, down: down ?? 1 };
  const bwUp = r.bandwidthUp !== undefined && r.bandwidthUp > 0 ? r.bandwidthUp : undefined;
  const bwDown = r.bandwidthDown !== undefined && r.bandwidthDown > 0 ? r.bandwidthDown : undefined;
  if (bwUp !== undefined || bwDown !== undefined) account.bandwidth = { up: bwUp, down: bwDown };
  if (r.maxSessions !== undefined && r.maxSessions > 0) account.maxSessions = r.maxSessions;
  account.allowLocal = cidrField(r.allowLocal, 'allowLocal', warnings);
  account.denyLocal = cidrField(r.denyLocal, 'denyLocal', warnings);
  account.allowClient = cidrField(r.allowClient, 'allowClient', warnings);
  account.denyClient = cidrField(r.denyClient, 'denyClient', warnings);
  for (const key of ['allowLocal', 'denyLocal', 'allowClient', 'denyClient'] as const) {
    if (account[key] === undefined) delete account[key];
  }
  if (r.timeWindow !== undefined) {
    // Pure-FTPd refuses every login when the stored window does not parse; so do we.
    const t = parseTimeWindowHHMM(r.timeWindow);
    if (t === undefined) return { error: `invalid time window "${r.timeWindow}" for ${r.login}` };
    const minutes = (hhmm: number): number => Math.floor(hhmm / 100) * 60 + (hhmm % 100);
    account.timeWindow = { from: minutes(t.begin), to: minutes(t.end) };
  }
  return { account, warnings };
}

/** What a directory or database backend (LDAP, SQL, extauth) supplies: no hash, no GECOS to carry. */
export type DirectoryRecord = Omit<PasswdRecord, 'hash' | 'gecos'>;

/**
 * The chain's answer for a directory or database record: `ok` with its Account, or `denied` with
 * why it cannot be one (uid/gid 0, relative home...), by the same rules as the passwd backends.
 */
export function directoryRecordResult(record: DirectoryRecord, backendName: string): AuthResult {
  const converted = recordToAccount({ ...record, hash: '', gecos: '' }, backendName);
  if ('error' in converted) return { kind: 'denied', reason: converted.error };
  return { kind: 'ok', account: converted.account };
}
