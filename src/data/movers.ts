/**
 * Moving a file's bytes over a data connection, by the fastest path the transfer allows:
 * - downloads: sendfile(2) for big plain files (pump.ts), the two-buffer read loop for plain files
 *   (read-loop.ts, also small files read with their open), and a stream through the stages for
 *   ASCII conversion and throttling;
 * - uploads: the native recv/pwrite pump for plain binary uploads into a local file (the sink's
 *   native capability), else a stream through throttling, ASCII conversion and the quota budget.
 * Guarantees: every path honours the abort signal (ABOR, QUIT, a lost control connection), the
 * quota budget and backpressure; a download whose file cannot be read, or is shorter than at its
 * open, fails with 451 and never ends with 226 (read-loop.ts readFailure, shortFile).
 */
import type net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable, type Writable } from 'node:stream';
import { FtpError } from '../errors.js';
import { byteBudget } from '../policy/quota.js';
import type { ReadHandle, UploadSink } from '../storage/types.js';
import { fromNetworkAscii, toNetworkAscii } from './ascii.js';
import { pumpDownload, pumpUpload, reservePump } from './pump.js';
import { readFailure, readLoop, shortFile } from './read-loop.js';
import { throttle, type RateLimiter } from './throttle.js';

/** How a transfer's bytes must be treated. */
export interface MoveOptions {
  /** TYPE A: line ends converted (RFC 959 §3.1.1.1). */
  ascii: boolean;
  /** The session's bandwidth limiter for this direction, if any. */
  rate?: RateLimiter;
  /** The data connection is TLS (PROT P): native paths cannot write it. */
  tls: boolean;
  /** Idle time of the data connection (the native paths keep their own timer). */
  idleMs: number;
  /** Receives a function giving the bytes moved so far when a native path bypasses the socket. */
  onProgress(bytes: () => number): void;
}

/** Moves data through the transforms in order (none: a direct pipe, the fast path). */
async function pipe(from: Readable, stages: Transform[], to: Writable, signal: AbortSignal): Promise<void> {
  if (stages.length === 0) await pipeline(from, to, { signal });
  else await pipeline([from, ...stages, to], { signal });
}

/**
 * The stream download path (ASCII conversion, throttling): the file's stream through the stages to
 * the socket. A read error of the file is a 451 (readFailure), not the socket's failure, and a file
 * that gives fewer bytes than `remaining` (it shrank) is a 451 too (shortFile): never a short 226.
 */
async function streamDownload(
  handle: ReadHandle,
  stages: Transform[],
  data: Writable & { bytesWritten: number },
  signal: AbortSignal,
  offset: number,
  remaining: number,
): Promise<number> {
  const source = handle.stream();
  let fileBytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      fileBytes += chunk.length;
      done(null, chunk);
    },
  });
  // The first failure tells which side broke: pipeline() then destroys every stream with it.
  let fileFault: unknown;
  let socketFault = false;
  source.once('error', (err) => {
    if (!socketFault) fileFault ??= err;
  });
  data.once('error', () => {
    if (fileFault === undefined) socketFault = true;
  });
  try {
    await pipeline([source, count, ...stages, data], { signal });
  } catch (err) {
    if (!signal.aborted && fileFault !== undefined) throw readFailure(fileFault, offset + fileBytes);
    throw err;
  } finally {
    source.destroy();
  }
  if (fileBytes < remaining) throw shortFile(offset + fileBytes, offset + remaining);
  return data.bytesWritten;
}

/**
 * Sends `remaining` bytes of an open file from `offset` and ends the connection; resolves with the
 * bytes sent. The handle is closed in every case.
 */
export async function moveDownload(
  handle: ReadHandle,
  data: net.Socket,
  signal: AbortSignal,
  offset: number,
  remaining: number,
  opts: MoveOptions,
): Promise<number> {
  const stages: Transform[] = [];
  if (opts.ascii) stages.push(toNetworkAscii());
  if (opts.rate !== undefined) stages.push(throttle(opts.rate));
  try {
    if (stages.length === 0 && handle.data === undefined && handle.fd !== undefined) {
      // Big plain files: sendfile(2) on the thread pool, a bounded few at once.
      const slot = await reservePump(data, !opts.tls);
      if (slot !== undefined) {
        return await pumpDownload(
          slot,
          data,
          handle.fd,
          offset,
          remaining,
          signal,
          opts.idleMs,
          opts.onProgress,
        );
      }
    }
    if (stages.length === 0 && (handle.data !== undefined || handle.read !== undefined)) {
      return await readLoop(handle, data, offset, remaining, signal);
    }
    return await streamDownload(handle, stages, data, signal, offset, remaining);
  } finally {
    await handle.close();
  }
}

/**
 * Receives an upload into the sink until the client ends the data connection; resolves with the
 * bytes received. Over the sink's budget it fails with 552 (ERR_QUOTA). The sink is ended (not
 * committed) on success; the caller commits or aborts it.
 */
export async function moveUpload(
  sink: UploadSink,
  data: net.Socket,
  signal: AbortSignal,
  opts: MoveOptions,
): Promise<number> {
  const plain = opts.rate === undefined && !opts.ascii && !opts.tls;
  const slot = await reservePump(data, plain && sink.native !== undefined);
  if (slot !== undefined && sink.native !== undefined) {
    // The native pump: 1 MiB recv/pwrite on the thread pool, a bounded few at once.
    return pumpUpload(
      slot,
      data,
      sink.stream,
      sink.native,
      sink.budget,
      signal,
      opts.idleMs,
      opts.onProgress,
    );
  }
  const stages: Transform[] = [];
  if (opts.rate !== undefined) stages.push(throttle(opts.rate));
  if (opts.ascii) stages.push(fromNetworkAscii());
  if (sink.budget !== undefined) stages.push(byteBudget(sink.budget));
  await pipe(data, stages, sink.stream, signal);
  return data.bytesRead;
}

/** True when a transfer failed because it went over a quota (upstream §5.1: nothing of it is kept). */
export function isQuotaFailure(err: unknown): boolean {
  return err instanceof FtpError && err.code === 'ERR_QUOTA';
}
