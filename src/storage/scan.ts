/**
 * Whole-directory scans for listings: the tsftpd_fs addon reads and lstat's every entry in one
 * thread-pool job (native/dirscan.c), instead of one promise and one thread-pool round trip per
 * entry. Without the addon the same result is built from opendir + lstat, more slowly.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { loadAddon } from '../native-addons.js';
import type { Entry } from './types.js';
import { yieldIfBusy } from '../session/yield.js';

/** What the addon returns (see native/dirscan.c). */
interface RawScan {
  names: Buffer;
  ends: Uint32Array;
  links: (number | string)[];
  stats: Float64Array;
  truncated: boolean;
}

/** What openFile returns (see native/dirscan.c): err 0, or errno, -1 outside the root, -2 not a file. */
interface RawOpen {
  err: number;
  fd?: number;
  size?: number;
  mode?: number;
  data?: Buffer;
}

interface FsAddon {
  scanDir(dir: string, max: number): Promise<RawScan>;
  openFile(root: string, path: string, offset: number, maxInline: number): Promise<RawOpen>;
}

/** A scanned directory: entries in readdir order, and whether `max` cut the scan short. */
export interface DirScan {
  entries: Entry[];
  truncated: boolean;
}

const FIELDS = 8;
const S_IFMT = 0o170000;

function typeOf(mode: number): Entry['type'] {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

let addon: Promise<FsAddon | undefined> | undefined;

/** The addon, or undefined when it was not built (callers then use fs.promises). */
export function fsAddon(): Promise<FsAddon | undefined> {
  addon ??= loadAddon<FsAddon>('tsftpd_fs', 'run "npm install"').catch(() => undefined);
  return addon;
}

/** Scans `realDir` (already confined by the jail), at most `max` entries. */
export async function scanDirectory(realDir: string, max: number): Promise<DirScan> {
  const native = await fsAddon();
  if (native === undefined) return scanWithPromises(realDir, max);
  let raw: RawScan;
  try {
    raw = await native.scanDir(realDir, max);
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    // Same error shape as fs.promises, so callers map it to replies the same way.
    const code =
      errno === 2
        ? 'ENOENT'
        : errno === 20
          ? 'ENOTDIR'
          : errno === 13
            ? 'EACCES'
            : errno === 40
              ? 'ELOOP'
              : 'EIO';
    throw Object.assign(new Error(`scan ${code}`), { code });
  }
  const links = new Map<number, string>();
  for (let i = 0; i + 1 < raw.links.length; i += 2)
    links.set(raw.links[i] as number, raw.links[i + 1] as string);
  const entries: Entry[] = new Array(raw.ends.length);
  let start = 0;
  for (let i = 0; i < raw.ends.length; i++) {
    if ((i & 4095) === 4095) await yieldIfBusy();
    const end = raw.ends[i]!;
    const s = raw.stats;
    const o = i * FIELDS;
    const mode = s[o]!;
    entries[i] = {
      name: raw.names.toString('utf8', start, end),
      type: typeOf(mode),
      mode,
      size: s[o + 1]!,
      mtime: new Date(s[o + 2]!),
      nlink: s[o + 3]!,
      uid: s[o + 4]!,
      gid: s[o + 5]!,
      ino: s[o + 6]!,
      dev: s[o + 7]!,
      linkTarget: links.get(i),
    };
    start = end;
  }
  return { entries, truncated: raw.truncated };
}

/** The portable fallback: opendir + lstat with bounded concurrency. */
async function scanWithPromises(realDir: string, max: number): Promise<DirScan> {
  const names: string[] = [];
  let truncated = false;
  for await (const d of await fsp.opendir(realDir, { bufferSize: 256 })) {
    if (names.length >= max) {
      truncated = true;
      break;
    }
    names.push(d.name);
  }
  const entries: Entry[] = [];
  for (let i = 0; i < names.length; i += 64) {
    const batch = await Promise.all(
      names.slice(i, i + 64).map(async (name) => {
        const full = path.join(realDir, name);
        try {
          const st = await fsp.lstat(full);
          const linkTarget = st.isSymbolicLink()
            ? await fsp.readlink(full).catch(() => undefined)
            : undefined;
          return {
            name,
            type: typeOf(st.mode),
            mode: st.mode,
            size: st.size,
            mtime: st.mtime,
            nlink: st.nlink,
            uid: st.uid,
            gid: st.gid,
            ino: st.ino,
            dev: st.dev,
            linkTarget,
          } satisfies Entry;
        } catch {
          return undefined;
        }
      }),
    );
    for (const e of batch) if (e !== undefined) entries.push(e);
  }
  return { entries, truncated };
}
