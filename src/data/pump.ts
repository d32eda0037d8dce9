/**
 * The upload fast path: a plain binary upload (no TLS, no ASCII conversion, no throttling) is
 * moved from the socket to the file by the tsftpd_pump addon on the thread pool with 1 MiB
 * recv()/pwrite() calls (native/pump.c) — Node's own socket reads (64 KiB per callback) capped
 * uploads well below Pure-FTPd's. The pump honours the quota budget, ABOR/QUIT (cancel) and the
 * idle timeout; the other paths stay as they are when the addon is missing.
 *
 * A running pump holds one thread of libuv's pool for the whole upload, however slowly the client
 * sends. So only a quarter of the pool may pump at once (PUMP_SLOTS); further uploads take the
 * stream path, and a handful of slow uploaders can never starve the file I/O, directory scans and
 * password hashing of every other session.
 */
import type net from 'node:net';
import { FtpError } from '../errors.js';
import { loadAddon } from '../native-addons.js';
import { FileSink } from '../storage/file-sink.js';

interface PumpResult {
  bytes: number;
  eof: boolean;
  err: number;
  overLimit: boolean;
  timedOut: boolean;
  cancelled: boolean;
}

interface PumpJob {
  promise: Promise<PumpResult>;
  cancel(): void;
  progress(): number;
}

interface PumpAddon {
  receiveToFile(sock: number, file: number, offset: number, limit: number, idleMs: number): PumpJob;
}

/**
 * Sockets whose descriptor a pump is using: they must not be closed until it returns (a closed and
 * reused descriptor number would make the pump read another connection).
 */
export const pumpedSockets = new WeakSet<net.Socket>();

let addon: Promise<PumpAddon | undefined> | undefined;

/** libuv's pool size (src/threadpool.ts sets it before the pool starts). */
function poolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}

/** Uploads that may hold a pool thread at once: a quarter of the pool, at least one. */
export const PUMP_SLOTS = Math.max(1, Math.floor(poolSize() / 4));
let pumpsRunning = 0;

/** Pumps running now (for tests and STAT-like reporting). */
export function runningPumps(): number {
  return pumpsRunning;
}

/** A reserved pump slot: give it back exactly once. */
export interface PumpSlot {
  release(): void;
}

function pumpAddon(): Promise<PumpAddon | undefined> {
  addon ??= loadAddon<PumpAddon>('tsftpd_pump', 'run "npm install"').catch(() => undefined);
  return addon;
}

/** The kernel descriptor of a plain TCP socket (libuv's handle keeps it; TLS sockets have none). */
function socketFd(socket: net.Socket): number | undefined {
  // net.Socket does not expose its descriptor publicly; TCP handles carry it as `fd` on Unix.
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

/**
 * Reserves a pump slot when the upload can take the native path (a plain TCP socket into a
 * FileSink, the addon loaded, a slot free); undefined sends the upload down the stream path.
 */
export async function reservePump(socket: net.Socket, sink: unknown): Promise<PumpSlot | undefined> {
  if (!(sink instanceof FileSink) || socketFd(socket) === undefined) return undefined;
  if ((await pumpAddon()) === undefined) return undefined;
  // Checked and taken after the last await: two sessions cannot both take the last slot.
  if (pumpsRunning >= PUMP_SLOTS) return undefined;
  pumpsRunning++;
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      pumpsRunning--;
    },
  };
}

/**
 * Receives the whole upload into the sink's file; resolves with the bytes received, or throws like
 * the stream path (AbortError, 552 over quota, 426 timeout, the socket's error code). The slot
 * (from reservePump) is released when the native job has returned, whatever the outcome.
 * @param progress receives a function giving the bytes received so far (for STAT)
 */
export async function pumpUpload(
  slot: PumpSlot,
  socket: net.Socket,
  sink: FileSink,
  limit: number | undefined,
  signal: AbortSignal,
  idleMs: number,
  progress: (read: () => number) => void,
): Promise<number> {
  try {
    return await runPump(socket, sink, limit, signal, idleMs, progress);
  } finally {
    slot.release();
  }
}

async function runPump(
  socket: net.Socket,
  sink: FileSink,
  limit: number | undefined,
  signal: AbortSignal,
  idleMs: number,
  progress: (read: () => number) => void,
): Promise<number> {
  const native = (await pumpAddon())!;
  const fd = socketFd(socket)!;
  // pause() alone does not stop libuv from reading into the stream's buffer (only its high-water
  // mark does): stop the handle itself, so every byte after what is drained below reaches the pump.
  const handle = (socket as unknown as { _handle: { readStop(): number; reading: boolean } })._handle;
  socket.pause();
  handle.reading = false;
  handle.readStop();
  // The pump has its own idle timeout; Node's would close the descriptor under it.
  socket.setTimeout(0);
  // Bytes that reached JavaScript before the pause go first, through the sink.
  const early: Buffer[] = [];
  for (
    let c: Buffer | null = socket.read() as Buffer | null;
    c !== null;
    c = socket.read() as Buffer | null
  ) {
    early.push(c);
  }
  // read() may have asked libuv to read again: stop it once more, before any I/O can happen.
  handle.reading = false;
  handle.readStop();
  const earlyBytes = early.reduce((n, c) => n + c.length, 0);
  if (limit !== undefined && earlyBytes > limit) {
    throw new FtpError('ERR_QUOTA', 552, 'Transfer aborted (quota)');
  }
  const target = await sink.external(early);
  const job = native.receiveToFile(
    fd,
    target.fd,
    target.append ? -1 : target.position,
    limit === undefined ? -1 : limit - earlyBytes,
    idleMs,
  );
  progress(() => earlyBytes + job.progress());
  const onAbort = (): void => job.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  pumpedSockets.add(socket);
  let r: PumpResult;
  try {
    r = await job.promise;
  } finally {
    pumpedSockets.delete(socket);
    signal.removeEventListener('abort', onAbort);
  }
  sink.advance(r.bytes);
  if (r.cancelled) throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
  if (r.overLimit) throw new FtpError('ERR_QUOTA', 552, 'Transfer aborted (quota)');
  if (r.timedOut) {
    throw new FtpError(
      'ERR_DATA_CONNECTION',
      426,
      `Timeout (no new data for ${Math.round(idleMs / 1000)} seconds)`,
    );
  }
  if (r.err !== 0)
    throw Object.assign(new Error(`upload failed: errno ${r.err}`), {
      code: r.err === 104 ? 'ECONNRESET' : 'EIO',
    });
  await new Promise<void>((resolve, reject) =>
    sink.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return earlyBytes + r.bytes;
}
