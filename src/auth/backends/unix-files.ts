/**
 * The system files that only the `-l unix` backend (upstream §3.1) and `pw import-system` read beyond
 * /etc/passwd (system-db.ts): /etc/shadow, with its ageing fields, and /etc/shells, parsed the way
 * glibc's files backend and getusershell(3) read them. Parsing never throws on a hostile or broken
 * line (the line is skipped); the first entry of a login wins, as with getspnam(3).
 */
import { colonRecords } from '../system-db.js';

/** Where the files are (tests point these at their own copies). */
export interface UnixFiles {
  passwd: string;
  shadow: string;
  shells: string;
}

/** The system's files. */
export const SYSTEM_FILES: UnixFiles = {
  passwd: '/etc/passwd',
  shadow: '/etc/shadow',
  shells: '/etc/shells',
};

/** One /etc/shadow line; day counts are days since 1970-01-01, undefined when the field is empty. */
export interface ShadowEntry {
  login: string;
  hash: string;
  lastChange?: number;
  maxDays?: number;
  expire?: number;
}

/** A decimal field, undefined when empty or not a number. */
function day(field: string | undefined): number | undefined {
  return field !== undefined && /^\d{1,10}$/.test(field) ? Number(field) : undefined;
}

/** Parses /etc/shadow; NIS compat lines (`+`, `-`) and malformed lines are skipped. */
export function parseShadow(text: string): Map<string, ShadowEntry> {
  const out = new Map<string, ShadowEntry>();
  for (const f of colonRecords(text)) {
    if (f.length < 2 || f[0] === '' || out.has(f[0])) continue;
    out.set(f[0], { login: f[0], hash: f[1], lastChange: day(f[2]), maxDays: day(f[4]), expire: day(f[7]) });
  }
  return out;
}

/** getusershell(3)'s defaults when /etc/shells cannot be opened. */
export const DEFAULT_SHELLS: ReadonlySet<string> = new Set(['/bin/sh', '/bin/csh']);

/**
 * Parses /etc/shells as getusershell(3): the first `/...` word of every line, up to a blank or a
 * `#`; lines where a `#` comes before any `/` are comments.
 */
export function parseShells(text: string): Set<string> {
  const shells = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^[^#/]*(\/[^\s#]*)/.exec(line);
    if (m !== null) shells.add(m[1]);
  }
  return shells;
}
