/**
 * Local filesystem Storage: every path goes through the Jail; final components are opened with
 * O_NOFOLLOW; uploads that replace existing data go through a temp file in the same directory so an
 * aborted or failed upload never destroys the previous content (spec §6.4 -0, REST uploads).
 */
import { constants as C, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { FtpError, errnoCode } from '../errors.js';
import { Jail, baseName, joinVirtual, parentOf } from './jail.js';
import { scanDirectory } from './scan.js';
import { openFast } from './open-fast.js';
import { FileSink } from './file-sink.js';
import type {
  DirScan,
  ScanOrder,
  Entry,
  ReadHandle,
  StatFs,
  Storage,
  UploadSink,
  VPath,
  WriteOptions,
} from './types.js';

/** Read chunk size: large chunks keep the data path fast (ARCHITECTURE §6). */
export const READ_CHUNK = 1024 * 1024;
/** How many lstat() calls one listing keeps in flight. */
const STAT_CONCURRENCY = 32;
/** Upper bound of autorename attempts (name.1 ... name.N). */
const MAX_AUTORENAME = 9999;
/** Prefix of temp upload files; clients may not use it (see policy). */
export const TEMP_PREFIX = '.pureftpd-upload.';

/** Options of one session's local storage. */
export interface LocalStorageOptions {
  /** Canonical root of the account. */
  root: string;
  followSymlinksOut: boolean;
  umask: { file: number; dir: number };
  /** Owner given to new files and directories (set when the server runs as root). */
  owner?: { uid: number; gid: number };
  /** Identity used for write-permission checks when the process is root; undefined: ask the kernel. */
  identity?: { uid: number; gids: number[] };
  /** Tag made of session start and server port, for temp names (spec §6.4). */
  tempTag: string;
}

/**
 * Cuts a discarded in-place append back to the size the file had before it (spec §5.1: an upload
 * stopped by the quota leaves nothing behind). The name is reopened without following symlinks and
 * must still be the same inode, so a file swapped in meanwhile is never truncated.
 */
async function truncateAppend(a: { real: string; size: number; ino: number }): Promise<void> {
  const fh = await fsp.open(a.real, C.O_WRONLY | C.O_NOFOLLOW | C.O_NONBLOCK).catch(() => undefined);
  if (fh === undefined) return;
  try {
    const st = await fh.stat();
    if (st.isFile() && st.ino === a.ino && st.size > a.size) await fh.truncate(a.size);
  } finally {
    await fh.close();
  }
}

function entryFrom(name: string, st: Stats, linkTarget?: string): Entry {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    name,
    type,
    size: st.size,
    mtime: st.mtime,
    mode: st.mode,
    nlink: st.nlink,
    uid: st.uid,
    gid: st.gid,
    dev: st.dev,
    ino: st.ino,
    linkTarget,
  };
}

/** True when mode bits grant `want` (2 = write, 1 = search) to identity (root bypasses). */
export function permits(st: Stats, who: { uid: number; gids: number[] }, want: number): boolean {
  if (who.uid === 0) return true;
  let bits: number;
  if (st.uid === who.uid) bits = (st.mode >> 6) & 7;
  else if (who.gids.includes(st.gid)) bits = (st.mode >> 3) & 7;
  else bits = st.mode & 7;
  return (bits & want) === want;
}

/** Storage on the local filesystem below one root directory. */
export class LocalStorage implements Storage {
  readonly jail: Jail;

  constructor(private readonly opts: LocalStorageOptions) {
    this.jail = new Jail(opts.root, opts.followSymlinksOut);
  }

  describe(p: VPath): string {
    return this.jail.lexical(p);
  }

  async stat(p: VPath): Promise<Entry> {
    const real = await this.jail.toRealFollow(p);
    return entryFrom(baseName(p), await fsp.stat(real));
  }

  async lstat(p: VPath): Promise<Entry> {
    const real = await this.jail.toRealEntry(p);
    const st = await fsp.lstat(real);
    const target = st.isSymbolicLink() ? await fsp.readlink(real).catch(() => undefined) : undefined;
    return entryFrom(baseName(p), st, target);
  }

  async *names(p: VPath): AsyncIterable<string> {
    const real = await this.jail.toRealFollow(p);
    const dir = await fsp.opendir(real, { bufferSize: 128 });
    for await (const dirent of dir) yield dirent.name;
  }

  async scan(dir: VPath, max: number, order: ScanOrder = 'none'): Promise<DirScan> {
    return scanDirectory(await this.jail.toRealFollow(dir), max, order);
  }

  async statMany(dir: VPath, names: readonly string[]): Promise<(Entry | undefined)[]> {
    const realDir = await this.jail.toRealFollow(dir);
    const out: (Entry | undefined)[] = new Array(names.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const i = next++;
        const name = names[i]!;
        // `..` of the root is the root itself, as in a real chroot: the host's parent never shows.
        const full = name === '..' && realDir === this.jail.root ? realDir : path.join(realDir, name);
        try {
          const st = await fsp.lstat(full);
          const target = st.isSymbolicLink() ? await fsp.readlink(full).catch(() => undefined) : undefined;
          out[i] = entryFrom(name, st, target);
        } catch {
          out[i] = undefined; // vanished between readdir and lstat
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, names.length) }, worker));
    return out;
  }

  async openRead(p: VPath, offset: number): Promise<ReadHandle> {
    // Reads no bigger than the file: a 4 KiB file must not cost a 1 MiB buffer (GC churn).
    const chunkFor = (size: number): number => Math.max(16 * 1024, Math.min(READ_CHUNK, size - offset));
    if (!this.opts.followSymlinksOut) {
      const fast = await openFast(this.jail.root, this.jail.lexical(p), offset, READ_CHUNK);
      if (fast !== undefined) return fast;
    }
    const real = await this.jail.toRealFollow(p);
    // O_NONBLOCK: a FIFO swapped in opens at once and is refused, never holding a pool thread.
    const fh = await fsp.open(real, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new FtpError('ERR_NOT_FILE', 550, 'I can only retrieve regular files');
      let open = true;
      return {
        size: st.size,
        fd: fh.fd,
        read: async (buf, length, position) => (await fh.read(buf, 0, length, position)).bytesRead,
        stream: () => {
          open = false;
          return fh.createReadStream({ start: offset, highWaterMark: chunkFor(st.size), autoClose: true });
        },
        close: async () => {
          if (!open) return;
          open = false;
          await fh.close().catch(() => undefined);
        },
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async openWrite(p: VPath, o: WriteOptions): Promise<UploadSink> {
    if (o.unique) return this.openUnique(p);
    const real = await this.jail.toRealEntry(p);
    let existing: Stats | undefined;
    try {
      existing = await fsp.lstat(real);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (existing !== undefined && !existing.isFile()) {
      throw new FtpError('ERR_NOT_FILE', 553, 'Not a regular file');
    }
    if (existing !== undefined && o.refuseNonEmpty && existing.size > 0) {
      throw new FtpError('ERR_PERMISSION', 550, 'Anonymous users may not overwrite existing files');
    }
    const size = existing?.size ?? 0;
    // -r never resumes: the upload always lands as a new name (spec §6.4).
    const offset = o.autoRename ? 0 : o.append ? size : Math.min(o.offset, size);
    const resumed = existing !== undefined && !o.autoRename && (o.append || offset > 0);

    if (existing === undefined && !o.atomic && !o.autoRename) {
      // A new file is written in place: a partial file stays for a later resume (REST/APPE).
      try {
        const fh = await fsp.open(real, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, this.fileMode());
        await this.chownNew(fh);
        await fh.chmod(this.fileMode());
        return this.sink(p, new FileSink(fh, 0, false), {
          previousSize: 0,
          startOffset: 0,
          created: true,
          partial: real,
        });
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        return this.openWrite(p, o); // lost a race with another upload: treat as existing
      }
    }
    if (resumed && offset === size && !o.atomic && !o.autoRename) {
      // Appending keeps every previous byte; no temp file is needed.
      const fh = await fsp.open(real, C.O_WRONLY | C.O_APPEND | C.O_NOFOLLOW | C.O_NONBLOCK);
      const st = await fh.stat();
      if (!st.isFile() || st.ino !== existing!.ino) {
        await fh.close();
        throw new FtpError('ERR_NOT_FILE', 553, 'Not a regular file');
      }
      return this.sink(p, new FileSink(fh, size, true), {
        previousSize: size,
        startOffset: size,
        created: false,
        appended: { real, size, ino: st.ino },
      });
    }
    // Everything else goes through a temp file renamed (or linked) over the target at commit.
    const temp = path.join(path.dirname(real), this.tempName());
    if (resumed && offset > 0) {
      await fsp.copyFile(real, temp, C.COPYFILE_EXCL);
      await fsp.truncate(temp, offset);
    }
    const flags = C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW | (resumed && offset > 0 ? C.O_APPEND : C.O_EXCL);
    const mode = existing ? existing.mode & 0o7777 : this.fileMode();
    const fh = await fsp.open(temp, flags, mode);
    if (existing) await fh.chown(existing.uid, existing.gid).catch(() => undefined);
    else await this.chownNew(fh);
    await fh.chmod(mode);
    return this.sink(p, new FileSink(fh, resumed ? offset : 0, resumed && offset > 0), {
      // -r lands on a new name: nothing is replaced, whatever exists under the asked name.
      previousSize: o.autoRename ? 0 : size,
      startOffset: resumed ? offset : 0,
      created: existing === undefined || o.autoRename,
      temp,
      real,
      autoRename: o.autoRename,
    });
  }

  private async openUnique(dir: VPath): Promise<UploadSink> {
    const realDir = await this.jail.toRealFollow(dir);
    for (let attempt = 0; attempt < 16; attempt++) {
      const now = Date.now();
      const name =
        `pureftpd.${Math.floor(now / 1000)
          .toString(16)
          .padStart(8, '0')}.` +
        `${(now % 256).toString(16).padStart(2, '0')}.${randomBytes(2).toString('hex')}`;
      try {
        const real = path.join(realDir, name);
        const fh = await fsp.open(real, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, this.fileMode());
        await this.chownNew(fh);
        await fh.chmod(this.fileMode());
        return this.sink(joinVirtual(dir, name), new FileSink(fh, 0, false), {
          previousSize: 0,
          startOffset: 0,
          created: true,
          partial: real,
        });
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
    }
    throw new FtpError('ERR_EXISTS', 553, 'Unable to create a unique file name');
  }

  private sink(
    target: VPath,
    stream: Writable,
    s: {
      previousSize: number;
      startOffset: number;
      created: boolean;
      temp?: string;
      real?: string;
      partial?: string;
      /** An in-place append: the file, its size before the upload and its inode. */
      appended?: { real: string; size: number; ino: number };
      autoRename?: boolean;
    },
  ): UploadSink {
    let done = false;
    const closed = (): Promise<void> =>
      new Promise((resolve) => {
        if (stream.closed || stream.destroyed) resolve();
        else stream.once('close', () => resolve());
      });
    return {
      stream,
      target,
      previousSize: s.previousSize,
      startOffset: s.startOffset,
      created: s.created,
      inPlace: s.temp === undefined,
      commit: async () => {
        done = true;
        await closed();
        if (s.temp === undefined || s.real === undefined) return target;
        if (s.autoRename !== true) {
          await fsp.rename(s.temp, s.real);
          return target;
        }
        return this.linkFirstFree(s.temp, s.real, target);
      },
      abort: async (opts) => {
        if (done) return;
        done = true;
        if (!stream.destroyed) stream.destroy();
        await closed();
        if (s.temp !== undefined) await fsp.unlink(s.temp).catch(() => undefined);
        else if (opts?.discard && s.partial !== undefined) await fsp.unlink(s.partial).catch(() => undefined);
        else if (opts?.discard && s.appended !== undefined) await truncateAppend(s.appended);
      },
    };
  }

  /** -r: hard-links the finished temp file to the first free name among name, name.1, name.2, ... */
  private async linkFirstFree(temp: string, real: string, target: VPath): Promise<VPath> {
    for (let n = 0; n <= MAX_AUTORENAME; n++) {
      const suffix = n === 0 ? '' : `.${n}`;
      try {
        await fsp.link(temp, real + suffix);
        await fsp.unlink(temp);
        return target + suffix;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') {
          await fsp.unlink(temp).catch(() => undefined);
          throw err;
        }
      }
    }
    await fsp.unlink(temp).catch(() => undefined);
    throw new FtpError('ERR_EXISTS', 553, 'Too many files with this name');
  }

  async mkdir(p: VPath): Promise<void> {
    const real = await this.jail.toRealEntry(p);
    await fsp.mkdir(real, 0o777 & ~this.opts.umask.dir);
    if (this.opts.owner)
      await fsp.lchown(real, this.opts.owner.uid, this.opts.owner.gid).catch(() => undefined);
    // The process umask must not narrow -U (Pure-FTPd runs with umask 0, spec §6.4); fchmod through
    // an O_NOFOLLOW handle so a swapped-in symlink is never followed.
    const want = 0o777 & ~this.opts.umask.dir;
    if (((await fsp.lstat(real)).mode & 0o7777) === want) return;
    const dh = await fsp.open(real, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW).catch(() => undefined);
    try {
      await dh?.chmod(want);
    } finally {
      await dh?.close();
    }
  }

  async rmdir(p: VPath): Promise<void> {
    if (p === '/') throw new FtpError('ERR_PERMISSION', 550, 'Permission denied');
    await fsp.rmdir(await this.jail.toRealEntry(p));
  }

  async unlink(p: VPath): Promise<void> {
    const real = await this.jail.toRealEntry(p);
    const st = await fsp.lstat(real);
    if (st.isDirectory()) throw new FtpError('ERR_IS_DIR', 550, 'Is a directory');
    await fsp.unlink(real);
  }

  async rename(from: VPath, to: VPath): Promise<void> {
    if (from === '/' || to === '/') throw new FtpError('ERR_PERMISSION', 550, 'Permission denied');
    const a = await this.jail.toRealEntry(from);
    const b = await this.jail.toRealEntry(to);
    await fsp.rename(a, b);
  }

  async chmod(p: VPath, mode: number): Promise<void> {
    const real = await this.jail.toRealFollow(p);
    // "chmod 0 /" protection (spec §12): the root of the jail always keeps owner rwx.
    await fsp.chmod(real, real === this.jail.root ? mode | 0o700 : mode);
  }

  async setTimes(p: VPath, mtime: Date): Promise<void> {
    const real = await this.jail.toRealFollow(p);
    await fsp.utimes(real, mtime, mtime);
  }

  async statfs(p: VPath): Promise<StatFs> {
    const real = await this.jail.toRealFollow(p);
    const s = await fsp.statfs(real);
    return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
  }

  async canWrite(dir: VPath): Promise<boolean> {
    try {
      const real = await this.jail.toRealFollow(dir);
      if (this.opts.identity === undefined) {
        await fsp.access(real, C.W_OK | C.X_OK);
        return true;
      }
      return permits(await fsp.stat(real), this.opts.identity, 3);
    } catch {
      return false;
    }
  }

  private fileMode(): number {
    // Pure-FTPd creates files with 0777 & ~umask (so -U 022:022 gives 0755 files, spec §6.4); it runs
    // with a process umask of 0, so every creation here sets the mode explicitly after open/mkdir.
    return 0o777 & ~this.opts.umask.file;
  }

  private async chownNew(fh: fsp.FileHandle): Promise<void> {
    if (this.opts.owner) await fh.chown(this.opts.owner.uid, this.opts.owner.gid).catch(() => undefined);
  }

  private tempName(): string {
    return `${TEMP_PREFIX}${this.opts.tempTag}.${process.pid.toString(16)}.${randomBytes(4).toString('hex')}`;
  }
}

/** The parent directory of a path, re-exported for handlers that check write permission. */
export { parentOf };
