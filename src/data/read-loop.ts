/**
 * The JavaScript download loop (not sendfile(2): that is pump.ts): file → socket with two reused buffers, so the next disk read overlaps
 * the socket write of the previous chunk, and no buffer is allocated per chunk (the 1 MiB-per-read
 * stream path spent most of its time in the garbage collector on small files, see
 * docs/performance.md). A small file arrives already read with its open (one thread-pool job) and
 * goes out in one write. Memory is bounded: at most two chunk buffers per running download, and
 * idle buffers are pooled up to POOL_LIMIT.
 *
 * Guarantees (every download path: this loop, the native sendfile pump and the streams of
 * transfer.ts): an error reading the file is never taken for its end, and a file that ends before
 * the size announced when it was opened (it shrank meanwhile) is not a complete transfer: both
 * fail with 451 and an ERROR log line (readFailure, shortFile), never 226. Pure-FTPd sends what it
 * can read and answers 226; a short file with a success reply hides data loss from the client.
 */
import type { Writable } from 'node:stream';
import { FtpError, errnoCode } from '../errors.js';
import type { ReadHandle } from '../storage/types.js';
import { tr } from '../i18n/msg.js';

/** The reply of a download whose file could not be read (RFC 959 §4.2: 451 local error in processing). */
export const READ_ERROR_TEXT = tr`Transfer aborted: error reading the file`;
/** The reply of a download whose file ended before the size announced at its open. */
export const SHORT_FILE_TEXT = tr`Transfer aborted: the file shrank during the transfer`;

/** The 451 failure of a download whose file read failed at byte `position` (the cause goes to the log). */
export function readFailure(err: unknown, position: number): FtpError {
  const code = errnoCode(err) ?? (err instanceof Error ? err.message : String(err));
  return new FtpError('ERR_IO', READ_ERROR_TEXT, {
    detail: `read error at byte ${position}: ${code}`,
    cause: err,
  });
}

/** The 451 failure of a download whose file ended at byte `end` instead of `expected`. */
export function shortFile(end: number, expected: number): FtpError {
  return new FtpError('ERR_IO', SHORT_FILE_TEXT, {
    detail: `the file ended at byte ${end} of the ${expected} announced (it shrank during the transfer)`,
  });
}

/** Size of one chunk of a large download (Pure-FTPd reads 128 KiB; larger chunks mean fewer calls). */
export const CHUNK = 512 * 1024;
/** Idle chunk buffers kept for reuse (process-wide). */
const POOL_LIMIT = 32;
const pool: Buffer[] = [];

function take(size: number): Buffer {
  if (size === CHUNK) return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
  return Buffer.allocUnsafe(size);
}

function give(buf: Buffer): void {
  if (buf.length === CHUNK && pool.length < POOL_LIMIT) pool.push(buf);
}

function write(socket: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

function aborted(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}

function end(socket: Writable): Promise<void> {
  return new Promise<void>((resolve) => socket.end(resolve));
}

/**
 * Sends `length` bytes of the open file from `start`, then ends the socket; resolves with the bytes
 * sent (at least `length`: a file read with its open may have grown). A read error or a file shorter than `start + length` throws readFailure
 * or shortFile before the socket is ended. The handle is closed in every case.
 */
export async function readLoop(
  handle: ReadHandle,
  socket: Writable,
  start: number,
  length: number,
  signal: AbortSignal,
): Promise<number> {
  if (handle.data !== undefined) {
    // Read with the open: fewer bytes than announced means the read stopped early (error or shrink).
    if (handle.data.length < length) {
      await handle.close();
      throw shortFile(start + handle.data.length, start + length);
    }
    if (handle.data.length > 0) await write(socket, handle.data);
    await end(socket);
    return handle.data.length;
  }
  const read = handle.read;
  if (read === undefined) throw new Error('readLoop: the handle has no positional read');
  const size = Math.min(CHUNK, Math.max(1, length));
  const buffers = [take(size), take(size)];
  let sent = 0;
  let inFlight: Promise<void> | undefined;
  try {
    for (let i = 0; sent < length; i++) {
      if (signal.aborted) throw aborted();
      const buf = buffers[i % 2];
      // This read overlaps the write of the other buffer, still in flight.
      let n: number;
      try {
        n = await read(buf, Math.min(buf.length, length - sent), start + sent);
      } catch (err) {
        throw readFailure(err, start + sent);
      }
      if (n === 0) throw shortFile(start + sent, start + length);
      if (inFlight !== undefined) await inFlight;
      if (signal.aborted) throw aborted();
      inFlight = write(socket, n === buf.length ? buf : buf.subarray(0, n));
      // The failure is awaited on the next turn; until then it must not count as unhandled.
      inFlight.catch(() => undefined);
      sent += n;
    }
    if (inFlight !== undefined) await inFlight;
    inFlight = undefined;
    await end(socket);
    return sent;
  } finally {
    // A write still in flight keeps its buffer until the socket is destroyed: never pool it.
    if (inFlight === undefined) for (const b of buffers) give(b);
    await handle.close();
  }
}
