/**
 * Whole-directory scans for listings: the tsftpd_fs addon reads, lstat's and (optionally) sorts every
 * entry in one thread-pool job (native/dirscan.c), instead of one promise and one thread-pool round
 * trip per entry, and with no sort on the event loop. The result stays compact (one names buffer, one
 * Float64Array): entries become objects only when a listing batch needs them, so a 100,000-entry
 * directory costs a few MB, not a hundred. Without the addon the same interface is built from
 * opendir + lstat, more slowly.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { loadAddon } from '../native-addons.js';
import type { DirScan, Entry, ScanOrder } from './types.js';
import { sortEntries } from './list-format.js';
import { sortNames } from './sort.js';

/** What scanDir returns (see native/dirscan.c). */
interface RawScan {
  names: Buffer;
  ends: Uint32Array;
  links: (number | string)[];
  stats: Float64Array;
  truncated: boolean;
}

/** What openFile returns (see native/dirscan.c): err 0, or errno, -1 outside the root, -2 not a file. */
export interface RawOpen {
  err: number;
  fd?: number;
  size?: number;
  mode?: number;
  data?: Buffer;
}

export interface FsAddon {
  scanDir(dir: string, max: number, order: number): Promise<RawScan>;
  openFile(root: string, path: string, offset: number, maxInline: number): Promise<RawOpen>;
  /** The same open when the kernel can do it without waiting (cached), else undefined. */
  openFileNow(root: string, path: string, offset: number, maxInline: number): RawOpen | undefined;
}

const ORDER_CODES: Record<ScanOrder, number> = { none: 0, name: 1, mtime: 2, size: 3 };

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

/** The addon's compact result behind the DirScan interface. */
class NativeScan implements DirScan {
  readonly count: number;
  readonly truncated: boolean;
  private readonly links = new Map<number, string>();

  constructor(private readonly raw: RawScan) {
    this.count = raw.ends.length;
    this.truncated = raw.truncated;
    for (let i = 0; i + 1 < raw.links.length; i += 2) {
      this.links.set(raw.links[i] as number, raw.links[i + 1] as string);
    }
  }

  name(i: number): string {
    return this.raw.names.toString('utf8', i === 0 ? 0 : this.raw.ends[i - 1]!, this.raw.ends[i]!);
  }

  entry(i: number): Entry {
    const s = this.raw.stats;
    const o = i * FIELDS;
    const mode = s[o]!;
    return {
      name: this.name(i),
      type: typeOf(mode),
      mode,
      size: s[o + 1]!,
      mtime: new Date(s[o + 2]!),
      nlink: s[o + 3]!,
      uid: s[o + 4]!,
      gid: s[o + 5]!,
      ino: s[o + 6]!,
      dev: s[o + 7]!,
      linkTarget: this.links.get(i),
    };
  }
}

/** A DirScan over entries already built (the portable path). */
class ArrayScan implements DirScan {
  constructor(
    private readonly entries: Entry[],
    readonly truncated: boolean,
  ) {}

  get count(): number {
    return this.entries.length;
  }

  name(i: number): string {
    return this.entries[i]!.name;
  }

  entry(i: number): Entry {
    return this.entries[i]!;
  }
}

let addon: Promise<FsAddon | undefined> | undefined;

/** The addon, or undefined when it was not built (callers then use fs.promises). */
export function fsAddon(): Promise<FsAddon | undefined> {
  addon ??= loadAddon<FsAddon>('tsftpd_fs', 'run "npm install"').catch(() => undefined);
  return addon;
}

/** Scans `realDir` (already confined by the jail), at most `max` entries, in `order`. */
export async function scanDirectory(
  realDir: string,
  max: number,
  order: ScanOrder = 'none',
): Promise<DirScan> {
  const native = await fsAddon();
  if (native === undefined) return scanWithPromises(realDir, max, order);
  try {
    return new NativeScan(await native.scanDir(realDir, max, ORDER_CODES[order]));
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
}

/** The portable fallback: opendir + lstat with bounded concurrency, sorted in JavaScript. */
async function scanWithPromises(realDir: string, max: number, order: ScanOrder): Promise<DirScan> {
  const names: string[] = [];
  let truncated = false;
  for await (const d of await fsp.opendir(realDir, { bufferSize: 256 })) {
    if (names.length >= max) {
      truncated = true;
      break;
    }
    names.push(d.name);
  }
  let entries: Entry[] = [];
  for (let i = 0; i < names.length; i += 64) {
    const batch = await Promise.all(
      names.slice(i, i + 64).map(async (name): Promise<Entry | undefined> => {
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
          };
        } catch {
          return undefined;
        }
      }),
    );
    for (const e of batch) if (e !== undefined) entries.push(e);
  }
  if (order === 'name') {
    const byName = new Map(entries.map((e) => [e.name, e]));
    entries = sortNames(entries.map((e) => e.name)).map((n) => byName.get(n)!);
  } else if (order !== 'none') {
    entries = sortEntries(entries, {
      reverse: false,
      sortTime: order === 'mtime',
      sortSize: order === 'size',
    });
  }
  return new ArrayScan(entries, truncated);
}
