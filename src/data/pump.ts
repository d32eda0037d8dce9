/**
 * The native data paths, for plain binary transfers (no TLS, no ASCII conversion, no throttling).
 *
 * Downloads of files too big to be read with their open go out with sendfile(2) on the thread pool
 * (sendFromFile in native/pump.c): page-cache pages go straight into the socket, no chunk passes
 * through JavaScript.
 *
 * Uploads: a plain binary upload is
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
import type { FileSink } from '../storage/file-sink.js';

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
  sendFromFile(sock: number, file: number, offset: number, length: number, idleMs: number): PumpJob;
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
 * Reserves a pump slot when the transfer can take the native path (`eligible`: the caller's
 * conditions hold; a plain TCP socket; the addon loaded; a slot free); undefined sends the
 * transfer down the stream path.
 */
export async function reservePump(socket: net.Socket, eligible: boolean): Promise<PumpSlot | undefined> {
  if (!eligible || socketFd(socket) === undefined) return undefined;
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
/** The error a failed native job stands for, like the stream paths' (426 replies for all of them). */
function jobError(r: PumpResult, idleMs: number, what: string): Error | undefined {
  if (r.cancelled) return Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
  if (r.timedOut) {
    return new FtpError(
      'ERR_DATA_CONNECTION',
      426,
      `Timeout (no new data for ${Math.round(idleMs / 1000)} seconds)`,
    );
  }
  if (r.err !== 0) {
    const code = r.err === 104 ? 'ECONNRESET' : r.err === 32 ? 'EPIPE' : 'EIO';
    return Object.assign(new Error(`${what} failed: errno ${r.err}`), { code });
  }
  return undefined;
}

/** Runs a job with ABOR/QUIT cancelling it; the socket is lent to it meanwhile (pumpedSockets). */
async function lend(socket: net.Socket, job: PumpJob, signal: AbortSignal): Promise<PumpResult> {
  const onAbort = (): void => job.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  pumpedSockets.add(socket);
  try {
    return await job.promise;
  } finally {
    pumpedSockets.delete(socket);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Sends `length` bytes of the open file `fileFd` from `offset` with sendfile(2), then ends the
 * socket; resolves with the bytes sent (fewer when the file shrank meanwhile), or throws like the
 * stream path. The slot is released when the native job has returned. The caller closes the file.
 * @param progress receives a function giving the bytes sent so far (for STAT)
 */
export async function pumpDownload(
  slot: PumpSlot,
  socket: net.Socket,
  fileFd: number,
  offset: number,
  length: number,
  signal: AbortSignal,
  idleMs: number,
  progress: (sent: () => number) => void,
): Promise<number> {
  let r: PumpResult;
  try {
    const native = (await pumpAddon())!;
    const fd = socketFd(socket);
    if (fd === undefined) throw Object.assign(new Error('data connection closed'), { code: 'EPIPE' });
    // The pump has its own idle timeout; Node's, seeing no writes of its own, would close the socket.
    socket.setTimeout(0);
    const job = native.sendFromFile(fd, fileFd, offset, length, idleMs);
    progress(() => job.progress());
    r = await lend(socket, job, signal);
  } finally {
    slot.release();
  }
  const failure = jobError(r, idleMs, 'download');
  if (failure !== undefined) throw failure;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.end(() => {
      socket.off('error', reject);
      resolve();
    });
  });
  return r.bytes;
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
  let earlyBytes: number;
  let r: PumpResult;
  try {
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
    earlyBytes = early.reduce((n, c) => n + c.length, 0);
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
    r = await lend(socket, job, signal);
  } finally {
    slot.release();
  }
  sink.advance(r.bytes);
  if (r.overLimit && !r.cancelled) throw new FtpError('ERR_QUOTA', 552, 'Transfer aborted (quota)');
  const failure = jobError(r, idleMs, 'upload');
  if (failure !== undefined) throw failure;
  await new Promise<void>((resolve, reject) =>
    sink.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return earlyBytes + r.bytes;
}
