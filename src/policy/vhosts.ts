/**
 * Virtual hosts by local address (upstream §6.1): an anonymous session that arrives on a local IP
 * with a directory `<vhost dir>/<ip>` (Debian: /etc/pure-ftpd/pure-ftpd/<ip>, usually a symlink)
 * gets that directory as its root instead of the anonymous account's home; the account and its uid
 * stay the same. Logged and piped paths then read `<ip>:/path`.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseIp } from '../auth/cidr.js';

/** Debian's directory of per-address anonymous roots (upstream's default is /etc/pure-ftpd/<ip>). */
export const DEFAULT_VHOST_DIR = '/etc/pure-ftpd/pure-ftpd';
/** Most entries of the virtual hosts directory looked at when granting a root. */
const MAX_VHOSTS = 100_000;

/**
 * The virtual host root of a connection to `localIp`, resolved (symlinks followed), or undefined
 * when there is none. Only a well-formed address names a directory: nothing from a client is used.
 */
export async function vhostRoot(
  dir: string | false | undefined,
  localIp: string,
): Promise<string | undefined> {
  return parseIp(localIp) === undefined ? undefined : hostRoot(dir, localIp);
}

/**
 * The HOST argument (RFC 7151) as a directory name: a DNS name (letters, digits, `-`, `.`; lower
 * case; no trailing dot) or `[address]` (returned bare); undefined when it is neither.
 */
export function hostDirName(arg: string): string | undefined {
  const literal = /^\[([0-9A-Fa-f:.]+)\]$/.exec(arg);
  if (literal !== null) return parseIp(literal[1]) === undefined ? undefined : literal[1];
  const name = arg.toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return undefined;
  const labels = name.split('.');
  return labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) ? name : undefined;
}

/**
 * The root of the virtual host `name` (an address, or a name HOST gave): the directory
 * `<vhost dir>/<name>`, resolved, if there is one.
 */
export async function hostRoot(dir: string | false | undefined, name: string): Promise<string | undefined> {
  if (dir === false || name === '' || name.includes('/') || name.startsWith('.')) return undefined;
  const candidate = path.join(dir ?? DEFAULT_VHOST_DIR, name);
  try {
    if (!(await stat(candidate)).isDirectory()) return undefined;
    return await realpath(candidate);
  } catch {
    return undefined;
  }
}

/** True when `real` is the resolved root of some virtual host (what a worker may be granted). */
export async function isVhostRoot(dir: string | false | undefined, real: string): Promise<boolean> {
  if (dir === false) return false;
  const base = dir ?? DEFAULT_VHOST_DIR;
  let names: string[];
  try {
    names = (await readdir(base)).slice(0, MAX_VHOSTS);
  } catch {
    return false;
  }
  for (const n of names) {
    if (n.startsWith('.')) continue;
    if ((await realpath(path.join(base, n)).catch(() => undefined)) === real) return true;
  }
  return false;
}

/**
 * A logged path as the file system knows it: `<ip>:/x` or `<host name>:/x` (a virtual host's file,
 * as `-O` and `-o` write it) becomes `<vhost dir>/<ip or name>/x`, as pure-uploadscript maps it; any
 * other path is unchanged.
 */
export function vhostFilePath(logged: string, dir: string = DEFAULT_VHOST_DIR): string {
  const at = logged.indexOf(':/');
  if (at <= 0) return logged;
  const host = logged.slice(0, at);
  // An address (Pure-FTPd's virtual hosts) or a HOST name (tsftpd's), never a path.
  if (host.includes('/') || (parseIp(host) === undefined && hostDirName(host) !== host)) return logged;
  return path.join(dir, host, logged.slice(at + 1));
}
