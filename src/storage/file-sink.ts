/**
 * The upload sink: socket data gathered into ~1 MiB batches and written with positional writev(),
 * several batches in flight at once (fs.WriteStream writes one at a time, which capped uploads at the
 * thread-pool round-trip rate, docs/performance.md). Writes to distinct offsets can finish in any
 * order; the stream only finishes (and the upload can be committed) when all of them succeeded.
 * After a failed write the file is cut back to the end of the last contiguous successful data, so
 * a kept partial file never has a hole. An O_APPEND descriptor gets one write at a time (its writes
 * go to the end whatever the offset, so their order is their placement).
 */
import { close, ftruncate, writev } from 'node:fs';
import type { NativeFileTarget } from './types.js';
import { Writable } from 'node:stream';

/** Bytes gathered before a write is issued. */
const BATCH_BYTES = 1024 * 1024;
/** Writes in flight at once for a positional sink (libuv's pool runs them in parallel). */
const MAX_IN_FLIGHT = 3;

/** A Writable over a file descriptor; `bytesWritten` counts bytes accepted so far. */
export class FileSink extends Writable implements NativeFileTarget {
  bytesWritten = 0;
  private position: number;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  /** Lowest offset a failed write started at (the file is cut there). */
  private failedAt = Infinity;
  private fileClosed = false;

  /**
   * @param fd the open target (closed by the sink when it finishes or is destroyed)
   * @param start offset of the first byte
   * @param append the descriptor was opened with O_APPEND
   */
  constructor(
    private readonly fd: number,
    start: number,
    private readonly append: boolean,
  ) {
    super({ highWaterMark: 2 * BATCH_BYTES });
    this.position = start;
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.batch.push(chunk);
      this.batchBytes += chunk.length;
      this.bytesWritten += chunk.length;
    }
    // Data goes out at once when the disk is idle, and in big batches while writes are running.
    if (this.batchBytes >= BATCH_BYTES || this.inFlight.size === 0) this.issue();
    this.whenRoom().then(() => done(this.failure ?? null), done);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this._writev([{ chunk }], done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.issue();
    this.settle()
      .then(() => this.release())
      .then(() => done(this.failure ?? null), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // What was received is kept (a partial upload can be resumed): the gathered batch is written,
    // and writes in flight finish before the file is closed (then cut back if one failed).
    this.issue();
    this.settle()
      .then(() => this.release())
      .then(
        () => done(err),
        () => done(err),
      );
  }

  /**
   * Hands the descriptor to an external writer (the native upload pump): `first` is written through
   * the sink, every write finishes, and the next offset is returned. Call advance() with what the
   * external writer wrote, then end() the sink as usual (it closes the file).
   */
  async external(first: Buffer[]): Promise<{ fd: number; position: number; append: boolean }> {
    for (const chunk of first) {
      this.batch.push(chunk);
      this.batchBytes += chunk.length;
      this.bytesWritten += chunk.length;
    }
    this.issue();
    await this.settle();
    if (this.failure !== undefined) throw this.failure;
    return { fd: this.fd, position: this.position, append: this.append };
  }

  /** Accounts for bytes an external writer put at the current offset. */
  advance(bytes: number): void {
    this.position += bytes;
    this.bytesWritten += bytes;
  }

  /** Starts writing the gathered batch at the next offset. */
  private issue(): void {
    if (this.batchBytes === 0 || this.failure !== undefined) return;
    const buffers = this.batch;
    const length = this.batchBytes;
    const at = this.position;
    this.batch = [];
    this.batchBytes = 0;
    this.position += length;
    const op = this.writeAll(buffers, length, at).catch((err: Error) => {
      this.failure ??= err;
      this.failedAt = Math.min(this.failedAt, at);
    });
    const tracked = op.finally(() => {
      this.inFlight.delete(tracked);
      // Data that arrived meanwhile goes out now, even a small batch: the sender may have paused.
      if (this.inFlight.size === 0 && this.batchBytes > 0 && !this.fileClosed) this.issue();
    });
    this.inFlight.add(tracked);
  }

  /** writev until every byte is on disk (short writes happen near ENOSPC). */
  private async writeAll(buffers: Buffer[], length: number, at: number): Promise<void> {
    let rest = buffers;
    let left = length;
    let pos = at;
    while (left > 0) {
      const bytesWritten = await new Promise<number>((resolve, reject) =>
        writev(this.fd, rest, this.append ? null : pos, (err, n) => (err ? reject(err) : resolve(n))),
      );
      if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
      left -= bytesWritten;
      pos += bytesWritten;
      if (left > 0) rest = [Buffer.concat(rest).subarray(length - left)];
    }
  }

  /** Resolves when another batch may be issued. */
  private async whenRoom(): Promise<void> {
    const limit = this.append ? 1 : MAX_IN_FLIGHT;
    while (this.inFlight.size >= limit) await Promise.race(this.inFlight);
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private async release(): Promise<void> {
    if (this.fileClosed) return;
    this.fileClosed = true;
    try {
      if (this.failure !== undefined && !this.append && Number.isFinite(this.failedAt)) {
        await new Promise<void>((resolve) => ftruncate(this.fd, this.failedAt, () => resolve()));
      }
    } finally {
      await new Promise<void>((resolve) => close(this.fd, () => resolve()));
    }
  }
}
