/**
 * Listing formats, byte-compatible with Pure-FTPd 1.0.50 (upstream §2.4, checked against the real binary):
 * the `ls -l` line, `-C` columns, sorting, MLSx facts and the MDTM timestamp. Pure functions: the caller
 * stats files and resolves owner names. LIST uses local time (as Pure-FTPd does); MLSx and MDTM use UTC.
 */
import type { Entry } from './types.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** ls.c: mtimes more than 180 days in the past show the year; anything newer, future included, the time. */
const SIX_MONTHS_SECONDS = 180 * 24 * 60 * 60;
/** Sizes from 10^10 bytes on get an 18-wide field instead of 10 [obs: 10000000001 on 1.0.50]. */
const WIDE_SIZE = 1e10;
/** Pure-FTPd lays -C columns out in 75 characters (ls.c outputfiles). */
const COLUMNS_WIDTH = 75;

/** `ls` type letters indexed by `(st_mode & S_IFMT) >> 12`: FIFO, char, dir, block, file, link, socket. */
const TYPE_BY_FORMAT = '?pc?d?b?-?l?s???';

const encoder = new TextEncoder();

/** Length in UTF-8 bytes: C pads and measures with strlen(). */
function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** The `ls` type letter: entry.type when it is one of the three listable kinds, else the st_mode bits. */
function typeChar(entry: Pick<Entry, 'type' | 'mode'>): string {
  if (entry.type === 'file') return '-';
  if (entry.type === 'dir') return 'd';
  if (entry.type === 'symlink') return 'l';
  return TYPE_BY_FORMAT[(entry.mode >> 12) & 0xf];
}

/** The 10-character `drwxr-sr-t` mode column, with s/S, s/S and t/T for setuid, setgid and sticky. */
export function modeString(entry: Pick<Entry, 'type' | 'mode'>): string {
  // The type letter comes from entry.type, which st_mode's format bits determine: mode is the key.
  const key =
    entry.mode * 4 +
    (entry.type === 'file' ? 0 : entry.type === 'dir' ? 1 : entry.type === 'symlink' ? 2 : 3);
  return modeMemo.get(key) ?? remember(modeMemo, key, computeModeString(entry));
}

function computeModeString(entry: Pick<Entry, 'type' | 'mode'>): string {
  const m = entry.mode;
  const bit = (mask: number, c: string): string => (m & mask ? c : '-');
  const special = (exec: number, flag: number, on: string): string => {
    if (m & exec) return m & flag ? on : 'x';
    return m & flag ? on.toUpperCase() : '-';
  };
  return (
    typeChar(entry) +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(0o100, 0o4000, 's') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    special(0o010, 0o2000, 's') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    special(0o001, 0o1000, 't')
  );
}

/** Pure-FTPd lists only regular files, directories and symlinks; FIFOs, sockets, devices are skipped. */
export function isListable(entry: Pick<Entry, 'type'>): boolean {
  return entry.type === 'file' || entry.type === 'dir' || entry.type === 'symlink';
}

/**
 * The -F suffix of an entry: `@` symlink, `/` directory, `=` socket, `|` FIFO, `*` when executable.
 * Pure-FTPd's "executable" test is `mode & 010101`, so group-only execute gets no star [obs: 0610].
 */
export function classifySuffix(entry: Pick<Entry, 'type' | 'mode'>): string {
  const kind = typeChar(entry);
  if (kind === 'l') return '@';
  if (kind === 'd') return '/';
  if (kind === 's') return '=';
  if (kind === 'p') return '|';
  return entry.mode & 0o101 ? '*' : '';
}

/** Memo tables: listings repeat the same owners, modes and minutes thousands of times. */
const MEMO_LIMIT = 4096;
const idMemo = new Map<string, string>();
const modeMemo = new Map<number, string>();
const minuteMemo = new Map<number, LocalParts>();
const dayMemo = new Map<number, string>();
const octalMemo = new Map<number, string>();

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function remember<K, V>(memo: Map<K, V>, key: K, value: V): V {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}

/** `%-10.10s`: owner/group names are cut to 10 bytes and padded to 10 (never splitting a character). */
function idField(name: string): string {
  return idMemo.get(name) ?? remember(idMemo, name, computeIdField(name));
}

function computeIdField(name: string): string {
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    const n = byteLength(ch);
    if (bytes + n > 10) break;
    out += ch;
    bytes += n;
  }
  return out + ' '.repeat(10 - bytes);
}

/** Calendar fields of a date in the host's zone, or in an IANA zone when one is given. */
interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

function localParts(date: Date, timezone: string | undefined): LocalParts {
  if (timezone === undefined) {
    // Local-time getters are slow (a time-zone lookup each); files share minutes, so memoise them.
    const minute = Math.floor(date.getTime() / 60_000);
    const hit = minuteMemo.get(minute);
    if (hit !== undefined) return hit;
    return remember(minuteMemo, minute, {
      year: date.getFullYear(),
      month: date.getMonth(),
      day: date.getDate(),
      hour: date.getHours(),
      minute: date.getMinutes(),
    });
  }
  let formatter = zoneFormatters.get(timezone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    zoneFormatters.set(timezone, formatter);
  }
  const parts: Record<string, number> = {};
  for (const p of formatter.formatToParts(date)) parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 0,
    month: (parts.month ?? 1) - 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
  };
}

/** Whole seconds, as time_t: Pure-FTPd compares and prints second-resolution times. */
function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** How one `ls -l` line is rendered. */
export interface LongLineOptions {
  /** The current time, for the 180-day year/time rule. */
  now: Date;
  /** Owner name or numeric uid, as the caller resolved it (upstream §2.4: numeric once chrooted). */
  owner: string;
  /** Group name or numeric gid. */
  group: string;
  /** -F: append the type suffix. */
  classify: boolean;
  /** IANA zone for the date column; the host's local zone when absent (Pure-FTPd uses localtime()). */
  timezone?: string;
  /** -F on a symlink: stat() of what it points to; absent when dangling (then no suffix). */
  linkTargetStat?: Pick<Entry, 'type' | 'mode'>;
}

/**
 * One LIST line without CRLF: `%s %4u %s %s %10llu %s %2d %s %s` (ls.c listfile), e.g.
 * `-rw-r--r--    1 65534      nogroup            17 Jan  2  2022 renamed.txt`. Pass `{...entry, name}`
 * to show a globbed path such as `sub/a.txt`. A symlink shows ` -> target` (`..` when unreadable);
 * with -F its suffix comes from the target, after the target text.
 */
export function formatLongLine(entry: Entry, opts: LongLineOptions): string {
  const t = localParts(entry.mtime, opts.timezone);
  const age = epochSeconds(opts.now) - epochSeconds(entry.mtime);
  const when =
    age > SIX_MONTHS_SECONDS
      ? String(t.year).padStart(5)
      : `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
  const size = String(entry.size).padStart(entry.size >= WIDE_SIZE ? 18 : 10);
  let line =
    `${modeString(entry)} ${String(entry.nlink).padStart(4)} ${idField(opts.owner)} ${idField(opts.group)} ` +
    `${size} ${MONTHS[t.month]} ${String(t.day).padStart(2)} ${when} ${entry.name}`;
  let suffix = opts.classify ? classifySuffix(entry) : '';
  if (entry.type === 'symlink') {
    line += ` -> ${entry.linkTarget || '..'}`;
    suffix = opts.classify && opts.linkTargetStat ? classifySuffix(opts.linkTargetStat) : '';
  }
  return line + suffix;
}

/**
 * `-C` layout, down then across, exactly as ls.c outputfiles(): the column width is the longest name
 * in bytes rounded up to the next multiple of 8 above it, `width / column` columns (75 in Pure-FTPd),
 * cells separated by tabs. Returns the lines without CRLF; names already carry their -F suffix.
 */
export function formatColumns(names: readonly string[], width = COLUMNS_WIDTH): string[] {
  if (names.length === 0) return [];
  const lengths = names.map(byteLength);
  const column = (Math.max(...lengths) | 7) + 1;
  const rows = column > width ? names.length : Math.ceil(names.length / Math.floor(width / column));
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) {
    let line = '';
    for (let k = r; k < names.length; k += rows) {
      line += names[k];
      if (k + rows < names.length) line += '\t'.repeat(Math.floor((column + 7 - lengths[k]) / 8));
    }
    lines.push(line);
  }
  return lines;
}

/** `cdir`/`pdir` for the name an MLST/MLSD line shows: `.` is cdir, `..` and `/` are pdir (modernformat). */
export function mlsxKindForName(name: string): 'cdir' | 'pdir' | undefined {
  if (name === '.') return 'cdir';
  if (name === '..' || name === '/') return 'pdir';
  return undefined;
}

/** What mlsxFacts needs besides the entry. */
export interface MlsxOptions {
  /** For directories shown as `.` / `..` (see mlsxKindForName). */
  kind?: 'cdir' | 'pdir';
  /** Anonymous sessions omit UNIX.uid/UNIX.gid and get the symlink target in the type fact. */
  anonymous: boolean;
  /** The symlink text, when not in entry.linkTarget. */
  symlinkTarget?: string;
}

/** `YYYYMMDDHHMMSS` in UTC, the MDTM reply and the MLSx `modify` fact (upstream §2.3). */
export function mdtmString(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return '19700101000000';
  // UTC needs no time-zone lookup: the day part is memoised, the time of day is arithmetic.
  const day = Math.floor(ms / 86_400_000);
  let prefix = dayMemo.get(day);
  if (prefix === undefined) {
    const d = new Date(day * 86_400_000);
    prefix = remember(
      dayMemo,
      day,
      String(d.getUTCFullYear()).padStart(4, '0') + pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate()),
    );
  }
  const secs = Math.floor((ms - day * 86_400_000) / 1000);
  return prefix + pad2(Math.floor(secs / 3600)) + pad2(Math.floor(secs / 60) % 60) + pad2(secs % 60);
}

/** The `type=` value: symlinks are `OS.unix=slink:` (target only for anonymous) unless the text is unsafe. */
function mlsxType(entry: Entry, opts: MlsxOptions): string {
  if (entry.type === 'file') return 'file';
  if (entry.type === 'dir') return opts.kind ?? 'dir';
  if (entry.type === 'symlink') {
    const target = opts.symlinkTarget ?? entry.linkTarget;
    // A target with CR, LF or `;` would break the fact syntax, so Pure-FTPd falls back to `symlink`.
    if (target === undefined || target === '' || /[\r\n;]/.test(target)) return 'OS.unix=symlink';
    return opts.anonymous ? `OS.unix=slink:${target}` : 'OS.unix=slink:';
  }
  return 'unknown';
}

/**
 * Pure-FTPd's MLSx facts, ending with `;` (ftpd.c modernformat), e.g.
 * `type=file;size=17;modify=20261128005536;UNIX.mode=0644;UNIX.uid=65534;UNIX.gid=65534;unique=fe00g20c011;`.
 * Directories use `sizd=`; `unique` is `<dev hex>g<inode hex>` with dev cut to 32 bits as in C.
 */
function octalMode(bits: number): string {
  return octalMemo.get(bits) ?? remember(octalMemo, bits, `0${bits.toString(8)}`);
}

export function mlsxFacts(entry: Entry, opts: MlsxOptions): string {
  const sizeFact = entry.type === 'dir' ? 'sizd' : 'size';
  const ids = opts.anonymous ? '' : `UNIX.uid=${entry.uid};UNIX.gid=${entry.gid};`;
  const dev = ((entry.dev % 2 ** 32) + 2 ** 32) % 2 ** 32;
  return (
    `type=${mlsxType(entry, opts)};${sizeFact}=${entry.size};modify=${mdtmString(entry.mtime)};` +
    `UNIX.mode=${octalMode(entry.mode & 0o7777)};${ids}` +
    `unique=${dev.toString(16)}g${entry.ino.toString(16)};`
  );
}

/** An MLSD line (without CRLF): facts, one space, the name. MLST sends it with one leading space. */
export function mlsxLine(facts: string, name: string): string {
  return `${facts} ${name}`;
}
