/**
 * Virtual quotas as a Storage wrapper (upstream §5.1): an account with a quota gets its storage wrapped
 * once at login, and every operation that changes usage counts itself — a transfer asks nothing.
 * Guarantees: a new file or directory is refused (552) when the account is at its limit; an upload
 * may write no more than its byte budget; a finished upload is counted before it is committed, and
 * dropped (the previous content staying) when another session used the room meanwhile; an
 * interrupted in-place upload counts what it keeps; deletions, removals and renames over a file
 * give their room back. Bookkeeping failures are logged and never fail the operation.
 */
import { FtpError } from '../errors.js';
import {
  checkRoom,
  quotaStatusLines,
  type QuotaFile,
  type QuotaLimits,
  type QuotaUsage,
} from '../policy/quota.js';
import { isUploadTemp } from '../policy/names.js';
import { baseName } from './jail.js';
import { tr, type Msg } from '../i18n/msg.js';
import type {
  DirScan,
  Entry,
  ReadHandle,
  ScanOrder,
  StatFs,
  Storage,
  UploadSink,
  VPath,
  WriteOptions,
} from './types.js';

/** Where the wrapper reports what the operator should know. */
export type QuotaLog = (level: 'NOTICE' | 'ERROR', message: string) => void;

/** A Storage whose usage changes are counted in the account's `.ftpquota`. */
export class QuotaStorage implements Storage {
  private lines: Msg[] = [];

  constructor(
    private readonly inner: Storage,
    private readonly file: QuotaFile,
    private readonly limits: QuotaLimits,
    private readonly log: QuotaLog,
  ) {}

  usageLines(): Msg[] {
    return this.lines;
  }

  /** Adds deltas to the usage; the status lines of the result become usageLines(). */
  private async record(files: number, bytes: number): Promise<void> {
    try {
      this.lines = quotaStatusLines(await this.file.update(files, bytes), this.limits);
    } catch (err) {
      this.lines = [];
      this.log('ERROR', `cannot update .ftpquota: ${String(err)}`);
    }
  }

  /** Throws 552 when there is no room for one more file or directory named `name`. */
  private async checkRoom(name: string): Promise<QuotaUsage> {
    const usage = await this.file.read();
    checkRoom(usage, this.limits, name);
    return usage;
  }

  async mkdir(p: VPath): Promise<void> {
    this.lines = [];
    await this.checkRoom(baseName(p) || p);
    await this.inner.mkdir(p);
    await this.record(1, 0); // directories count as files
  }

  async rmdir(p: VPath): Promise<void> {
    this.lines = [];
    await this.inner.rmdir(p);
    await this.record(-1, 0);
  }

  async unlink(p: VPath): Promise<void> {
    this.lines = [];
    const e = await this.inner.lstat(p).catch(() => undefined);
    await this.inner.unlink(p);
    // A stale upload temp file was never counted (uploads through a temp file count at commit).
    if (!isUploadTemp(p)) await this.record(-1, e?.type === 'file' ? -e.size : 0);
  }

  async rename(from: VPath, to: VPath): Promise<void> {
    this.lines = [];
    const replaced = await this.inner.lstat(to).catch(() => undefined);
    await this.inner.rename(from, to);
    // A rename over an existing file frees what that file used.
    if (replaced !== undefined && replaced.type !== 'dir') {
      await this.record(-1, replaced.type === 'file' ? -replaced.size : 0);
    }
  }

  async quotaRoom(): Promise<number | undefined> {
    if (this.limits.bytes === undefined) return undefined;
    return Math.max(0, this.limits.bytes - (await this.file.read()).bytes);
  }

  async openWrite(p: VPath, opts: WriteOptions): Promise<UploadSink> {
    this.lines = [];
    const usage = await this.checkRoom(baseName(p) || p);
    const sink = await this.inner.openWrite(p, opts);
    const budget =
      this.limits.bytes === undefined
        ? undefined
        : Math.max(0, this.limits.bytes - usage.bytes + sink.previousSize - sink.startOffset);
    let counted = false;
    const files = sink.created ? 1 : 0;
    return {
      ...sink,
      budget,
      commit: async () => {
        // Counted before the commit (upstream §5.1): when another session of the account used the room
        // meanwhile, the upload is dropped and the previous content of the file stays.
        const delta = sink.startOffset + sink.written() - sink.previousSize;
        counted = true;
        let after: QuotaUsage | undefined;
        try {
          after = await this.file.reserve(files, delta, this.limits);
        } catch (err) {
          this.log('ERROR', `cannot update .ftpquota: ${String(err)}`);
          after = await this.file.read().catch(() => ({ files: 0, bytes: 0 }));
        }
        if (after === undefined) {
          await sink.abort({ discard: true });
          this.log('NOTICE', `Quota exceeded: ${this.inner.describe(sink.target)} not saved`);
          throw new FtpError('ERR_QUOTA', tr`Quota exceeded: [${baseName(sink.target)}] won't be saved`);
        }
        let final: VPath;
        try {
          final = await sink.commit();
        } catch (err) {
          await this.record(-files, -delta);
          throw err;
        }
        this.lines = quotaStatusLines(after, this.limits);
        return final;
      },
      abort: async (o) => {
        await sink.abort(o);
        // What an interrupted in-place upload keeps for a resume uses room like a finished upload;
        // uncounted, repeated interrupted uploads would fill the disk past the quota.
        if (o?.discard !== true && !counted && sink.inPlace) {
          counted = true;
          await this.record(files, sink.written());
        }
      },
    };
  }

  // Everything else changes no usage.
  stat(p: VPath): Promise<Entry> {
    return this.inner.stat(p);
  }
  lstat(p: VPath): Promise<Entry> {
    return this.inner.lstat(p);
  }
  names(p: VPath): AsyncIterable<string> {
    return this.inner.names(p);
  }
  scan(dir: VPath, max: number, order?: ScanOrder): Promise<DirScan> {
    return this.inner.scan(dir, max, order);
  }
  statMany(dir: VPath, names: readonly string[]): Promise<(Entry | undefined)[]> {
    return this.inner.statMany(dir, names);
  }
  openRead(p: VPath, offset: number): Promise<ReadHandle> {
    return this.inner.openRead(p, offset);
  }
  chmod(p: VPath, mode: number): Promise<void> {
    return this.inner.chmod(p, mode);
  }
  setTimes(p: VPath, mtime: Date): Promise<void> {
    return this.inner.setTimes(p, mtime);
  }
  statfs(p: VPath): Promise<StatFs> {
    return this.inner.statfs(p);
  }
  canWrite(dir: VPath): Promise<boolean> {
    return this.inner.canWrite(dir);
  }
  describe(p: VPath): string {
    return this.inner.describe(p);
  }
  close(): void {
    this.inner.close();
  }
}
