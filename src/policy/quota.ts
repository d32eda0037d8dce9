/**
 * Virtual quotas (upstream §5.1): the `.ftpquota` file at the account root holds `<files> <bytes>\n`.
 * Guarantees: updates for one root are serialised in this process (read-modify-write never loses a
 * count), the file is replaced atomically (temp + rename, mode 0600), uploads stop as soon as they
 * exceed the byte budget, and directories count as files. Names containing `.ftpquota` cannot be
 * written while quotas apply (the gate's name policy). The file is read and written through the
 * account's confined root, as the account (confined.ts), never by path as the server.
 */
import { close, write } from 'node:fs';
import { constants as C } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { FtpError, errnoCode } from '../errors.js';
import type { RootFs } from '../storage/types.js';
import { tr, type Msg } from '../i18n/msg.js';

/** The name of the bookkeeping file (upstream §5.1). */
export const QUOTA_FILE = '.ftpquota';

/** Limits of one account; undefined = no limit on that count. */
export interface QuotaLimits {
  files?: number;
  bytes?: number;
}

/** What an account uses. */
export interface QuotaUsage {
  files: number;
  bytes: number;
}

/** The `.ftpquota` file of one root, with serialised updates. */
export class QuotaFile {
  private chain: Promise<unknown> = Promise.resolve();
  private opened?: Promise<RootFs>;

  /**
   * @param root canonical root directory of the account
   * @param openRoot opens that root as the account (confined), when the file is first used
   */
  constructor(
    readonly root: string,
    private readonly openRoot: () => Promise<RootFs>,
  ) {}

  private confined(): Promise<RootFs> {
    this.opened ??= this.openRoot();
    this.opened.catch(() => (this.opened = undefined));
    return this.opened;
  }

  /** Releases the root descriptor (the last session of the account ended). */
  close(): void {
    void this.opened?.then(
      (r) => r.close(),
      () => undefined,
    );
    this.opened = undefined;
  }

  /** Current usage (a missing or unreadable file counts as 0 0). */
  async read(): Promise<QuotaUsage> {
    try {
      const opened = await (await this.confined()).read(`/${QUOTA_FILE}`, 0, 4096);
      if (opened.fd !== undefined) close(opened.fd, () => undefined);
      const text = (opened.data ?? Buffer.alloc(0)).toString('latin1');
      const m = /^\s*(\d+)\s+(\d+)/.exec(text);
      if (m === null) return { files: 0, bytes: 0 };
      return { files: Number(m[1]), bytes: Number(m[2]) };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { files: 0, bytes: 0 };
      throw err;
    }
  }

  /** Adds deltas (never going below zero) and returns the new usage. */
  update(files: number, bytes: number): Promise<QuotaUsage> {
    const op = this.chain.then(async () => {
      const u = await this.read();
      const next = { files: Math.max(0, u.files + files), bytes: Math.max(0, u.bytes + bytes) };
      await this.write(next);
      return next;
    });
    this.chain = op.catch(() => undefined);
    return op;
  }

  /**
   * Adds deltas unless they would take a growing count over its limit (upstream §5.1: an upload that
   * overflows once finished is not saved); check and update are one step, so two sessions of one
   * account cannot both use the last room. Returns the new usage, or undefined (file unchanged).
   */
  reserve(files: number, bytes: number, limits: QuotaLimits): Promise<QuotaUsage | undefined> {
    const op = this.chain.then(async () => {
      const u = await this.read();
      const next = { files: Math.max(0, u.files + files), bytes: Math.max(0, u.bytes + bytes) };
      const over =
        (files > 0 && limits.files !== undefined && next.files > limits.files) ||
        (bytes > 0 && limits.bytes !== undefined && next.bytes > limits.bytes);
      if (over) return undefined;
      await this.write(next);
      return next;
    });
    this.chain = op.catch(() => undefined);
    return op;
  }

  private async write(u: QuotaUsage): Promise<void> {
    const root = await this.confined();
    const temp = `/.pureftpd-quota.${randomBytes(4).toString('hex')}`;
    const { fd } = await root.open(temp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600, false);
    const data = Buffer.from(`${u.files} ${u.bytes}\n`);
    try {
      await new Promise<void>((resolve, reject) =>
        write(fd, data, 0, data.length, 0, (err, n) =>
          err ? reject(err) : n === data.length ? resolve() : reject(new Error('short write')),
        ),
      );
    } finally {
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
    try {
      await root.rename(temp, `/${QUOTA_FILE}`);
    } catch (err) {
      await root.unlink(temp).catch(() => undefined);
      throw err;
    }
  }
}

const files = new Map<string, { file: QuotaFile; refs: number }>();

/** The shared QuotaFile of a root (one per root in this process); release() when the session ends. */
export function acquireQuotaFile(root: string, openRoot: () => Promise<RootFs>): QuotaFile {
  const hit = files.get(root);
  if (hit) {
    hit.refs++;
    return hit.file;
  }
  const file = new QuotaFile(root, openRoot);
  files.set(root, { file, refs: 1 });
  return file;
}

/** Gives back a QuotaFile taken with acquireQuotaFile(). */
export function releaseQuotaFile(root: string): void {
  const hit = files.get(root);
  if (hit && --hit.refs <= 0) {
    files.delete(root);
    hit.file.close();
  }
}

function percent(used: number, max: number): number {
  return max > 0 ? Math.floor((used * 100) / max) : 0;
}

/** The status lines Pure-FTPd sends after logins, uploads, DELE, MKD and RMD (upstream §5.1). */
export function quotaStatusLines(u: QuotaUsage, limits: QuotaLimits): Msg[] {
  const lines: Msg[] = [];
  if (limits.files !== undefined) {
    lines.push(
      tr`${u.files} files used (${percent(u.files, limits.files)}%) - authorized: ${limits.files} files`,
    );
  }
  if (limits.bytes !== undefined) {
    lines.push(
      tr`${Math.floor(u.bytes / 1024)} Kbytes used (${percent(u.bytes, limits.bytes)}%) - authorized: ${Math.floor(limits.bytes / 1024)} Kb`,
    );
  }
  return lines;
}

/** Throws 552 when a new file or directory would not fit (upstream §5.1: files ≥ max or bytes > max). */
export function checkRoom(u: QuotaUsage, limits: QuotaLimits, name: string): void {
  const full =
    (limits.files !== undefined && u.files >= limits.files) ||
    (limits.bytes !== undefined && u.bytes > limits.bytes);
  if (full) throw new FtpError('ERR_QUOTA', tr`Quota exceeded: [${name}] won't be saved`);
}

/** A pass-through stream that fails with 552 once more than `budget` bytes went through. */
export function byteBudget(budget: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > budget) return done(new FtpError('ERR_QUOTA', tr`Transfer aborted (quota)`));
      done(null, chunk);
    },
  });
}
