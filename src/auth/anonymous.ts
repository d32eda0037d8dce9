/**
 * The anonymous account (upstream §6.1): its root is --anonymous-root or the home of the `ftp` (or
 * `_ftp`) system account; its identity (for permission checks and file ownership when the server
 * runs as root) is that account's uid/gid, else `nobody`.
 */
import { realpath, stat } from 'node:fs/promises';
import { systemDb } from './system-db.js';

/** Where anonymous sessions live and as whom they act. */
export interface AnonymousAccount {
  /** Canonical root directory. */
  root: string;
  uid: number;
  gid: number;
}

/**
 * Resolves the anonymous account; undefined when anonymous FTP cannot work (no root directory).
 * @param configuredRoot --anonymous-root, if given
 */
export async function resolveAnonymous(configuredRoot?: string): Promise<AnonymousAccount | undefined> {
  const users = await systemDb().users();
  const ftp = users.byName.get('ftp') ?? users.byName.get('_ftp');
  const nobody = users.byName.get('nobody');
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
