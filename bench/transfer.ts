/**
 * Data-channel operations of the benchmark client: passive (EPSV) downloads read with one big
 * reusable buffer (socket `onread`, no allocation per chunk), and uploads written from an in-memory
 * block with backpressure. Times run from sending the transfer command to its final reply.
 */
import net from 'node:net';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { connectSocket, type FtpControl } from './ftp-client.js';

/** Longest silence on a data connection before the transfer counts as failed. */
const IDLE_TIMEOUT_MS = 120_000;

/** Read buffer shared by every data socket: onread hands it back before the next read. */
const READ_BUFFER = Buffer.allocUnsafe(4 << 20);

/** What a download delivered. */
export interface DownloadResult {
  bytes: number;
  /** Number of \n bytes seen (listings only). */
  lines: number;
  ms: number;
}

function countNewlines(buf: Uint8Array, n: number): number {
  let count = 0;
  for (let i = buf.indexOf(10); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) count++;
  return count;
}

interface DataSink {
  connected: Promise<void>;
  finished: Promise<{ bytes: number; lines: number }>;
}

function openReader(host: string, port: number, countLines: boolean): DataSink {
  let bytes = 0;
  let lines = 0;
  const socket = net.connect({
    host,
    port,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array): boolean => {
        bytes += n;
        if (countLines) lines += countNewlines(buf, n);
        return true;
      },
    },
  });
  // No data for this long means the server is stuck: fail the transfer instead of waiting forever.
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy(new Error('data connection idle for 120 s')));
  const connected = once(socket, 'connect').then(() => undefined);
  const finished = new Promise<{ bytes: number; lines: number }>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve({ bytes, lines }));
  });
  // 'close' follows 'error' as well: avoid an unhandled rejection on the connect promise alone.
  connected.catch(() => undefined);
  return { connected, finished };
}

/**
 * Runs a download-like command (RETR, LIST, MLSD) over a fresh EPSV data connection and returns
 * the bytes and lines received, timed from the command to the final 226.
 */
export async function retrieve(
  ftp: FtpControl,
  host: string,
  command: string,
  countLines = false,
): Promise<DownloadResult> {
  const port = await ftp.epsv();
  const sink = openReader(host, port, countLines);
  await sink.connected;
  const t0 = performance.now();
  ftp.send(command);
  const first = await ftp.reply();
  if (first.code !== 150 && first.code !== 125) {
    throw new Error(`${command.split(' ')[0]}: expected 150, got ${first.code} ${first.text}`);
  }
  const [data, last] = await Promise.all([sink.finished, ftp.reply()]);
  if (last.code !== 226)
    throw new Error(`${command.split(' ')[0]}: expected 226, got ${last.code} ${last.text}`);
  return { ...data, ms: performance.now() - t0 };
}

/** Resolves when the socket can take more data, or is gone (its error is reported elsewhere). */
export function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Uploads `bytes` bytes made of `block` repeated with STOR; returns the time to the final 226. */
export async function store(
  ftp: FtpControl,
  host: string,
  remotePath: string,
  bytes: number,
  block: Buffer,
): Promise<number> {
  const port = await ftp.epsv();
  const socket = await connectSocket(host, port, 10_000);
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy(new Error('data connection stalled for 120 s')));
  let failure: Error | undefined;
  socket.on('error', (err) => (failure = err));
  const t0 = performance.now();
  ftp.send(`STOR ${remotePath}`);
  const first = await ftp.reply();
  if (first.code !== 150 && first.code !== 125) {
    socket.destroy();
    throw new Error(`STOR: expected 150, got ${first.code} ${first.text}`);
  }
  const blocks = Math.ceil(bytes / block.length);
  for (let i = 0; i < blocks && failure === undefined; i++) {
    const len = Math.min(block.length, bytes - i * block.length);
    if (!socket.write(len === block.length ? block : block.subarray(0, len))) await drained(socket);
  }
  if (failure) {
    socket.destroy();
    throw failure;
  }
  socket.resume();
  socket.end();
  await once(socket, 'finish');
  const last = await ftp.reply();
  socket.destroy();
  if (last.code !== 226) throw new Error(`STOR: expected 226, got ${last.code} ${last.text}`);
  return performance.now() - t0;
}

/** Connects to a plain socket server that pushes data and reads it all; ms from connect to close. */
export async function readAll(host: string, port: number): Promise<{ bytes: number; ms: number }> {
  const t0 = performance.now();
  const sink = openReader(host, port, false);
  const { bytes } = await sink.finished;
  return { bytes, ms: performance.now() - t0 };
}
