/**
 * The life of one data transfer (RFC 959 §5.4, upstream §2.3): open the data connection, 150, move
 * the bytes with backpressure, 226 — or 425/426/451 with the partial state cleaned up. ABOR, QUIT
 * and a lost control connection abort it through one AbortController; the final reply is always
 * sent before ABOR's own reply (RFC 959 §4.1.3).
 */
import type net from 'node:net';
import { FtpError, toReply } from '../errors.js';
import { openDataSocket } from './connect.js';
import { pumpedSockets } from './pump.js';
import { secureDataConnection, type SecureData, type SessionTls } from '../tls/session-tls.js';
import { tlsErrorText } from '../tls/control.js';
import { Code } from '../session/codes.js';
import { reply, type Reply, type ReplyLine } from '../session/reply.js';
import type { EventBus, SessionRef } from '../telemetry/bus.js';
import type { VPath } from '../storage/types.js';
import type { DataSetup, Transfer } from './types.js';
import { tr, type Msg } from '../i18n/msg.js';

/**
 * What a transfer needs of its session (the session satisfies it): the pending data setup, the
 * slot for the running transfer, the control connection's replies, and the few settings involved.
 */
export interface TransferHost {
  readonly ref: SessionRef;
  data?: DataSetup;
  transfer?: Transfer;
  readonly idleSeconds: number;
  readonly tls?: SessionTls;
  readonly isClosing: boolean;
  /** TYPE: A (ASCII) or I (binary), for the transfer logs. */
  readonly type?: 'A' | 'I';
  readonly server: {
    readonly bus: EventBus;
    readonly config: Readonly<{ tlsSessionBinding: boolean }>;
  };
  readonly storage?: { describe(p: VPath): string };
  reply(code: number, ...lines: ReplyLine[]): void;
  send(r: Reply): void;
}

/** What a command asks the runner to do. */
export interface TransferJob {
  direction: 'upload' | 'download';
  /** A directory listing (LIST, NLST, MLSD) rather than a file transfer. */
  listing?: boolean;
  path: VPath;
  offset: number;
  total?: number;
  /** Lines shown before the 150 text (STOU's `FILE: name`). */
  before150?: ReplyLine[];
  /** Lines shown after the 150 text (`N kbytes to download`). */
  after150?: ReplyLine[];
  /** Moves the data; must honour the signal; resolves with the byte count. */
  move(data: net.Socket, signal: AbortSignal): Promise<number>;
  /** Runs after a complete move (uploads commit here); returns the 226 reply. */
  succeed(bytes: number, seconds: number): Promise<Reply>;
  /** Bytes moved so far when the mover bypasses the socket's own counters (the native pump). */
  progress?: () => number | undefined;
  /** Cleans up after a failure or an abort. */
  fail(err: unknown): Promise<void>;
}

/** The `226 T.TTT seconds (measured here), X.XX Mbytes per second` line (upstream §2.3). */
export function rateLine(bytes: number, seconds: number): Msg | undefined {
  if (seconds <= 0 || bytes <= 0) return undefined;
  const rate = bytes / seconds;
  const time = seconds.toFixed(3);
  if (rate > 512 * 1024)
    return tr`${time} seconds (measured here), ${(rate / 1024 / 1024).toFixed(2)} Mbytes per second`;
  if (rate > 512) return tr`${time} seconds (measured here), ${(rate / 1024).toFixed(2)} Kbytes per second`;
  return tr`${time} seconds (measured here), ${rate.toFixed(2)} bytes per second`;
}

/**
 * How long the end of a TLS transfer waits for the client's close after our close_notify. A
 * download's 226 waits for it (the client then has every byte before the reply); an upload's 226
 * does not (its client may wait for the 226 before closing): the socket lingers in the background.
 */
const TLS_CLOSE_WAIT_MS = 2000;

/** Runs a transfer; returns the final reply (or nothing when the session is gone). */
export async function runTransfer(s: TransferHost, job: TransferJob): Promise<Reply | void> {
  if (s.data === undefined) return reply(Code.CANT_OPEN_DATA, tr`No data connection`);
  const active = s.data.kind === 'active' ? s.data.target : undefined;
  const abort = new AbortController();
  let finished!: () => void;
  let data: net.Socket | undefined;
  const t: Transfer = {
    direction: job.direction,
    listing: job.listing === true,
    path: job.path,
    abort,
    done: new Promise<void>((r) => (finished = r)),
    startedAt: Date.now(),
    offset: job.offset,
    total: job.total,
    bytes: () =>
      job.progress?.() ??
      (data === undefined ? 0 : job.direction === 'download' ? data.bytesWritten : data.bytesRead),
  };
  s.transfer = t;
  s.server.bus.emit('transfer-start', {
    session: s.ref,
    direction: job.direction,
    listing: job.listing === true,
    path: job.path,
    offset: job.offset,
  });
  let final: Reply;
  let ok = false;
  let bytes = 0;
  try {
    if (active)
      s.reply(
        Code.OPENING_DATA,
        ...(job.before150 ?? []),
        tr`Connecting to port ${active.port}`,
        ...(job.after150 ?? []),
      );
    const setup = s.data;
    s.data = undefined; // every transfer needs a new PASV or PORT, as with Pure-FTPd
    data = await openDataSocket(setup, s.ref.localIp, abort.signal, s.idleSeconds * 1000);
    if (!active)
      s.reply(
        Code.OPENING_DATA,
        ...(job.before150 ?? []),
        tr`Accepted data connection`,
        ...(job.after150 ?? []),
      );
    const idleMs = s.idleSeconds * 1000;
    data.setTimeout(idleMs, () =>
      data?.destroy(new FtpError('ERR_DATA_CLOSED', tr`Timeout (no new data for ${s.idleSeconds} seconds)`)),
    );
    let secured: SecureData | undefined;
    if (s.tls?.prot === 'P') {
      const raw = data;
      const onAbort = (): void => void raw.destroy();
      abort.signal.addEventListener('abort', onAbort, { once: true });
      try {
        secured = await secureDataConnection(
          raw,
          s.tls,
          s.ref,
          job.direction,
          s.server.config.tlsSessionBinding,
          abort.signal,
        );
      } catch (err) {
        // secureDataConnection closes a refused connection itself, gently (see closeRefused).
        data = undefined;
        throw err;
      } finally {
        abort.signal.removeEventListener('abort', onAbort);
      }
      data = secured.socket;
    }
    // Errors reach the mover through its writes and reads; this listener only keeps a reset data
    // connection from becoming an uncaught 'error' event. ABOR/QUIT destroy the connection, which
    // unblocks a mover that waits for a client that stopped reading.
    const socket = data;
    socket.on('error', () => undefined);
    // A socket lent to the native upload pump is closed only after the pump returns (data/pump.ts).
    abort.signal.addEventListener('abort', () => void (pumpedSockets.has(socket) || socket.destroy()), {
      once: true,
    });
    const started = Date.now();
    bytes = await job.move(data, abort.signal);
    const seconds = (Date.now() - started) / 1000;
    if (secured?.truncated()) {
      // RFC 4217 §9: a TLS stream that ends without close_notify may have been cut by an attacker.
      throw new FtpError('ERR_DATA_CLOSED', tr`Transfer aborted: TLS data stream ended without close_notify`);
    }
    // close_notify, then the client's close (bounded), then the TCP socket (session-tls.ts).
    if (secured !== undefined) {
      const closing = secured.finish(TLS_CLOSE_WAIT_MS);
      if (job.direction === 'download') await closing;
      data = undefined; // finish() destroys it
    }
    final = await job.succeed(bytes, seconds);
    ok = true;
  } catch (err) {
    bytes = t.bytes();
    await job
      .fail(err)
      .catch((e: unknown) => s.server.bus.log(s.ref, 'ERROR', `cleanup failed: ${String(e)}`));
    final = failureReply(s, t, err);
  } finally {
    data?.destroy();
    s.transfer = undefined;
  }
  if (s.server.bus.has('transfer-end')) {
    s.server.bus.emit('transfer-end', {
      session: s.ref,
      direction: job.direction,
      listing: job.listing === true,
      path: job.path,
      realPath: s.storage?.describe(job.path) ?? job.path,
      bytes,
      seconds: (Date.now() - t.startedAt) / 1000,
      ok,
      ascii: s.type === 'A',
    });
  }
  if (!s.isClosing) s.send(final);
  finished();
}

/** What a failed transfer's error means for its reply (the error table decides the code). */
function transferError(t: Transfer, err: unknown): FtpError {
  if (t.reason !== undefined || abortish(err)) {
    return new FtpError('ERR_ABORTED', tr`Transfer aborted. Data connection closed`);
  }
  if (err instanceof FtpError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new FtpError('ERR_DATA_CLOSED');
  }
  if (code?.startsWith('ERR_TLS_') === true || code?.startsWith('ERR_SSL_') === true) {
    // A TLS error on the data connection after its handshake (a renegotiation request included).
    return new FtpError('ERR_DATA_CLOSED', tr`Transfer aborted: TLS error on the data connection`, {
      detail: `data connection: ${tlsErrorText(err as Error)}`,
    });
  }
  // Anything else is a server-side failure: an ERROR line naming the file.
  return new FtpError(t.direction === 'upload' ? 'ERR_IO' : 'ERR_SEND_FAILED', tr`Transfer aborted`, {
    detail: String(err),
    cause: err,
  });
}

/** The final reply of a failed transfer; a server-side fault is logged as an ERROR naming the file. */
function failureReply(s: TransferHost, t: Transfer, err: unknown): Reply {
  return toReply(
    transferError(t, err),
    (level, message) =>
      s.server.bus.log(
        s.ref,
        level,
        level === 'ERROR' ? `transfer of ${t.path} failed: ${message}` : message,
      ),
    `transfer of ${t.path}`,
  );
}

function abortish(err: unknown): boolean {
  return (err as { name?: string }).name === 'AbortError';
}
