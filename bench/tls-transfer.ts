/**
 * Explicit FTPS for the `tls` group (issue #5): AUTH TLS on the control connection (RFC 4217), PBSZ 0,
 * PROT P, and data connections that resume the control connection's TLS session (tsftpd refuses any
 * other by default; Pure-FTPd accepts both). Same shape as the plain workloads: a fresh session per
 * transfer, timed from RETR/STOR to the final 226, the size checked, uploads deleted afterwards.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { FtpControl } from './ftp-client.js';
import { drained } from './transfer.js';
import type { Endpoint } from './workloads.js';

const MIB = 1 << 20;
/** Longest silence on a data connection before the transfer counts as failed. */
const IDLE_TIMEOUT_MS = 120_000;
/** Decrypted data lands in this one reusable buffer (socket `onread`), as in the plain client. */
const READ_BUFFER = Buffer.allocUnsafe(4 << 20);

/** One TLS transfer: its throughput and the TLS it ran over (protocol, cipher, resumed or not). */
export interface TlsSample {
  mibps: number;
  tls: string;
}

/** AUTH TLS, USER, PASS, PBSZ 0, PROT P, TYPE I: a session whose data connections are encrypted. */
async function secureSession(ep: Endpoint): Promise<FtpControl> {
  const ftp = await FtpControl.open(ep.host, ep.port);
  try {
    await ftp.startTls();
    await ftp.expect(`USER ${ep.user}`, 331);
    await ftp.expect(`PASS ${ep.password}`, 230);
    await ftp.expect('PBSZ 0', 200);
    await ftp.expect('PROT P', 200);
    await ftp.expect('TYPE I', 200);
  } catch (err) {
    ftp.destroy();
    throw err;
  }
  return ftp;
}

interface TlsData {
  socket: tls.TLSSocket;
  /** TCP connected (the handshake completes only once the server runs its side, after 150). */
  connected: Promise<void>;
  secured: Promise<void>;
  /** Resolves at close; rejects on a socket error. */
  closed: Promise<void>;
  /** Protocol and cipher of the data connection, once secured. */
  info(): string;
}

/** Hands a read's size on and keeps the socket reading. */
function count(onread: (n: number) => void, n: number): boolean {
  onread(n);
  return true;
}

/** Opens a TLS data connection to an EPSV port, resuming `session`. */
function openData(
  host: string,
  port: number,
  session: Buffer | undefined,
  onread?: (n: number) => void,
): TlsData {
  const socket = tls.connect({
    host,
    port,
    session,
    rejectUnauthorized: false,
    ...(onread
      ? { onread: { buffer: READ_BUFFER, callback: (n: number): boolean => count(onread, n) } }
      : {}),
  });
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy(new Error('data connection idle for 120 s')));
  let info = 'not secured';
  const connected = once(socket, 'connect').then(() => undefined);
  const secured = new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => {
      const c = socket.getCipher();
      const how = socket.isSessionReused() ? 'session resumed' : 'full handshake (not resumed)';
      info = `${socket.getProtocol() ?? '?'} ${c.standardName ?? c.name}, ${how}`;
      resolve();
    });
    socket.once('close', () => reject(new Error('data connection closed before the TLS handshake')));
  });
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
  // Each is awaited later; these keep an early failure from being an unhandled rejection meanwhile.
  for (const p of [connected, secured, closed]) p.catch(() => undefined);
  return { socket, connected, secured, closed, info: () => info };
}

/** Downloads one file over TLS (its last `tail` bytes with REST when given); MiB/s from RETR to 226. */
export async function downloadTls(ep: Endpoint, file: string, size: number, tail = size): Promise<TlsSample> {
  const ftp = await secureSession(ep);
  try {
    if (tail < size) await ftp.expect(`REST ${size - tail}`, 350);
    const session = await ftp.tlsSession();
    const port = await ftp.epsv();
    let bytes = 0;
    const data = openData(ep.host, port, session, (n) => (bytes += n));
    try {
      await data.connected;
      const t0 = performance.now();
      ftp.send(`RETR ${file}`);
      const first = await ftp.reply();
      if (first.code !== 150 && first.code !== 125) throw new Error(`RETR: expected 150, got ${first.text}`);
      const [, last] = await Promise.all([data.closed, ftp.reply()]);
      const ms = performance.now() - t0;
      if (last.code !== 226) throw new Error(`RETR: expected 226, got ${last.code} ${last.text}`);
      if (bytes !== tail) throw new Error(`RETR ${file} over TLS: got ${bytes} bytes, expected ${tail}`);
      return { mibps: tail / MIB / (ms / 1000), tls: data.info() };
    } finally {
      data.socket.destroy();
    }
  } finally {
    await ftp.quit();
  }
}

/** Uploads `size` bytes (`block` repeated) over TLS into `dir`, then deletes it; MiB/s from STOR to 226. */
export async function uploadTls(ep: Endpoint, dir: string, size: number, block: Buffer): Promise<TlsSample> {
  const ftp = await secureSession(ep);
  const name = `${dir}/upload-tls-${process.pid}-${Date.now()}.bin`;
  try {
    const session = await ftp.tlsSession();
    const port = await ftp.epsv();
    const data = openData(ep.host, port, session);
    const { socket } = data;
    let failure: Error | undefined;
    socket.on('error', (err) => (failure = err));
    let ms: number;
    try {
      await data.connected;
      const t0 = performance.now();
      ftp.send(`STOR ${name}`);
      const first = await ftp.reply();
      if (first.code !== 150 && first.code !== 125) throw new Error(`STOR: expected 150, got ${first.text}`);
      await data.secured;
      const blocks = Math.ceil(size / block.length);
      for (let i = 0; i < blocks && failure === undefined; i++) {
        const len = Math.min(block.length, size - i * block.length);
        if (!socket.write(len === block.length ? block : block.subarray(0, len))) await drained(socket);
      }
      if (failure) throw failure;
      socket.resume();
      socket.end(); // close_notify, then FIN: tsftpd treats an upload without close_notify as truncated
      await once(socket, 'finish');
      const last = await ftp.reply();
      ms = performance.now() - t0;
      if (last.code !== 226) throw new Error(`STOR: expected 226, got ${last.code} ${last.text}`);
    } finally {
      socket.destroy();
    }
    const sizeReply = await ftp.expect(`SIZE ${name}`, 213);
    if (Number(sizeReply.text.slice(4)) !== size) throw new Error(`STOR: server stored ${sizeReply.text}`);
    return { mibps: size / MIB / (ms / 1000), tls: data.info() };
  } finally {
    await ftp.command(`DELE ${name}`).catch(() => undefined);
    await ftp.quit();
  }
}
