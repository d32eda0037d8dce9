/**
 * The upload channel of `-o` (upstream §8): every completed upload (after its atomic rename; never
 * an aborted one) becomes one record on a FIFO — byte 0x02, the FTP login, byte 0x01, the file's real
 * path, byte 0x00 — Pure-FTPd's format, so `tsftpd uploadscript` and the real pure-uploadscript both
 * read it.
 *
 * Unlike Pure-FTPd, the server never waits for a reader: it opens the FIFO read-write (Linux never
 * blocks that open, and the pipe then always has a reader), writes without blocking, and keeps what
 * the pipe cannot take yet in a bounded queue. A slow or absent script therefore never slows a
 * transfer; records beyond the queue are dropped and the drop is logged (once per burst, with a
 * count). Records wait in the pipe while no script runs, and a script restarted later gets them.
 * The FIFO is created 0600 by the starting process (root when started as root); an existing path
 * that is not a FIFO owned by this process's user, with no access for others, is refused.
 */
import { closeSync, constants as C, fstatSync, lstatSync, openSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { nameToBytes } from '../storage/name-bytes.js';
import type { EventBus } from './bus.js';

/** Where the FIFO is unless --upload-pipe says otherwise (Pure-FTPd's STATEDIR/run). */
export const DEFAULT_UPLOAD_PIPE = '/var/run/pure-ftpd.upload.pipe';
/** Most records waiting for room in the pipe. */
const MAX_QUEUED = 10_000;
/** Most bytes waiting for room in the pipe. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** How often a full pipe is tried again. */
const RETRY_MS = 200;
/** Longest login kept (pure-uploadscript rejects longer ones). */
const MAX_USER = 127;

/** One record: 0x02 login 0x01 path 0x00 (the path's raw bytes kept). */
export function uploadRecord(user: string, path: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x02]),
    Buffer.from(user.slice(0, MAX_USER), 'utf8'),
    Buffer.from([0x01]),
    nameToBytes(path),
    Buffer.from([0x00]),
  ]);
}

/** Creates the FIFO if missing and checks it; throws a message saying what is wrong. */
export function ensureFifo(file: string): void {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    // mkfifo(1) rather than an addon: the server's own code has no mkfifo; coreutils is everywhere.
    execFileSync('mkfifo', ['-m', '600', '--', file], { stdio: 'ignore' });
    st = lstatSync(file);
  }
  if (!st.isFIFO()) throw new Error(`${file} exists and is not a FIFO`);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new Error(`${file} belongs to uid ${st.uid}, not to this server`);
  if ((st.mode & 0o077) !== 0)
    throw new Error(
      `${file} may be used by others (mode ${(st.mode & 0o777).toString(8)}); 0600 is expected`,
    );
}

/** The server's end of the upload FIFO. */
export class UploadPipe {
  private fd: number | undefined;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;

  constructor(
    readonly file: string,
    private readonly warn: (message: string) => void,
  ) {
    ensureFifo(file);
    // Read-write: never blocks (a reader always exists), and records wait in the pipe for a script.
    this.fd = openSync(file, C.O_RDWR | C.O_NONBLOCK | C.O_NOFOLLOW);
    if (!fstatSync(this.fd).isFIFO()) {
      closeSync(this.fd);
      this.fd = undefined;
      throw new Error(`${file} is not a FIFO`);
    }
  }

  /** Queues one record; writes what the pipe can take now. */
  push(record: Buffer): void {
    if (this.fd === undefined) return;
    if (this.queue.length >= MAX_QUEUED || this.queuedBytes + record.length > MAX_QUEUED_BYTES) {
      if (this.dropped++ === 0) {
        this.warn(`the upload script does not keep up: uploads are not passed to it (${this.file} is full)`);
      }
      return;
    }
    this.queue.push(record);
    this.queuedBytes += record.length;
    this.flush();
  }

  private flush(): void {
    if (this.fd === undefined) return;
    while (this.queue.length > 0) {
      const record = this.queue[0];
      try {
        // A record of up to PIPE_BUF (4096) bytes is written whole or not at all; a longer one (a
        // path near 4096 bytes) may go in parts, which is fine: only this process writes.
        const n = writeSync(this.fd, record);
        if (n < record.length) this.queue[0] = record.subarray(n);
        else this.queue.shift();
        this.queuedBytes -= n;
      } catch (err) {
        if ((err as { code?: string }).code === 'EAGAIN') break;
        this.warn(`cannot write to the upload pipe ${this.file}: ${(err as Error).message}`);
        this.queue.length = 0;
        this.queuedBytes = 0;
        return;
      }
    }
    if (this.queue.length === 0 && this.dropped > 0) {
      this.warn(
        `${this.dropped} upload${this.dropped === 1 ? ' was' : 's were'} not passed to the upload script`,
      );
      this.dropped = 0;
    }
    if (this.queue.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, RETRY_MS);
      this.timer.unref();
    }
  }

  close(): void {
    clearTimeout(this.timer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Sends this process's completed uploads to `sink` as upload-pipe records. */
export function attachUploadRecords(bus: EventBus, sink: (records: Buffer[]) => void): () => void {
  return bus.on('upload-complete', (e) => {
    sink([uploadRecord(e.session.account ?? 'ftp', e.realPath)]);
  });
}
