/**
 * The one module that resolves an account's paths (SECURITY.md lists this file). It drives the
 * tsftpd_fs addon (native/confined.c, native/dirscan.c), where every operation resolves its path
 * in the kernel, from the account root's directory descriptor, in one step:
 * - confined roots use openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): no symlink, `..` or
 *   rename race can reach outside the root; entry operations act with *at() calls on the final
 *   name of a parent opened that way, so a final symlink is never followed;
 * - when the server runs as root, every operation runs with the account's uid, gid and groups as
 *   the thread's file-system identity, so the kernel judges permissions as it would for the account;
 * - names travel as bytes (name-bytes.ts), never re-encoded.
 * Without openat2 (Linux < 5.6) a confined root is refused unless the operator accepted the weaker
 * component-by-component walk (--weak-jail); unconfined roots (no chroot, or -follow symlinks out of
 * the root) resolve plainly. Errors come out shaped as fs.promises' (code, errno), except a path
 * that would leave the root: FtpError ERR_JAIL.
 */
import { close } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { constants as OS } from 'node:os';
import { FtpError } from '../errors.js';
import { loadAddon } from '../native-addons.js';
import { bytesToName, nameToBytes } from './name-bytes.js';
import type { Entry, OpenedFile, RawScan, RootFs, VPath } from './types.js';
import { tr } from '../i18n/msg.js';

/** Who file operations act as (applied when the process is root). */
export interface Identity {
  uid: number;
  gid: number;
  /** Supplementary groups (initgroups of the account). */
  groups: readonly number[];
}

/** How a root resolves paths. */
export type RootMode = 'beneath' | 'free' | 'walk';

/** What one operation returns (see native/confined.c). */
interface RawResult {
  err: number;
  st?: Float64Array;
  link?: Buffer;
  data?: Buffer;
  fd?: number;
  total?: number;
  avail?: number;
  root?: RootHandle;
}

/** An opaque root handle of the addon. */
type RootHandle = { readonly __root: unique symbol };

interface OpKinds {
  stat: number;
  open: number;
  read: number;
  mkdir: number;
  rmdir: number;
  unlink: number;
  rename: number;
  link: number;
  chmod: number;
  utimes: number;
  statfs: number;
  access: number;
  copy: number;
}

/** The addon's exports. */
interface FsAddon {
  /** A descriptor given here belongs to the addon from the call on. */
  openRoot(path: Buffer | number, mode: number, identity: Int32Array | null): Promise<RawResult>;
  closeRoot(root: RootHandle): void;
  op(
    root: RootHandle | null,
    kind: number,
    path: Buffer | null,
    path2: Buffer | null,
    a: number,
    b: number,
    c: number,
  ): Promise<RawResult>;
  readNow(root: RootHandle, path: Buffer, offset: number, maxInline: number): RawResult | undefined;
  hasOpenat2(): boolean;
  scanDir(root: RootHandle, path: Buffer, max: number, order: number): Promise<RawScan>;
  lstatNames(root: RootHandle, dir: Buffer, names: Buffer): Promise<RawScan>;
  ops: OpKinds;
  ERR_NOT_REGULAR: number;
}

/** Result code of native/confined.c for a path that would leave the root. */
const ERR_ESCAPE = 1001;

let addon: Promise<FsAddon> | undefined;

/** The addon; rejects with what to do when it is missing (the jail cannot work without it). */
export function fsAddon(): Promise<FsAddon> {
  addon ??= loadAddon<FsAddon>('tsftpd_fs', 'the confined file layer is required: run "npm rebuild"');
  return addon;
}

/** True when the kernel offers openat2 (Linux >= 5.6). */
export async function kernelConfinement(): Promise<boolean> {
  return (await fsAddon()).hasOpenat2();
}

/** What the start-up log says when accounts cannot be confined by the kernel; undefined when they can. */
export async function confinementNotice(weak: boolean): Promise<string | undefined> {
  if (await kernelConfinement()) return undefined;
  return weak
    ? 'this kernel has no openat2 (Linux < 5.6): accounts are confined by a userland path walk (--weak-jail), ' +
        'which a directory moved out of a home during a lookup can defeat'
    : 'this kernel has no openat2 (Linux < 5.6): logins of accounts confined to a home are refused; ' +
        '--weak-jail accepts a weaker userland check';
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(OS.errno).map(([name, value]) => [value, name]));

/** A system error shaped like fs.promises' (code + errno), for the same reply mapping. */
export function systemError(errno: number, what = ''): Error {
  const code = ERRNO_NAMES.get(errno) ?? 'EIO';
  return Object.assign(new Error(what === '' ? code : `${code}: ${what}`), { code, errno: -errno });
}

/** The stat fields of the addon as an Entry. */
export function entryOf(name: string, st: Float64Array, offset = 0, linkTarget?: string): Entry {
  const mode = st[offset];
  const fmt = mode & 0o170000;
  return {
    name,
    type: fmt === 0o100000 ? 'file' : fmt === 0o040000 ? 'dir' : fmt === 0o120000 ? 'symlink' : 'other',
    mode,
    size: st[offset + 1],
    mtime: new Date(st[offset + 2]),
    nlink: st[offset + 3],
    uid: st[offset + 4],
    gid: st[offset + 5],
    ino: st[offset + 6],
    dev: st[offset + 7],
    linkTarget,
  };
}

/**
 * Copies the first `length` bytes of one open descriptor into another (copy_file_range on the
 * thread pool): descriptors carry their own rights, so this needs no root.
 */
export async function copyRange(from: number, to: number, length: number): Promise<void> {
  const native = await fsAddon();
  const r = await native.op(null, native.ops.copy, null, null, from, to, length);
  if (r.err !== 0) throw systemError(r.err);
}

/** A virtual path as the addon takes it: relative bytes, the root itself being empty. */
function rel(p: VPath): Buffer {
  return p === '/' ? Buffer.alloc(0) : nameToBytes(p.startsWith('/') ? p.slice(1) : p);
}

/** The last component of a virtual path. */
function lastName(p: VPath): string {
  return p === '/' ? '' : p.slice(p.lastIndexOf('/') + 1);
}

/** One account root, opened once per session; every path of the session is resolved from it. */
export class ConfinedRoot implements RootFs {
  private constructor(
    private readonly native: FsAddon,
    private readonly handle: RootHandle,
    /** The real root, for logs only. */
    readonly realPath: string,
    readonly mode: RootMode,
  ) {}

  /**
   * Opens `path` (absolute; made canonical here) as an account root. `confine` false makes an unconfined
   * root (accounts without a chroot, -follow symlinks out); `weak` accepts the userland walk when
   * the kernel has no openat2; `identity` is applied to every operation when the process is root.
   */
  static async open(
    path: string,
    opts: { confine: boolean; weak?: boolean; identity?: Identity },
  ): Promise<ConfinedRoot> {
    return ConfinedRoot.make(await realpath(path), opts);
  }

  /**
   * A root from a directory descriptor opened by a process that may reach it (a root parent, as
   * Pure-FTPd enters the home before it drops root): the descriptor is taken over, even on error.
   * `realPath` is its canonical path, for logs and names only: nothing is resolved through it.
   */
  static fromDescriptor(
    fd: number,
    realPath: string,
    opts: { confine: boolean; weak?: boolean; identity?: Identity },
  ): Promise<ConfinedRoot> {
    return ConfinedRoot.make(realPath, opts, fd);
  }

  private static async make(
    realPath: string,
    opts: { confine: boolean; weak?: boolean; identity?: Identity },
    fd?: number,
  ): Promise<ConfinedRoot> {
    let native: FsAddon;
    try {
      native = await fsAddon();
    } catch (err) {
      if (fd !== undefined) close(fd, () => undefined);
      throw err;
    }
    let mode: RootMode = opts.confine ? 'beneath' : 'free';
    if (opts.confine && !native.hasOpenat2()) {
      if (opts.weak !== true) {
        if (fd !== undefined) close(fd, () => undefined);
        throw new FtpError('ERR_HOME', tr`Home directory not available - aborting`, {
          detail: 'this kernel has no openat2 (Linux >= 5.6): confined accounts need --weak-jail',
        });
      }
      mode = 'walk';
    }
    const id = opts.identity;
    const identity = id === undefined ? null : Int32Array.from([id.uid, id.gid, ...id.groups]);
    const code = mode === 'beneath' ? 0 : mode === 'free' ? 1 : 2;
    const r = await native.openRoot(fd ?? nameToBytes(realPath), code, identity);
    if (r.err !== 0 || r.root === undefined) throw systemError(r.err, realPath);
    return new ConfinedRoot(native, r.root, realPath, mode);
  }

  /** Stops using the root (jobs in flight finish first). */
  close(): void {
    this.native.closeRoot(this.handle);
  }

  private async call(
    kind: number,
    p: VPath | null,
    p2: VPath | null,
    a = 0,
    b = 0,
    c = 0,
  ): Promise<RawResult> {
    const r = await this.native.op(
      this.handle,
      kind,
      p === null ? null : rel(p),
      p2 === null ? null : rel(p2),
      a,
      b,
      c,
    );
    if (r.err === 0) return r;
    if (r.fd !== undefined) this.closeFd(r.fd);
    throw this.failure(r.err, p);
  }

  private failure(err: number, p: VPath | null): Error {
    if (err === ERR_ESCAPE) {
      return new FtpError('ERR_JAIL', tr`No such file or directory`, {
        detail: `path leaves the root: ${this.realPath} + ${p ?? ''}`,
      });
    }
    if (err === this.native.ERR_NOT_REGULAR) {
      return new FtpError('ERR_NOT_FILE', tr`I can only retrieve regular files`);
    }
    return systemError(err);
  }

  private closeFd(fd: number): void {
    close(fd, () => undefined);
  }

  /** The entry at `p`; `follow` follows a final symlink (confined). */
  async stat(p: VPath, follow: boolean): Promise<Entry> {
    const r = await this.call(this.native.ops.stat, p, null, follow ? 1 : 0);
    return entryOf(lastName(p), r.st!, 0, r.link === undefined ? undefined : bytesToName(r.link));
  }

  /** open(2) with `flags` (O_EXCL creations get exactly `mode`); the descriptor is the caller's. */
  async open(p: VPath, flags: number, mode: number, follow: boolean): Promise<{ fd: number; entry: Entry }> {
    const r = await this.call(this.native.ops.open, p, null, flags, mode, follow ? 1 : 0);
    return { fd: r.fd!, entry: entryOf(lastName(p), r.st!) };
  }

  /**
   * Opens a regular file for download from `offset`: the remainder inline when it is at most
   * `maxInline` bytes and could be read whole, else the descriptor. Tries first without leaving
   * this thread when the kernel has everything cached (no waiting), then in the thread pool.
   */
  async read(p: VPath, offset: number, maxInline: number): Promise<OpenedFile> {
    const path = rel(p);
    const now = this.native.readNow(this.handle, path, offset, maxInline);
    const r = now ?? (await this.call(this.native.ops.read, p, null, offset, maxInline));
    return { fd: r.fd, data: r.data, entry: entryOf(lastName(p), r.st!) };
  }

  /** mkdir with exactly `mode`. */
  async mkdir(p: VPath, mode: number): Promise<void> {
    await this.call(this.native.ops.mkdir, p, null, mode);
  }

  /** rmdir of the entry itself. */
  async rmdir(p: VPath): Promise<void> {
    await this.call(this.native.ops.rmdir, p, null);
  }

  /** unlink of the entry itself (EISDIR for a directory). */
  async unlink(p: VPath): Promise<void> {
    await this.call(this.native.ops.unlink, p, null);
  }

  /** rename of the entry itself (a final symlink is moved, not followed). */
  async rename(from: VPath, to: VPath): Promise<void> {
    await this.call(this.native.ops.rename, from, to);
  }

  /** A hard link `to` of the entry `from` (EEXIST when `to` exists). */
  async link(from: VPath, to: VPath): Promise<void> {
    await this.call(this.native.ops.link, from, to);
  }

  /** chmod of what `p` resolves to (confined); the root itself keeps u+rwx. */
  async chmod(p: VPath, mode: number): Promise<void> {
    await this.call(this.native.ops.chmod, p, null, mode);
  }

  /** Sets access and modification times of what `p` resolves to. */
  async setTimes(p: VPath, mtime: Date): Promise<void> {
    const ms = mtime.getTime();
    const seconds = Math.floor(ms / 1000);
    await this.call(this.native.ops.utimes, p, null, seconds, (ms - seconds * 1000) * 1_000_000);
  }

  /** Size and free space of the file system holding `p`. */
  async statfs(p: VPath): Promise<{ total: number; free: number }> {
    const r = await this.call(this.native.ops.statfs, p, null);
    return { total: r.total ?? 0, free: r.avail ?? 0 };
  }

  /** True when the account has `mode` (fs.constants W_OK/X_OK/R_OK bits) on `p`. */
  async access(p: VPath, mode: number): Promise<boolean> {
    try {
      await this.call(this.native.ops.access, p, null, mode);
      return true;
    } catch {
      return false;
    }
  }

  /** Copies the first `length` bytes of one descriptor into another (resumed uploads). */
  copy(from: number, to: number, length: number): Promise<void> {
    return copyRange(from, to, length);
  }

  /** Every entry of a directory, at most `max`, in `order` (0 none, 1 name, 2 mtime, 3 size). */
  async scan(dir: VPath, max: number, order: number): Promise<RawScan> {
    try {
      return await this.native.scanDir(this.handle, rel(dir), max, order);
    } catch (err) {
      throw this.scanFailure(err, dir);
    }
  }

  /** lstat of each name of one directory, in order (missing ones have mode -1). */
  async lstatNames(dir: VPath, names: readonly string[]): Promise<RawScan> {
    const parts: Buffer[] = [];
    for (const name of names) parts.push(nameToBytes(name), Buffer.of(0));
    try {
      return await this.native.lstatNames(this.handle, rel(dir), Buffer.concat(parts));
    } catch (err) {
      throw this.scanFailure(err, dir);
    }
  }

  private scanFailure(err: unknown, dir: VPath): Error {
    const errno = (err as { errno?: number }).errno;
    return typeof errno === 'number' ? this.failure(errno, dir) : (err as Error);
  }
}
