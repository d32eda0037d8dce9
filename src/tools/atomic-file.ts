/**
 * Atomic replacement of admin files (pureftpd.passwd, .ftpquota): the new content goes to a temp
 * file in the same directory, created with O_EXCL | O_NOFOLLOW and mode 0600, is fsync'ed, then
 * renamed over the target. Guarantees: a crash at any point leaves either the old or the new file,
 * never a partial one; a planted symlink is never followed; two writers using the same temp name
 * (pure-pw uses `<file>.tmp`, upstream §3.2) exclude each other instead of interleaving their bytes.
 */
import { constants } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A temp file older than this was left by a crashed writer: live writers touch it continuously. */
export const STALE_TEMP_MS = 60_000;
const FLUSH_AT = 1 << 20;

/** The temp name exists and is recent: another writer is (probably) at work. */
export class TempFileBusyError extends Error {
  readonly code = 'EEXIST';
  constructor(readonly tempPath: string) {
    super(
      `[${tempPath}] already exists: another update is in progress (or one was interrupted less than ` +
        `${STALE_TEMP_MS / 1000} s ago); retry later, or remove it if no other pure-pw/tsftpd pw is running`,
    );
  }
}

/** True for a Node errno error with this code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

const EXCL = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Creates `tempPath` exclusively. One older than STALE_TEMP_MS was left by a crash (a live writer
 * keeps touching it): it is removed and creation retried once. A recent one throws
 * TempFileBusyError. Should two processes clear the same stale file at once, the loser's commit()
 * notices that the name is no longer its file and gives up without touching the target.
 */
async function createExclusive(tempPath: string, mode: number): Promise<FileHandle> {
  try {
    return await open(tempPath, EXCL, mode);
  } catch (err) {
    if (!hasCode(err, 'EEXIST')) throw err;
  }
  const existing = await lstat(tempPath).catch(() => undefined);
  if (existing !== undefined && Date.now() - existing.mtimeMs < STALE_TEMP_MS) {
    throw new TempFileBusyError(tempPath);
  }
  if (existing !== undefined) await unlink(tempPath).catch(() => undefined);
  try {
    return await open(tempPath, EXCL, mode);
  } catch (err) {
    if (hasCode(err, 'EEXIST')) throw new TempFileBusyError(tempPath);
    throw err;
  }
}

/** A temp file being filled; commit() makes it the target, discard() removes it. */
export class AtomicWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private position = 0;
  private closed = false;
  private flushing: Promise<void> = Promise.resolve();
  private ownsName = true;

  private constructor(
    private readonly fh: FileHandle,
    readonly tempPath: string,
    readonly target: string,
  ) {}

  /**
   * Opens the temp file for `target`: `tempPath` (default: a random name next to the target) with
   * O_EXCL, mode `mode` (default 0600), owned by `owner` when given (the caller is root).
   */
  static async create(
    target: string,
    opts: { tempPath?: string; mode?: number; owner?: { uid: number; gid: number } } = {},
  ): Promise<AtomicWriter> {
    const tempPath =
      opts.tempPath ??
      path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await createExclusive(tempPath, opts.mode ?? 0o600);
    const writer = new AtomicWriter(fh, tempPath, target);
    try {
      // The umask may have narrowed the mode; a file of accounts must never be wider than asked.
      await fh.chmod(opts.mode ?? 0o600);
      if (opts.owner !== undefined) await fh.chown(opts.owner.uid, opts.owner.gid);
    } catch (err) {
      await writer.discard();
      throw err;
    }
    return writer;
  }

  /**
   * Queues bytes (the buffer must not change afterwards); every 1 MiB they are written out and a
   * promise is returned, else undefined: copying millions of lines costs no await per line.
   */
  write(data: Buffer): Promise<void> | undefined {
    this.pending.push(data);
    this.pendingBytes += data.length;
    return this.pendingBytes >= FLUSH_AT ? this.flush() : undefined;
  }

  /** Writes out what is queued; flushes are chained, so positions never overlap. */
  private flush(): Promise<void> {
    if (this.pendingBytes === 0) return this.flushing;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.flushing = this.flushing.then(async () => {
      for (let done = 0; done < data.length;) {
        const { bytesWritten } = await this.fh.write(data, done, data.length - done, this.position);
        done += bytesWritten;
        this.position += bytesWritten;
      }
    });
    return this.flushing;
  }

  /**
   * Flushes, fsyncs and renames over the target, then fsyncs the directory so the rename itself
   * survives a crash. Refuses when the temp name no longer designates our file (someone removed
   * it as stale and made another): renaming theirs would publish a half-written file.
   */
  async commit(): Promise<void> {
    try {
      await this.flush();
      await this.fh.sync();
      const mine = await this.fh.stat();
      const named = await lstat(this.tempPath);
      if (mine.ino !== named.ino || mine.dev !== named.dev) {
        this.ownsName = false; // the name is another writer's now: never unlink or rename it
        throw new Error(`${this.tempPath} was replaced by another writer; nothing was changed`);
      }
      await this.close();
      await rename(this.tempPath, this.target);
      this.ownsName = false;
    } catch (err) {
      await this.discard();
      throw err;
    }
    const dir = await open(path.dirname(this.target), constants.O_RDONLY).catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close();
  }

  /** Closes the handle once. */
  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  /** Closes and removes the temp file (idempotent; never removes a name another writer took). */
  async discard(): Promise<void> {
    await this.close().catch(() => undefined);
    if (this.ownsName) await unlink(this.tempPath).catch(() => undefined);
    this.ownsName = false;
  }
}

/** Replaces `target` with `data` atomically (see AtomicWriter.create for the options). */
export async function writeFileAtomic(
  target: string,
  data: Buffer | string,
  opts: { mode?: number; owner?: { uid: number; gid: number } } = {},
): Promise<void> {
  const writer = await AtomicWriter.create(target, opts);
  try {
    await writer.write(typeof data === 'string' ? Buffer.from(data) : data);
  } catch (err) {
    await writer.discard();
    throw err;
  }
  await writer.commit();
}
