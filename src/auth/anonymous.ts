/**
 * The anonymous account (spec §6.1): its root is --anonymous-root or the home of the `ftp` (or
 * `_ftp`) system account; its identity (for permission checks and file ownership when the server
 * runs as root) is that account's uid/gid, else `nobody`.
 */
import { readFile, realpath, stat } from 'node:fs/promises';

/** Where anonymous sessions live and as whom they act. */
export interface AnonymousAccount {
  /** Canonical root directory. */
  root: string;
  uid: number;
  gid: number;
}

/** A system account from /etc/passwd. */
export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Looks a user up in /etc/passwd (async; no NSS modules). */
export async function findSystemUser(
  name: string,
  passwdFile = '/etc/passwd',
): Promise<SystemUser | undefined> {
  let text: string;
  try {
    text = await readFile(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || f[0] !== name) continue;
    return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
  }
  return undefined;
}

/**
 * Resolves the anonymous account; undefined when anonymous FTP cannot work (no root directory).
 * @param configuredRoot --anonymous-root, if given
 */
export async function resolveAnonymous(configuredRoot?: string): Promise<AnonymousAccount | undefined> {
  const ftp = (await findSystemUser('ftp')) ?? (await findSystemUser('_ftp'));
  const nobody = await findSystemUser('nobody');
  const usable = ftp !== undefined && ftp.uid !== 0 && ftp.gid !== 0 && ftp.home.startsWith('/');
  const rootDir = configuredRoot ?? (usable ? ftp.home : undefined);
  if (rootDir === undefined) return undefined;
  try {
    const root = await realpath(rootDir);
    if (!(await stat(root)).isDirectory()) return undefined;
    const id = usable ? ftp : nobody;
    return { root, uid: id?.uid ?? 65534, gid: id?.gid ?? 65534 };
  } catch {
    return undefined;
  }
}
