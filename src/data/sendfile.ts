/**
 * The download fast path: file → socket with two reused buffers, so the next disk read overlaps
 * the socket write of the previous chunk, and no buffer is allocated per chunk (the 1 MiB-per-read
 * stream path spent most of its time in the garbage collector on small files, see
 * docs/performance.md). A small file arrives already read with its open (one thread-pool job) and
 * goes out in one write. Memory is bounded: at most two chunk buffers per running download, and
 * idle buffers are pooled up to POOL_LIMIT.
 */
import type { Writable } from 'node:stream';
import type { ReadHandle } from '../storage/types.js';

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
 * sent. The handle is closed in every case.
 */
export async function sendFile(
  handle: ReadHandle,
  socket: Writable,
  start: number,
  length: number,
  signal: AbortSignal,
): Promise<number> {
  if (handle.data !== undefined) {
    if (handle.data.length > 0) await write(socket, handle.data);
    await end(socket);
    return handle.data.length;
  }
  const read = handle.read;
  if (read === undefined) throw new Error('sendFile: the handle has no positional read');
  const size = Math.min(CHUNK, Math.max(1, length));
  const buffers = [take(size), take(size)];
  let sent = 0;
  let inFlight: Promise<void> | undefined;
  try {
    for (let i = 0; sent < length; i++) {
      if (signal.aborted) throw aborted();
      const buf = buffers[i % 2]!;
      // This read overlaps the write of the other buffer, still in flight.
      const n = await read(buf, Math.min(buf.length, length - sent), start + sent);
      if (n === 0) break; // the file shrank meanwhile: send what exists
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
