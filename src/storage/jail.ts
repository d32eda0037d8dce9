/**
 * Virtual paths (SECURITY.md lists this file): resolveVirtual() turns any client argument into a
 * normalised virtual path that never rises above `/` (`..` at the top stays at `/`); NUL, backslash
 * and over-long names are refused. This is lexical only: the real confinement, symlinks included, is
 * the kernel's (confined.ts resolves every virtual path below the account root with openat2).
 */
import { FtpError } from '../errors.js';
import type { VPath } from './types.js';
import { hasRawBytes, nameToBytes } from './name-bytes.js';
import { tr } from '../i18n/msg.js';

/** Longest file-name component in bytes (NAME_MAX). */
export const MAX_NAME_BYTES = 255;
/** Longest virtual path in bytes (PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** Bytes of a name on disk: a raw byte carried as an escape (name-bytes.ts) is one byte, not three. */
function byteLength(name: string): number {
  return hasRawBytes(name) ? nameToBytes(name).length : Buffer.byteLength(name);
}

/** Normalises `arg` against the current directory; `~` means the account's virtual home. */
export function resolveVirtual(cwd: VPath, arg: string, home: VPath = '/'): VPath {
  if (arg.includes('\0') || arg.includes('\\')) {
    throw new FtpError('ERR_BAD_NAME', tr`Prohibited file name: ${arg}`);
  }
  let base = cwd;
  let rest = arg;
  if (rest === '~' || rest.startsWith('~/')) {
    // `~/x` is the home's x (upstream §2.3): what follows `~` is relative to the home.
    base = home;
    rest = rest.slice(1);
  } else if (rest.startsWith('/')) {
    base = '/';
  }
  const parts = base === '/' ? [] : base.slice(1).split('/');
  for (const part of rest.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      parts.pop();
      continue;
    }
    if (byteLength(part) > MAX_NAME_BYTES) {
      throw new FtpError('ERR_BAD_NAME', tr`Prohibited file name: ${arg.slice(0, 64)}...`);
    }
    parts.push(part);
  }
  const out = '/' + parts.join('/');
  if (byteLength(out) > MAX_PATH_BYTES) {
    throw new FtpError('ERR_BAD_NAME', tr`File name too long`);
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
