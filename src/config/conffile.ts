/**
 * pure-ftpd.conf reader (upstream §1.3): `Key value` lines (a `=` or `:` after the key is allowed, as in
 * Pure-FTPd's simpleconf), `#` comment lines, keys case-insensitive, yes/on/true/1 and no/off/false/0
 * booleans, `Include path` up to 16 levels with missing files skipped. Each key becomes an occurrence
 * of its switch from the table, so the file and the command line share one validation. Every bad line
 * is reported, not only the first, with the nearest known key for a typo.
 */
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, switchProblem } from './errors.js';
import type { ParsedOption } from './switch-spec.js';
import { didYouMean } from './suggest.js';
import { confKeyNames, findConfKey } from './switches.js';

/** Include nesting limit of Pure-FTPd's simpleconf (SC_MAX_RECURSION). */
export const MAX_INCLUDE_DEPTH = 16;

/** Plain words for the usual reasons a config file cannot be read. */
const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

const TRUE_WORDS = new Set(['yes', 'on', 'true', '1']);
const FALSE_WORDS = new Set(['no', 'off', 'false', '0']);

/** One line of a config file: a switch occurrence, or the printable problem of that line. */
export type ConfEntry = { option: ParsedOption } | { problem: string };

/**
 * Reads a config file and its includes into switch occurrences, in file order; throws one ConfigError
 * listing every bad line. Relative paths of `Include` are taken from the including file's directory
 * (Pure-FTPd uses its working directory, which is `/` for a daemon: the same thing for the absolute
 * paths real configs use).
 */
export async function readConfFile(file: string): Promise<ParsedOption[]> {
  const entries = await readConfEntries(file);
  const problems = entries.flatMap((e) => ('problem' in e ? [e.problem] : []));
  if (problems.length > 0) throw new ConfigError(problems);
  return entries.flatMap((e) => ('option' in e ? [e.option] : []));
}

/**
 * Like readConfFile, but a bad line becomes an entry instead of stopping the reading, so that the
 * caller can report every problem at once; only an unreadable top-level file throws.
 */
export async function readConfEntries(file: string): Promise<ConfEntry[]> {
  const entries: ConfEntry[] = [];
  await readInto(resolve(file), 0, entries, undefined);
  return entries;
}

/** `includedAt`: the `file:line` of the Include that named this file (a missing include is skipped). */
async function readInto(
  file: string,
  depth: number,
  out: ConfEntry[],
  includedAt: string | undefined,
): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (includedAt !== undefined && code === 'ENOENT') return;
    const reason = READ_ERRORS[code ?? ''] ?? (err as Error).message;
    if (includedAt === undefined) {
      throw new ConfigError(`tsftpd: ${file}: cannot read the config file: ${reason}`);
    }
    out.push({ problem: `tsftpd: ${includedAt}: Include ${file}: cannot read it: ${reason}` });
    return;
  }
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${n + 1}`;
    const match = /^([A-Za-z][A-Za-z0-9]*)(?:(?:\s*[=:]\s*|\s+)(.*))?$/.exec(line);
    if (match === null) {
      out.push({ problem: `tsftpd: ${where}: syntax error: ${JSON.stringify(line)}` });
      continue;
    }
    const key = match[1];
    const raw = match[2] ?? '';
    if (key.toLowerCase() === 'include') {
      if (raw === '') out.push({ problem: `tsftpd: ${where}: Include: missing path` });
      else if (depth + 1 >= MAX_INCLUDE_DEPTH) {
        out.push({ problem: `tsftpd: ${where}: Include: more than ${MAX_INCLUDE_DEPTH} levels of files` });
      } else await readInto(resolve(dirname(file), unquote(raw)), depth + 1, out, where);
      continue;
    }
    const entry = toEntry(where, key, raw);
    if (entry !== undefined) out.push(entry);
  }
}

/** One `Key value` line as a switch occurrence; undefined for a false boolean (the switch is omitted). */
function toEntry(where: string, key: string, raw: string): ConfEntry | undefined {
  const found = findConfKey(key);
  if (found === undefined) {
    return {
      problem: `tsftpd: ${where}: unknown key ${JSON.stringify(key)}${didYouMean(key, confKeyNames())}`,
    };
  }
  const { spec, confKey } = found;
  const label = `${where}: ${key}`;
  if (confKey.form === 'bool') {
    const word = raw.toLowerCase();
    if (FALSE_WORDS.has(word)) return undefined;
    if (!TRUE_WORDS.has(word)) return { problem: switchProblem(label, raw, 'expected yes or no') };
    return { option: { spec, value: confKey.value ?? '', label, shown: raw } };
  }
  if (raw === '') return { problem: switchProblem(label, '', 'missing value') };
  // Two-number keys use a space where the switch uses a colon (upstream §1.3); a colon is accepted too.
  const value = confKey.form === 'pair' ? raw.replace(/^(\S+)\s+(\S+)$/, '$1:$2') : unquote(raw);
  return { option: { spec, value: (confKey.prefix ?? '') + value, label, shown: raw } };
}

/** Drops one pair of surrounding double quotes, which simpleconf allows around paths. */
function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/** Debian's authentication keys: in `auth/`, ordered links name them (upstream §1.3, pure-ftpd-wrapper). */
const DEBIAN_AUTH_KEYS = new Set([
  'ExtAuth',
  'LDAPConfigFile',
  'MySQLConfigFile',
  'PGSQLConfigFile',
  'PAMAuthentication',
  'PureDB',
  'UnixAuthentication',
]);
/** Keys the wrapper reads but passes on to nothing (character set conversion). */
const DEBIAN_SKIPPED_KEYS = new Set(['FSCharset', 'ClientCharset']);
/** The PID file Debian's wrapper always gives the server. */
export const DEBIAN_PID_FILE = '/var/run/pure-ftpd/pure-ftpd.pid';
/** Most option files looked at in one directory (a bound on a broken layout). */
const MAX_DEBIAN_FILES = 1000;

/** The first meaningful line of an option file (blank and `#` lines skipped), with its line number. */
async function optionValue(file: string): Promise<{ value: string; line: number } | { problem: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return { problem: `tsftpd: ${file}: cannot read it: ${READ_ERRORS[code] ?? (err as Error).message}` };
  }
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const v = lines[n].trim();
    if (v !== '' && !v.startsWith('#')) return { value: v, line: n + 1 };
  }
  return { problem: `tsftpd: ${file}: empty option file` };
}

/**
 * Debian's layout (pure-ftpd-wrapper): `DIR/auth/` holds links, taken in name order, to option files
 * of the authentication backends (`65unix -> ../conf/UnixAuthentication`), which become the `-l`
 * chain in that order; `DIR/conf/` holds one file per other option, named by its pure-ftpd.conf key,
 * whose first line is the value (`yes`/`no` for switches). The wrapper's PID file comes first, so a
 * later -g wins. Returns the occurrences in that order, bad files as problems.
 */
export async function readDebianEntries(dir: string): Promise<ConfEntry[]> {
  const root = resolve(dir);
  const out: ConfEntry[] = [];
  const list = async (sub: string): Promise<string[] | undefined> => {
    try {
      return (await readdir(join(root, sub))).sort().slice(0, MAX_DEBIAN_FILES);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      throw new ConfigError(
        `tsftpd: --debian-conf ${dir}: cannot read ${join(root, sub)}: ${READ_ERRORS[code] ?? (err as Error).message}`,
      );
    }
  };
  const pid = findConfKey('PIDFile');
  if (pid !== undefined)
    out.push({
      option: { spec: pid.spec, value: DEBIAN_PID_FILE, label: '--debian-conf', shown: DEBIAN_PID_FILE },
    });
  for (const name of (await list('auth')) ?? []) {
    const link = join(root, 'auth', name);
    let target: string;
    try {
      if (!(await lstat(link)).isSymbolicLink()) continue;
      target = resolve(join(root, 'auth'), await readlink(link));
      if (!(await stat(target)).isFile()) continue;
    } catch {
      continue; // a dangling link: the wrapper skips it too
    }
    const key = basename(target);
    if (!DEBIAN_AUTH_KEYS.has(key)) {
      out.push({ problem: `tsftpd: ${link}: ${key} is not an authentication option` });
      continue;
    }
    const v = await optionValue(target);
    if ('problem' in v) out.push(v);
    else {
      const entry = toEntry(`${target}:${v.line}`, key, v.value);
      if (entry !== undefined) out.push(entry);
    }
  }
  for (const name of (await list('conf')) ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9]+$/.test(name) || DEBIAN_AUTH_KEYS.has(name) || DEBIAN_SKIPPED_KEYS.has(name))
      continue;
    const file = join(root, 'conf', name);
    const v = await optionValue(file);
    if ('problem' in v) out.push(v);
    else {
      const entry = toEntry(`${file}:${v.line}`, name, v.value);
      if (entry !== undefined) out.push(entry);
    }
  }
  return out;
}
