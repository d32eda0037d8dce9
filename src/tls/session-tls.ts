/**
 * TLS on control and data connections (RFC 4217, spec §10). Security notes:
 * - Each control session has its own SecureContext (own ticket keys) and its own TLS 1.2
 *   session-id cache, so a data connection can resume only a session born on *this* control
 *   connection. With binding on (the default), a data connection that does not resume it is
 *   refused: a stranger who steals the data port cannot complete the transfer (the protection
 *   vsftpd's require_ssl_reuse and FileZilla Server apply).
 * - Uploads read the raw TCP stream through a small relay that sees whether the peer's
 *   close_notify arrived before the TCP FIN; without it the upload is treated as truncated.
 * - Only TLS 1.2 and 1.3 are offered (certificates.ts).
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type net from 'node:net';
import tls from 'node:tls';
import { FtpError } from '../errors.js';
import type { CertificateStore } from './certificates.js';

/** TLS session ids remembered per control session (TLS 1.2 resumption). */
const SESSION_CACHE_SIZE = 16;
/** How long a handshake may take. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Upper bound of the wait for TLS to decode what the TCP FIN left buffered (a stalled reader). */
const CLOSE_NOTIFY_WAIT_MS = 30_000;
/** How long a refused data connection is kept open (reading and discarding) to close it cleanly. */
const REFUSAL_LINGER_MS = 2000;

/** The TLS state of one control session. */
export interface SessionTls {
  context: tls.SecureContext;
  /** Emits newSession/resumeSession for TLS 1.2 session ids, bounded. */
  cache: EventEmitter;
  store: CertificateStore;
  /** PROT level: C clear, P private. */
  prot: 'C' | 'P';
  pbsz: boolean;
  /** Server name the client asked for (SNI), when valid. */
  sni?: string;
  /** e.g. `TLSv1.3 with TLS_AES_256_GCM_SHA384, 256 secret bits cipher` */
  description?: string;
}

/** Creates the per-session TLS state (a fresh context: see the file note). */
export function newSessionTls(store: CertificateStore): SessionTls {
  const sessions = new Map<string, Buffer>();
  const cache = new EventEmitter();
  cache.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    if (sessions.size >= SESSION_CACHE_SIZE) sessions.delete(sessions.keys().next().value as string);
    sessions.set(id.toString('hex'), data);
    done();
  });
  cache.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
    done(null, sessions.get(id.toString('hex')) ?? null);
  });
  return { context: store.newContext(), cache, store, prot: 'C', pbsz: false };
}

function cipherBits(name: string): number {
  if (/CHACHA20|AES_?256|AES256/i.test(name)) return 256;
  if (/AES_?128|AES128/i.test(name)) return 128;
  return 0;
}

/** Valid SNI names (spec §10: at most 255 chars of A-Za-z0-9._-). */
function cleanSni(name: unknown): string | undefined {
  return typeof name === 'string' && /^[A-Za-z0-9._-]{1,255}$/.test(name) ? name : undefined;
}

/** Runs the server side of a handshake on `raw`; resolves with the secure socket. */
export function serverHandshake(raw: net.Socket | Duplex, state: SessionTls): Promise<tls.TLSSocket> {
  const socket = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: state.context,
    server: state.cache as unknown as tls.Server, // only its session events are used (see file note)
    ...state.store.socketOptions(),
  });
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('TLS handshake timeout')), HANDSHAKE_TIMEOUT_MS);
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => fail(new Error('connection closed during the TLS handshake'));
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('secure', () => {
      if (state.store.socketOptions().requestCert) {
        const refusal = clientCertificateError(socket);
        if (refusal !== undefined) return fail(new Error(`client certificate refused: ${refusal}`));
      }
      cleanup();
      resolve(socket);
    });
  });
}

/**
 * Why the client certificate is not acceptable (-J -C:, spec §10), undefined when it verified.
 * Node's certificate callback accepts every chain and leaves the verdict to JavaScript: tls.Server
 * reads it from the handle in its own 'secure' handler (`authorized` is set there), which a
 * TLSSocket built by hand never runs. So this asks the handle the same way; anything unexpected
 * counts as a refusal.
 */
function clientCertificateError(socket: tls.TLSSocket): string | undefined {
  const handle = (socket as unknown as { ssl?: { verifyError?: () => (Error & { code?: string }) | null } })
    .ssl;
  if (typeof handle?.verifyError !== 'function') return 'cannot check it';
  const err = handle.verifyError();
  if (err !== null && err !== undefined) return err.code ?? err.message;
  return socket.getPeerCertificate().raw === undefined ? 'none given' : undefined;
}

/** Records what the control handshake negotiated (for the log and SNI-aware backends). */
export function describeHandshake(state: SessionTls, socket: tls.TLSSocket): string {
  const c = socket.getCipher();
  state.sni = cleanSni(socket.servername);
  state.description = `${socket.getProtocol() ?? '?'} with ${c.standardName ?? c.name}, ${cipherBits(c.standardName ?? c.name)} secret bits cipher`;
  return state.description;
}

/**
 * A relay between the TCP socket and TLS that tells whether the stream ended with close_notify.
 * Node reports a clean TLS end and a bare TCP FIN the same way; but a close_notify makes TLS push
 * its end-of-stream as soon as it decodes the alert, *before* the relay passes the FIN on. So at
 * the FIN the relay waits until TLS has taken every buffered byte, then looks whether TLS ended.
 */
class CloseNotifyRelay extends Duplex {
  truncated = false;
  /** The TLS socket reading from this relay (set after the handshake). */
  tls?: tls.TLSSocket;
  private rawEndSeen = false;

  constructor(private readonly raw: net.Socket) {
    super();
    raw.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.onRawEnd());
    raw.on('error', (err) => this.destroy(err));
  }

  /** True once TLS has decoded an end of stream (a close_notify). */
  private tlsSawEnd(): boolean {
    // `_readableState.ended` is set when the stream's end is pushed, before any consumer reads it;
    // the public readableEnded only turns true once everything was read, too late to tell.
    const t = this.tls as unknown as { _readableState?: { ended?: boolean } } | undefined;
    return t?._readableState?.ended === true;
  }

  private onRawEnd(): void {
    if (this.rawEndSeen) return;
    this.rawEndSeen = true;
    const started = Date.now();
    const check = (): void => {
      const drained = this.readableLength === 0;
      if ((drained && this.tls !== undefined) || Date.now() - started >= CLOSE_NOTIFY_WAIT_MS) {
        // One more turn so TLS decodes the last bytes it has just taken.
        setImmediate(() => {
          this.truncated = !this.tlsSawEnd();
          this.push(null);
        });
      } else setTimeout(check, 5);
    };
    setImmediate(check);
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.raw.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.raw.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.raw.destroy();
    done(err);
  }
}

/**
 * Ends a refused data connection with close_notify instead of a reset: destroying a socket that
 * holds unread upload bytes makes the kernel send RST, and the client then reports "connection
 * reset" without ever reading the 425 that explains the refusal (plain Python ftplib in passive
 * mode did). What the client sends meanwhile is read and discarded, for a bounded time.
 */
function closeRefused(socket: tls.TLSSocket): void {
  const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.on('error', () => socket.destroy());
  socket.resume();
  socket.end();
}

/** A secured data connection and, for uploads, whether it ended without close_notify. */
export interface SecureData {
  socket: tls.TLSSocket;
  truncated(): boolean;
}

/** Runs TLS on a data connection (PROT P) and enforces the session binding. */
export async function secureDataConnection(
  raw: net.Socket,
  state: SessionTls,
  direction: 'upload' | 'download',
  binding: boolean,
): Promise<SecureData> {
  const relay = direction === 'upload' ? new CloseNotifyRelay(raw) : undefined;
  let socket: tls.TLSSocket;
  try {
    socket = await serverHandshake(relay ?? raw, state);
  } catch (err) {
    raw.destroy();
    throw new FtpError('ERR_DATA_CONNECTION', 425, `TLS handshake failed on the data connection`, {
      detail: `data TLS handshake: ${(err as Error).message}`,
    });
  }
  if (relay) relay.tls = socket;
  if (binding && !socket.isSessionReused()) {
    closeRefused(socket);
    throw new FtpError(
      'ERR_DATA_CONNECTION',
      425,
      "Data connection refused: its TLS session does not resume the control connection's session",
      { detail: 'TLS session binding: the data connection did not resume the control session' },
    );
  }
  return { socket, truncated: () => relay?.truncated === true };
}
