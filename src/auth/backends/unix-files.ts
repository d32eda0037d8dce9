/**
 * The system account files the `-l unix` backend reads (spec §3.1): /etc/passwd, /etc/shadow and
 * /etc/shells, parsed the way glibc's files backend and getusershell(3) read them. Guarantees:
 * files are read asynchronously and only again when stat() shows a new version; parsing never
 * throws on a hostile or broken line (the line is skipped); the first entry of a login wins, as
 * with getpwnam(3).
 */
import { readFile, stat } from 'node:fs/promises';

/** One /etc/passwd line. */
export interface PasswdEntry {
  login: string;
  /** `x` (or `##login`) when the hash lives in /etc/shadow. */
  passwd: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One /etc/shadow line; day counts are days since 1970-01-01, undefined when the field is empty. */
export interface ShadowEntry {
  login: string;
  hash: string;
  lastChange?: number;
  maxDays?: number;
  expire?: number;
}

/** Splits a file into lines without their CR/LF. */
function lines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, ''));
}

/** A decimal field, undefined when empty or not a number. */
function day(field: string | undefined): number | undefined {
  return field !== undefined && /^\d{1,10}$/.test(field) ? Number(field) : undefined;
}

/** Parses /etc/passwd; NIS compat lines (`+`, `-`) and malformed lines are skipped. */
export function parsePasswd(text: string): Map<string, PasswdEntry> {
  const out = new Map<string, PasswdEntry>();
  for (const line of lines(text)) {
    const f = line.split(':');
    if (f.length < 7 || f[0] === '' || /^[+-]/.test(f[0]!) || out.has(f[0]!)) continue;
    if (!/^\d{1,10}$/.test(f[2]!) || !/^\d{1,10}$/.test(f[3]!)) continue;
    out.set(f[0]!, {
      login: f[0]!,
      passwd: f[1]!,
      uid: Number(f[2]),
      gid: Number(f[3]),
      home: f[5]!,
      shell: f[6]!,
    });
  }
  return out;
}

/** Parses /etc/shadow. */
export function parseShadow(text: string): Map<string, ShadowEntry> {
  const out = new Map<string, ShadowEntry>();
  for (const line of lines(text)) {
    const f = line.split(':');
    if (f.length < 2 || f[0] === '' || /^[+-]/.test(f[0]!) || out.has(f[0]!)) continue;
    out.set(f[0]!, {
      login: f[0]!,
      hash: f[1]!,
      lastChange: day(f[2]),
      maxDays: day(f[4]),
      expire: day(f[7]),
    });
  }
  return out;
}

/** getusershell(3)'s defaults when /etc/shells does not exist. */
export const DEFAULT_SHELLS: ReadonlySet<string> = new Set(['/bin/sh', '/bin/csh']);

/** Parses /etc/shells as getusershell(3): one path per line, `#` comments and blanks skipped. */
export function parseShells(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of lines(text)) {
    const shell = line.trim();
    if (shell !== '' && !shell.startsWith('#')) out.add(shell);
  }
  return out;
}

/**
 * A parsed file kept in memory and re-read only when its identity (inode, size, mtime, ctime)
 * changes, so `useradd`/`passwd` take effect at the next login without reading the file each time.
 */
export class CachedFile<T> {
  private value?: T;
  private signature = '';
  private loading?: Promise<T>;

  /** `missing` is the value when the file does not exist; other errors (EACCES...) reject get(). */
  constructor(
    readonly path: string,
    private readonly parse: (text: string) => T,
    private readonly missing: T,
  ) {}

  /** The current content; concurrent callers share one stat/read. */
  get(): Promise<T> {
    this.loading ??= this.refresh().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async refresh(): Promise<T> {
    let signature: string;
    try {
      const s = await stat(this.path);
      signature = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return this.missing;
      throw err;
    }
    if (this.value !== undefined && signature === this.signature) return this.value;
    const text = await readFile(this.path, 'utf8');
    this.value = this.parse(text);
    this.signature = signature;
    return this.value;
  }
}
