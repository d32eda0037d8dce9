/**
 * `-F` fortunes (upstream §6.1): a random "cookie" from a fortune file replaces the greeting's
 * welcome block. The file must be a world-readable regular file of at least 2 bytes (as Pure-FTPd
 * requires); cookies are separated by lines holding only `%`; a cookie is cut at 2,047 characters.
 * The file is read once (at most 1 MiB) and again when its modification time changes, checked at
 * most every 10 seconds; a file that is not usable gives no cookie (the normal greeting).
 */
import { readFileSync, statSync } from 'node:fs';
import { randomInt } from 'node:crypto';

/** Longest cookie kept, and most bytes read from the file. */
const MAX_COOKIE = 2047;
const MAX_FILE = 1024 * 1024;
/** How often the file's modification time is looked at again. */
const RECHECK_MS = 10_000;
/** Lines of one cookie shown at most. */
const MAX_LINES = 100;

interface Loaded {
  mtimeMs: number;
  checkedAt: number;
  cookies: string[];
}

const cache = new Map<string, Loaded>();

/** The cookies of `file` (none when it is not usable). */
export function parseFortunes(text: string): string[] {
  return text
    .split(/^%[ \t]*\r?$/m)
    .map((c) =>
      c
        .replace(/^\r?\n/, '')
        .replace(/\s+$/, '')
        .slice(0, MAX_COOKIE),
    )
    .filter((c) => c.trim() !== '');
}

function load(file: string, now: number): Loaded {
  const old = cache.get(file);
  if (old !== undefined && now - old.checkedAt < RECHECK_MS) return old;
  let loaded: Loaded = { mtimeMs: -1, checkedAt: now, cookies: [] };
  try {
    const st = statSync(file);
    if (old !== undefined && st.mtimeMs === old.mtimeMs) loaded = { ...old, checkedAt: now };
    else if (st.isFile() && (st.mode & 0o004) !== 0 && st.size >= 2) {
      const text = readFileSync(file).subarray(0, MAX_FILE).toString('utf8');
      loaded = { mtimeMs: st.mtimeMs, checkedAt: now, cookies: parseFortunes(text) };
    }
  } catch {
    // unusable: no cookie
  }
  if (cache.size > 16) cache.clear();
  cache.set(file, loaded);
  return loaded;
}

/** One random cookie of `file` as greeting lines (control characters shown as `_`), or undefined. */
export function fortuneCookie(file: string, now = Date.now()): string[] | undefined {
  const { cookies } = load(file, now);
  if (cookies.length === 0) return undefined;
  const cookie = cookies[randomInt(cookies.length)];
  return (
    cookie
      .split(/\r?\n/)
      .slice(0, MAX_LINES)
      // eslint-disable-next-line no-control-regex -- control characters are what is replaced
      .map((l) => l.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '_').replace(/\t/g, ' '))
  );
}
