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
 *
 * Guarantees: a socket is handed to a native job only when Node has stopped reading it, and its
 * descriptor is read in the same synchronous step that starts the job (which duplicates it): no
 * await lies between the check that the socket is open and its use, so the job can never work on
 * a closed or reused descriptor (issue 10 item 1: Node closed an active socket whose FIN it had read
 * while the first upload waited for this addon to load, and the pump got EBADF). A download that
 * cannot read its file, or finds it shorter than announced, fails with 451, never 226.
 */
import type net from 'node:net';
import { constants } from 'node:os';
import { FtpError } from '../errors.js';
import { loadAddon } from '../native-addons.js';
import type { Writable } from 'node:stream';
import type { NativeFileTarget } from '../storage/types.js';
import { readFailure, shortFile } from './read-loop.js';
import { tr } from '../i18n/msg.js';

interface PumpResult {
  bytes: number;
  eof: boolean;
  err: number;
  /** `err` comes from the file (read or write), not from the connection. */
  fileErr: boolean;
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
 * Sockets lent to the native path: their owner (transfer-run.ts) must not destroy them on ABOR
 * while the pump runs; the job is cancelled instead, and the socket is closed once it returned.
 * (The job works on its own duplicate of the descriptor, so even a close could not make it read a
 * closed or reused descriptor number: this only keeps the final reply in order.)
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

/** A reserved pump slot, with the loaded addon: give it back exactly once. */
export interface PumpSlot {
  release(): void;
  /** The native functions (loaded before the slot was given). */
  readonly native: PumpAddon;
}

function pumpAddon(): Promise<PumpAddon | undefined> {
  addon ??= loadAddon<PumpAddon>('tsftpd_pump', 'run "npm install"').catch(() => undefined);
  return addon;
}

/** The kernel descriptor of a plain TCP socket (libuv's handle keeps it; TLS sockets have none). */
function socketFd(socket: net.Socket): number | undefined {
  if (socket.destroyed) return undefined;
  // net.Socket does not expose its descriptor publicly; TCP handles carry it as `fd` on Unix.
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

/**
 * Stops Node from reading the socket: pause() alone does not stop libuv from reading into the
 * stream's buffer (only its high-water mark does), and what Node reads — the client's FIN above
 * all — makes Node end and close the socket by itself. Every byte after the ones already in the
 * stream's buffer stays in the kernel for the pump.
 */
function stopReading(socket: net.Socket): void {
  socket.pause();
  const handle = (socket as unknown as { _handle?: { readStop(): number; reading: boolean } | null })._handle;
  if (handle) {
    handle.reading = false;
    handle.readStop();
  }
}

/** True when Node has already read the end of the client's stream (its FIN) into the socket. */
function sawEnd(socket: net.Socket): boolean {
  const state = (socket as unknown as { _readableState?: { ended?: boolean } })._readableState;
  return socket.readableEnded || state?.ended === true;
}

/**
 * Reserves a pump slot when the transfer can take the native path (`eligible`: the caller's
 * conditions hold; a plain TCP socket; the addon loaded; a slot free); undefined sends the
 * transfer down the stream path.
 */
export async function reservePump(socket: net.Socket, eligible: boolean): Promise<PumpSlot | undefined> {
  if (!eligible || socketFd(socket) === undefined) return undefined;
  const native = await pumpAddon();
  if (native === undefined) return undefined;
  // Checked and taken after the last await: two sessions cannot both take the last slot. The
  // socket may have changed during the await (its client gone): checked again as well.
  if (pumpsRunning >= PUMP_SLOTS || socketFd(socket) === undefined) return undefined;
  pumpsRunning++;
  let held = true;
  return {
    native,
    release: () => {
      if (!held) return;
      held = false;
      pumpsRunning--;
    },
  };
}

/** The errno name of a native job's error number (`EIO` for 5), for the log and the reply mapping. */
function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return 'EIO';
}

/**
 * The error a failed native job stands for, like the stream paths' (426 replies for a lost
 * connection, 451 for a file that cannot be read or written).
 */
function jobError(
  r: PumpResult,
  idleMs: number,
  direction: 'upload' | 'download',
  at: number,
): Error | undefined {
  if (r.cancelled) return Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
  if (r.timedOut) {
    return new FtpError(
      'ERR_DATA_CLOSED',
      tr`Timeout (no new data for ${Math.round(idleMs / 1000)} seconds)`,
    );
  }
  if (r.err !== 0) {
    const code = errnoName(r.err);
    const err = Object.assign(new Error(`${direction} failed: ${code} (errno ${r.err})`), { code });
    // A download's file error is a read error: 451 and an error log line, never a short 226.
    return direction === 'download' && r.fileErr ? readFailure(err, at) : err;
  }
  return undefined;
}

/** The socket closed under a lent job: its descriptor number must never be passed on. */
function closedError(): Error {
  return Object.assign(new Error('data connection closed'), { code: 'EPIPE' });
}

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}

/**
 * Starts a native job on the socket's descriptor, taken in the same synchronous step (the addon
 * duplicates it at once), after every await of the caller: a descriptor number read before an
 * await may have been closed and reused meanwhile.
 */
function startJob(socket: net.Socket, signal: AbortSignal, start: (fd: number) => PumpJob): PumpJob {
  if (signal.aborted) throw abortError();
  const fd = socketFd(socket);
  if (fd === undefined) throw closedError();
  return start(fd);
}

/** Runs a job with ABOR/QUIT (and a socket closed by anyone) cancelling it. */
async function lend(socket: net.Socket, job: PumpJob, signal: AbortSignal): Promise<PumpResult> {
  const onAbort = (): void => job.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  socket.once('close', onAbort);
  try {
    return await job.promise;
  } finally {
    socket.off('close', onAbort);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Sends `length` bytes of the open file `fileFd` from `offset` with sendfile(2), then ends the
 * socket; resolves with the bytes sent, or throws like the stream path. A read error of the file
 * and a file that ends before `length` bytes (it shrank meanwhile) are 451 failures (readFailure,
 * shortFile): a short download never ends with 226. The slot is released when the native job has
 * returned. The caller closes the file.
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
  pumpedSockets.add(socket);
  try {
    stopReading(socket);
    // The pump has its own idle timeout; Node's, seeing no writes of its own, would close the socket.
    socket.setTimeout(0);
    const job = startJob(socket, signal, (fd) =>
      slot.native.sendFromFile(fd, fileFd, offset, length, idleMs),
    );
    progress(() => job.progress());
    r = await lend(socket, job, signal);
  } finally {
    pumpedSockets.delete(socket);
    slot.release();
  }
  const failure = jobError(r, idleMs, 'download', offset + r.bytes);
  if (failure !== undefined) throw failure;
  if (r.bytes < length) throw shortFile(offset + r.bytes, offset + length);
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
 * Receives the whole upload into the sink's file (`file`: the sink's native capability, which
 * lends its descriptor); resolves with the bytes received, or throws like
 * the stream path (AbortError, 552 over quota, 426 timeout, the socket's error code). The slot
 * (from reservePump) is released when the native job has returned, whatever the outcome.
 * @param progress receives a function giving the bytes received so far (for STAT)
 */
export async function pumpUpload(
  slot: PumpSlot,
  socket: net.Socket,
  sink: Writable,
  file: NativeFileTarget,
  limit: number | undefined,
  signal: AbortSignal,
  idleMs: number,
  progress: (read: () => number) => void,
): Promise<number> {
  let earlyBytes = 0;
  let r: PumpResult | undefined;
  pumpedSockets.add(socket);
  try {
    stopReading(socket);
    // The pump has its own idle timeout; Node's would close the socket under it.
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
    stopReading(socket);
    earlyBytes = early.reduce((n, c) => n + c.length, 0);
    if (limit !== undefined && earlyBytes > limit) {
      throw new FtpError('ERR_QUOTA', tr`Transfer aborted (quota)`);
    }
    // When Node had already read the client's FIN, the whole upload is in `early` and Node is about
    // to close the socket: nothing is left for a pump.
    const complete = sawEnd(socket);
    const target = await file.external(early);
    if (!complete) {
      const job = startJob(socket, signal, (fd) =>
        slot.native.receiveToFile(
          fd,
          target.fd,
          target.append ? -1 : target.position,
          limit === undefined ? -1 : limit - earlyBytes,
          idleMs,
        ),
      );
      progress(() => earlyBytes + job.progress());
      r = await lend(socket, job, signal);
    }
  } finally {
    pumpedSockets.delete(socket);
    slot.release();
  }
  if (r !== undefined) {
    file.advance(r.bytes);
    if (r.overLimit && !r.cancelled) throw new FtpError('ERR_QUOTA', tr`Transfer aborted (quota)`);
    const failure = jobError(r, idleMs, 'upload', earlyBytes + r.bytes);
    if (failure !== undefined) throw failure;
  }
  await new Promise<void>((resolve, reject) =>
    sink.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return earlyBytes + (r?.bytes ?? 0);
}
