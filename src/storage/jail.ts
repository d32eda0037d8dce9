/**
 * The jail: path confinement for one account root (SECURITY.md lists this file).
 *
 * Guarantees:
 * - resolveVirtual() turns any client argument into a normalised virtual path that never rises
 *   above `/`; `..` at the top stays at `/`; NUL, backslash and over-long names are refused.
 * - toReal*() map a virtual path under the real root and check the *canonical* (realpath) result is
 *   the root or below it on a separator boundary, so a symlink pointing out of the root is refused
 *   (unless the operator asked to follow admin-placed symlinks, Pure-FTPd's virtual chroot).
 * - Operations on an entry itself (delete, rename, create) resolve only the parent and keep the final
 *   name, so a final symlink is never followed; the caller opens with O_NOFOLLOW.
 * Remaining window: between realpath() and the open a local user could swap a directory for a
 * symlink (Node has no openat2/RESOLVE_BENEATH); FTP clients cannot create symlinks.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { FtpError, errnoCode } from '../errors.js';
import type { VPath } from './types.js';

/** Longest file-name component in bytes (NAME_MAX). */
export const MAX_NAME_BYTES = 255;
/** Longest virtual path in bytes (PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** Normalises `arg` against the current directory; `~` means the account's virtual home. */
export function resolveVirtual(cwd: VPath, arg: string, home: VPath = '/'): VPath {
  if (arg.includes('\0') || arg.includes('\\')) {
    throw new FtpError('ERR_BAD_NAME', 553, `Prohibited file name: ${arg}`);
  }
  let base = cwd;
  let rest = arg;
  if (rest === '~' || rest.startsWith('~/')) {
    base = home;
    rest = rest.slice(1);
  }
  if (rest.startsWith('/')) base = '/';
  const parts = base === '/' ? [] : base.slice(1).split('/');
  for (const part of rest.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      parts.pop();
      continue;
    }
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) {
      throw new FtpError('ERR_BAD_NAME', 553, `Prohibited file name: ${arg.slice(0, 64)}...`);
    }
    parts.push(part);
  }
  const out = '/' + parts.join('/');
  if (Buffer.byteLength(out) > MAX_PATH_BYTES) {
    throw new FtpError('ERR_BAD_NAME', 553, 'File name too long');
  }
  return out;
}

/** The last component of a virtual path (`''` for `/`). */
export function baseName(p: VPath): string {
  return p === '/' ? '' : p.slice(p.lastIndexOf('/') + 1);
}

/** The parent of a virtual path (`/` for `/`). */
export function parentOf(p: VPath): VPath {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** Joins a virtual directory and a name. */
export function joinVirtual(dir: VPath, name: string): VPath {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `real` is `root` or inside it on a separator boundary. */
export function isInside(root: string, real: string): boolean {
  return root === '/' || real === root || real.startsWith(root + '/');
}

function notFound(cause?: unknown): FtpError {
  return new FtpError('ERR_NOT_FOUND', 550, 'No such file or directory', { cause });
}

/** Maps virtual paths of one account onto the real filesystem under `root`. */
export class Jail {
  /** @param root canonical (realpath'ed) absolute root directory */
  constructor(
    readonly root: string,
    private readonly followSymlinksOut = false,
  ) {}

  /** Lexical real path, no filesystem access. */
  lexical(p: VPath): string {
    if (p === '/') return this.root;
    return this.root === '/' ? p : this.root + p;
  }

  /** Canonical real path of an existing entry, following every symlink; refused if it leaves the root. */
  async toRealFollow(p: VPath): Promise<string> {
    const lexical = this.lexical(p);
    if (this.followSymlinksOut) return lexical;
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (err) {
      throw this.mapError(err);
    }
    if (!isInside(this.root, real)) {
      throw new FtpError('ERR_JAIL', 550, 'No such file or directory', {
        detail: `symlink leaves the root: ${lexical} -> ${real}`,
      });
    }
    return real;
  }

  /**
   * Real path of the entry itself: the parent is canonicalised and checked, the final name is kept
   * as is (a final symlink is not followed). The parent must exist; the entry need not.
   */
  async toRealEntry(p: VPath): Promise<string> {
    if (p === '/') return this.root;
    const parent = await this.toRealFollow(parentOf(p));
    return path.join(parent, baseName(p));
  }

  private mapError(err: unknown): FtpError {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return notFound(err);
    if (code === 'ELOOP')
      return new FtpError('ERR_JAIL', 550, 'Too many levels of symbolic links', { cause: err });
    if (code === 'EACCES') return new FtpError('ERR_PERMISSION', 550, 'Permission denied', { cause: err });
    if (code === 'ENAMETOOLONG')
      return new FtpError('ERR_BAD_NAME', 553, 'File name too long', { cause: err });
    return new FtpError('ERR_IO', 550, 'Input/output error', { cause: err });
  }
}
