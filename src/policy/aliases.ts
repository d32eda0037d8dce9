/**
 * Directory aliases (upstream §6.4, Pure-FTPd's diraliases): a file of line pairs, an alias name then
 * the directory it stands for (`#` lines and empty lines skipped). `CWD name` goes to the alias's
 * directory when no directory `name` exists; `SITE ALIAS` lists them. The directory is a path as the
 * account sees it (inside its root when chrooted).
 */
import { readFile } from 'node:fs/promises';

/** Debian's place for the file (upstream's is CONFDIR/pureftpd-dir-aliases). */
export const DEFAULT_ALIASES_FILE = '/etc/pure-ftpd/pureftpd-dir-aliases';

/** Most aliases and the longest alias name and directory kept (bounds on an admin's file). */
const MAX_ALIASES = 10_000;
const MAX_ALIAS = 255;
const MAX_DIR = 4096;

/**
 * Parses the file's text into [alias, directory] pairs, in order; throws a sentence naming the line
 * when an alias has no directory after it, or a bound is passed.
 */
export function parseAliases(text: string): [string, string][] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out: [string, string][] = [];
  let i = 0;
  const skip = (l: string): boolean => l === '' || l.startsWith('#');
  while (i < lines.length) {
    const alias = lines[i++].replace(/\r$/, '');
    if (skip(alias)) continue;
    while (i < lines.length && skip(lines[i].replace(/\r$/, ''))) i++;
    if (i >= lines.length) throw new Error(`line ${i}: the alias "${alias}" has no directory after it`);
    const dir = lines[i++].replace(/\r$/, '');
    if (alias.length > MAX_ALIAS || dir.length > MAX_DIR) throw new Error(`line ${i}: too long`);
    if (out.length >= MAX_ALIASES) throw new Error(`more than ${MAX_ALIASES} aliases`);
    out.push([alias, dir]);
  }
  return out;
}

/**
 * Reads the aliases file: `explicit` (--aliases-file) must be readable; the default file is used
 * when it exists. Throws a sentence with the file's name.
 */
export async function loadAliases(explicit: string | undefined): Promise<[string, string][] | undefined> {
  const file = explicit ?? DEFAULT_ALIASES_FILE;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (explicit === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the aliases file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseAliases(text);
  } catch (err) {
    throw new Error(`damaged aliases file ${file}: ${(err as Error).message}`);
  }
}
