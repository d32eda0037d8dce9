/**
 * Local filesystem Storage (SECURITY.md lists this file). Every path goes through the account's
 * ConfinedRoot (confined.ts): the kernel resolves it below the root and judges it with the
 * account's identity. Uploads that replace existing data go through a temp file in the same
 * directory so an aborted or failed upload never destroys the previous content (upstream §6.4 -0, REST
 * uploads); replacing a file needs write permission on that file (as Pure-FTPd's open(2) would),
 * and a replacement never carries setuid, setgid or sticky bits over.
 */
import { close, ftruncate } from 'node:fs';
import { constants as C } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createReadStream, read } from 'node:fs';
import { FtpError, errnoCode } from '../errors.js';
import { baseName, joinVirtual, parentOf } from './jail.js';
import { systemError } from './confined.js';
import { NativeScan, SCAN_ORDERS, NAMES_ONLY } from './scan.js';
import { FileSink } from './file-sink.js';
import { isLiveTemp, liveTemps } from './temp-files.js';
import { tr, type Msg } from '../i18n/msg.js';
import type {
  DirScan,
  ScanOrder,
  Entry,
  ReadHandle,
  StatFs,
  Storage,
  UploadSink,
  RootFs,
  VPath,
  WriteOptions,
} from './types.js';

/** Read chunk size: large chunks keep the data path fast (docs/performance.md). */
export const READ_CHUNK = 1024 * 1024;
/** Files up to this size are read in the same job as the open. */
export const INLINE_MAX = 128 * 1024;
/** Upper bound of autorename attempts (name.1 ... name.N). */
const MAX_AUTORENAME = 9999;
/** Most names a name-only directory read returns (NLST, globs). */
const MAX_NAMES = 1_000_000;
/** Prefix of temp upload files; clients may not use it (see policy). */
export const TEMP_PREFIX = '.pureftpd-upload.';
/**
 * Mode bits never carried over to a replaced file, nor set by SITE CHMOD: setuid, setgid, sticky.
 * tsftpd's rule (Pure-FTPd's own SITE CHMOD accepts up to 07777; docs/compatibility.md): an FTP
 * account must never be able to make a set-id program.
 */
const SPECIAL_BITS = 0o7000;

/** Options of one session's local storage. */
export interface LocalStorageOptions {
  /** The account root, opened at login; closed by close(). */
  root: RootFs;
  umask: { file: number; dir: number };
  /** Tag made of session start and server port, for temp names (upstream §6.4). */
  tempTag: string;
  /** A virtual host's address: paths are described as `<ip>:/path` (upstream §9.2). */
  vhost?: string;
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** A download handle over a raw descriptor; the descriptor is closed exactly once. */
function fdHandle(fd: number, size: number, offset: number): ReadHandle {
  let open = true;
  // Reads no bigger than the file: a 200 KiB file must not cost a 1 MiB buffer (GC churn).
  const chunk = Math.max(16 * 1024, Math.min(READ_CHUNK, size - offset));
  return {
    size,
    fd,
    read: (buf, length, position) =>
      new Promise((resolve, reject) => {
        if (!open) return reject(systemError(9)); // EBADF
        read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n)));
      }),
    stream: () => {
      // The stream owns the descriptor from now on and closes it itself.
      open = false;
      return createReadStream('', { fd, start: offset, autoClose: true, highWaterMark: chunk });
    },
    close: async () => {
      if (!open) return;
      open = false;
      await closeFd(fd);
    },
  };
}

/** Storage on the local filesystem below one root directory. */
export class LocalStorage implements Storage {
  private readonly root: RootFs;
  /** Uploads not yet committed or aborted: the root stays open for their clean-up. */
  private openSinks = 0;
  private closing = false;

  constructor(private readonly opts: LocalStorageOptions) {
    this.root = opts.root;
  }

  /** Releases the root once every upload of the session is committed or aborted (the session ended). */
  close(): void {
    this.closing = true;
    if (this.openSinks === 0) this.root.close();
  }

  private sinkSettled(): void {
    if (--this.openSinks === 0 && this.closing) this.root.close();
  }

  usageLines(): Msg[] {
    return [];
  }

  describe(p: VPath): string {
    if (this.opts.vhost !== undefined) return `${this.opts.vhost}:${p}`;
    const base = this.root.realPath;
    if (p === '/') return base;
    return base === '/' ? p : base + p;
  }

  stat(p: VPath): Promise<Entry> {
    return this.root.stat(p, true);
  }

  lstat(p: VPath): Promise<Entry> {
    return this.root.stat(p, false);
  }

  async *names(p: VPath): AsyncIterable<string> {
    const scan = new NativeScan(await this.root.scan(p, MAX_NAMES, NAMES_ONLY));
    for (let i = 0; i < scan.count; i++) yield scan.name(i);
  }

  async scan(dir: VPath, max: number, order: ScanOrder = 'none'): Promise<DirScan> {
    return new NativeScan(await this.root.scan(dir, max, SCAN_ORDERS[order]));
  }

  async statMany(dir: VPath, names: readonly string[]): Promise<(Entry | undefined)[]> {
    if (names.length === 0) return [];
    // `..` of the root is the root itself, as in a real chroot: the host's parent never shows.
    const asked = dir === '/' ? names.map((n) => (n === '..' ? '.' : n)) : names;
    const scan = new NativeScan(await this.root.lstatNames(dir, asked));
    return names.map((name, i) => (scan.missing(i) ? undefined : { ...scan.entry(i), name }));
  }

  async openRead(p: VPath, offset: number): Promise<ReadHandle> {
    const opened = await this.root.read(p, offset, INLINE_MAX);
    const size = opened.entry.size;
    const uid = opened.entry.uid;
    if (opened.data !== undefined) {
      const data = opened.data;
      return { size, uid, data, stream: () => Readable.from([data]), close: async () => undefined };
    }
    return { ...fdHandle(opened.fd!, size, offset), uid };
  }

  async openWrite(p: VPath, o: WriteOptions, retried = false): Promise<UploadSink> {
    if (o.unique) return this.openUnique(p);
    let existing: Entry | undefined;
    try {
      existing = await this.root.stat(p, false);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (existing !== undefined && existing.type !== 'file') {
      throw new FtpError('ERR_CANT_CREATE', tr`Not a regular file`);
    }
    if (existing !== undefined && o.refuseNonEmpty && existing.size > 0) {
      throw new FtpError('ERR_PERMISSION', tr`Anonymous users may not overwrite existing files`);
    }
    const size = existing?.size ?? 0;
    // -r never resumes: the upload always lands as a new name (tsftpd's rule, docs/compatibility.md:
    // Pure-FTPd resumes into the same name; a new name is what -r promises).
    const offset = o.autoRename ? 0 : o.append ? size : Math.min(o.offset, size);
    const resumed = existing !== undefined && !o.autoRename && (o.append || offset > 0);

    if (existing === undefined && !o.atomic && !o.autoRename) {
      // A new file is written in place: a partial file stays for a later resume (REST/APPE).
      try {
        const { fd } = await this.root.open(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL, this.fileMode(), false);
        return this.sink(p, new FileSink(fd, 0, false), {
          previousSize: 0,
          startOffset: 0,
          created: true,
          partial: p,
        });
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST' || retried) throw err;
        return this.openWrite(p, o, true); // lost a race with another upload: treat as existing
      }
    }
    if (resumed && offset === size && !o.atomic && !o.autoRename) {
      // Appending keeps every previous byte; no temp file is needed.
      const { fd, entry } = await this.root.open(p, C.O_WRONLY | C.O_APPEND | C.O_NONBLOCK, 0, false);
      if (entry.type !== 'file' || entry.ino !== existing!.ino) {
        await closeFd(fd);
        throw new FtpError('ERR_CANT_CREATE', tr`Not a regular file`);
      }
      return this.sink(p, new FileSink(fd, size, true), {
        previousSize: size,
        startOffset: size,
        created: false,
        appended: { path: p, size, ino: entry.ino },
      });
    }
    // Replacing a file needs the right to write it, not only its directory (Pure-FTPd opens the
    // target itself): the kernel says so by opening it for writing as the account.
    let source: number | undefined;
    if (existing !== undefined && !o.autoRename) {
      const probe = await this.root.open(p, C.O_WRONLY | C.O_NONBLOCK, 0, false);
      await closeFd(probe.fd);
      if (resumed && offset > 0) source = (await this.root.open(p, C.O_RDONLY | C.O_NONBLOCK, 0, false)).fd;
    }
    // Everything else goes through a temp file renamed (or linked) over the target at commit.
    const temp = joinVirtual(parentOf(p), this.tempName());
    const mode = existing ? existing.mode & 0o777 & ~SPECIAL_BITS : this.fileMode();
    let fd: number;
    try {
      fd = (await this.root.open(temp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, mode, false)).fd;
    } catch (err) {
      if (source !== undefined) await closeFd(source);
      throw err;
    }
    const key = this.tempKey(temp);
    liveTemps.add(key);
    try {
      if (source !== undefined) await this.root.copy(source, fd, offset);
    } catch (err) {
      await closeFd(fd);
      await this.root.unlink(temp).catch(() => undefined);
      liveTemps.delete(key);
      throw err;
    } finally {
      if (source !== undefined) await closeFd(source);
    }
    return this.sink(p, new FileSink(fd, resumed ? offset : 0, false), {
      // -r lands on a new name: nothing is replaced, whatever exists under the asked name.
      previousSize: o.autoRename ? 0 : size,
      startOffset: resumed ? offset : 0,
      created: existing === undefined || o.autoRename,
      temp,
      autoRename: o.autoRename,
    });
  }

  private async openUnique(dir: VPath): Promise<UploadSink> {
    for (let attempt = 0; attempt < 16; attempt++) {
      const now = Date.now();
      const name =
        `pureftpd.${Math.floor(now / 1000)
          .toString(16)
          .padStart(8, '0')}.` +
        `${(now % 256).toString(16).padStart(2, '0')}.${randomBytes(2).toString('hex')}`;
      const p = joinVirtual(dir, name);
      try {
        const { fd } = await this.root.open(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL, this.fileMode(), false);
        return this.sink(p, new FileSink(fd, 0, false), {
          previousSize: 0,
          startOffset: 0,
          created: true,
          partial: p,
        });
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
    }
    throw new FtpError('ERR_CANT_CREATE', tr`Unable to create a unique file name`);
  }

  private sink(
    target: VPath,
    stream: FileSink,
    s: {
      previousSize: number;
      startOffset: number;
      created: boolean;
      temp?: VPath;
      partial?: VPath;
      /** An in-place append: the file, its size before the upload and its inode. */
      appended?: { path: VPath; size: number; ino: number };
      autoRename?: boolean;
    },
  ): UploadSink {
    let done = false;
    this.openSinks++;
    const closed = (): Promise<void> =>
      new Promise((resolve) => {
        if (stream.closed || stream.destroyed) resolve();
        else stream.once('close', () => resolve());
      });
    const forget = (): void => {
      if (s.temp !== undefined) liveTemps.delete(this.tempKey(s.temp));
    };
    return {
      stream,
      written: () => stream.bytesWritten,
      native: stream,
      target,
      previousSize: s.previousSize,
      startOffset: s.startOffset,
      created: s.created,
      inPlace: s.temp === undefined,
      commit: async () => {
        if (done) return target;
        done = true;
        try {
          await closed();
          if (s.temp === undefined) return target;
          if (s.autoRename !== true) {
            const temp = s.temp;
            await this.root.rename(temp, target).catch(async (err: unknown) => {
              await this.root.unlink(temp).catch(() => undefined);
              throw err;
            });
            return target;
          }
          return await this.linkFirstFree(s.temp, target);
        } finally {
          forget();
          this.sinkSettled();
        }
      },
      abort: async (opts) => {
        if (done) return;
        done = true;
        try {
          if (!stream.destroyed) stream.destroy();
          await closed();
          if (s.temp !== undefined) {
            await this.root.unlink(s.temp).catch(() => undefined);
          } else if (opts?.discard && s.partial !== undefined) {
            await this.root.unlink(s.partial).catch(() => undefined);
          } else if (opts?.discard && s.appended !== undefined) {
            await this.truncateAppend(s.appended);
          }
        } finally {
          forget();
          this.sinkSettled();
        }
      },
    };
  }

  /**
   * Cuts a discarded in-place append back to the size the file had before it (upstream §5.1: an upload
   * stopped by the quota leaves nothing behind). The name is reopened without following symlinks and
   * must still be the same inode, so a file swapped in meanwhile is never truncated.
   */
  private async truncateAppend(a: { path: VPath; size: number; ino: number }): Promise<void> {
    const opened = await this.root.open(a.path, C.O_WRONLY | C.O_NONBLOCK, 0, false).catch(() => undefined);
    if (opened === undefined) return;
    if (opened.entry.type === 'file' && opened.entry.ino === a.ino && opened.entry.size > a.size) {
      await new Promise<void>((resolve) => ftruncate(opened.fd, a.size, () => resolve()));
    }
    await closeFd(opened.fd);
  }

  /** -r: hard-links the finished temp file to the first free name among name, name.1, name.2, ... */
  private async linkFirstFree(temp: VPath, target: VPath): Promise<VPath> {
    for (let n = 0; n <= MAX_AUTORENAME; n++) {
      const name = n === 0 ? target : `${target}.${n}`;
      try {
        await this.root.link(temp, name);
        await this.root.unlink(temp);
        return name;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') {
          await this.root.unlink(temp).catch(() => undefined);
          throw err;
        }
      }
    }
    await this.root.unlink(temp).catch(() => undefined);
    throw new FtpError('ERR_CANT_CREATE', tr`Too many files with this name`);
  }

  async mkdir(p: VPath): Promise<void> {
    // Pure-FTPd creates with 0777 & ~umask, exactly (it runs with umask 0, upstream §6.4).
    await this.root.mkdir(p, 0o777 & ~this.opts.umask.dir);
  }

  async rmdir(p: VPath): Promise<void> {
    if (p === '/') throw new FtpError('ERR_PERMISSION', tr`Permission denied`);
    await this.root.rmdir(p);
  }

  async unlink(p: VPath): Promise<void> {
    if (p === '/') throw new FtpError('ERR_IS_DIR', tr`Is a directory`);
    if (isLiveTemp(this.tempKey(p))) {
      throw new FtpError('ERR_BAD_NAME', tr`Prohibited file name: ${baseName(p)}`, {
        detail: `an upload in progress writes ${this.describe(p)}`,
      });
    }
    try {
      await this.root.unlink(p);
    } catch (err) {
      if (errnoCode(err) === 'EISDIR') throw new FtpError('ERR_IS_DIR', tr`Is a directory`);
      throw err;
    }
  }

  async rename(from: VPath, to: VPath): Promise<void> {
    if (from === '/' || to === '/') throw new FtpError('ERR_PERMISSION', tr`Permission denied`);
    await this.root.rename(from, to);
  }

  async chmod(p: VPath, mode: number): Promise<void> {
    await this.root.chmod(p, mode);
  }

  async setTimes(p: VPath, mtime: Date): Promise<void> {
    await this.root.setTimes(p, mtime);
  }

  statfs(p: VPath): Promise<StatFs> {
    return this.root.statfs(p);
  }

  canWrite(dir: VPath): Promise<boolean> {
    return this.root.access(dir, C.W_OK | C.X_OK);
  }

  private fileMode(): number {
    // Pure-FTPd creates files with 0777 & ~umask (so -U 022:022 gives 0755 files, upstream §6.4); it runs
    // with a process umask of 0, so every creation here gets its mode explicitly.
    return 0o777 & ~this.opts.umask.file;
  }

  private tempName(): string {
    return `${TEMP_PREFIX}${this.opts.tempTag}.${process.pid.toString(16)}.${randomBytes(4).toString('hex')}`;
  }

  private tempKey(p: VPath): string {
    return this.describe(p);
  }
}

export { parentOf };
