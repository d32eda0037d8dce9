/**
 * pure-ftpd.conf reader (spec §1.3): `Key value` lines (a `=` or `:` after the key is allowed, as in
 * Pure-FTPd's simpleconf), `#` comment lines, keys case-insensitive, yes/on/true/1 and no/off/false/0
 * booleans, `Include path` up to 16 levels with missing files skipped. Each key becomes an occurrence
 * of its switch from the table, so the file and the command line share one validation.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError, switchError } from './errors.js';
import type { ParsedOption } from './switch-spec.js';
import { findConfKey } from './switches.js';

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

/**
 * Reads a config file and its includes into switch occurrences, in file order. Relative paths of
 * `Include` are taken from the including file's directory (Pure-FTPd uses its working directory, which
 * is `/` for a daemon: the same thing for the absolute paths real configs use).
 */
export async function readConfFile(file: string): Promise<ParsedOption[]> {
  const options: ParsedOption[] = [];
  await readInto(resolve(file), 0, options, false);
  return options;
}

async function readInto(file: string, depth: number, out: ParsedOption[], missingOk: boolean): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (missingOk && code === 'ENOENT') return;
    const reason = READ_ERRORS[code ?? ''] ?? (err as Error).message;
    throw new ConfigError(`tsftpd: ${file}: cannot read the config file: ${reason}`);
  }
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${n + 1}`;
    const match = /^([A-Za-z][A-Za-z0-9]*)(?:(?:\s*[=:]\s*|\s+)(.*))?$/.exec(line);
    if (match === null) throw new ConfigError(`tsftpd: ${where}: syntax error: ${JSON.stringify(line)}`);
    const key = match[1]!;
    const raw = match[2] ?? '';
    if (key.toLowerCase() === 'include') {
      if (raw === '') throw new ConfigError(`tsftpd: ${where}: Include: missing path`);
      if (depth + 1 >= MAX_INCLUDE_DEPTH) {
        throw new ConfigError(`tsftpd: ${where}: Include: more than ${MAX_INCLUDE_DEPTH} levels of files`);
      }
      await readInto(resolve(dirname(file), unquote(raw)), depth + 1, out, true);
      continue;
    }
    const option = toOption(where, key, raw);
    if (option !== undefined) out.push(option);
  }
}

/** One `Key value` line as a switch occurrence; undefined for a false boolean (the switch is omitted). */
function toOption(where: string, key: string, raw: string): ParsedOption | undefined {
  const found = findConfKey(key);
  if (found === undefined) throw new ConfigError(`tsftpd: ${where}: unknown key ${JSON.stringify(key)}`);
  const { spec, confKey } = found;
  const label = `${where}: ${key}`;
  if (confKey.form === 'bool') {
    const word = raw.toLowerCase();
    if (FALSE_WORDS.has(word)) return undefined;
    if (!TRUE_WORDS.has(word)) throw switchError(label, raw, 'expected yes or no');
    return { spec, value: confKey.value ?? '', label, shown: raw };
  }
  if (raw === '') throw switchError(label, '', 'missing value');
  // Two-number keys use a space where the switch uses a colon (spec §1.3); a colon is accepted too.
  const value = confKey.form === 'pair' ? raw.replace(/^(\S+)\s+(\S+)$/, '$1:$2') : unquote(raw);
  return { spec, value: (confKey.prefix ?? '') + value, label, shown: raw };
}

/** Drops one pair of surrounding double quotes, which simpleconf allows around paths. */
function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}
