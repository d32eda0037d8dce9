/**
 * TLS on control and data connections (RFC 4217, upstream §10). Security notes:
 * - Each control session has its own ticket keys and TLS 1.2 session-id list (issued-sessions.ts).
 *   With binding on (the default), a data connection must resume a session issued to a control
 *   connection of the same account from the same client address, else it is refused: a stranger
 *   who steals the data port cannot complete the transfer (the protection vsftpd's
 *   require_ssl_reuse and FileZilla Server apply). The data handshake runs in the issuer's context
 *   only after its address and account were checked, so no other session can resume.
 * - Uploads read the raw TCP stream through a small relay that sees whether the peer's
 *   close_notify arrived before the TCP FIN; without it the upload is treated as truncated.
 * - A TLS data stream ends as OpenSSL servers end it: the socket is handed out only once the
 *   handshake (TLS 1.3 session tickets included) is complete, so close_notify is never attempted in
 *   the middle of it; then close_notify, and the client's close is read (bounded) before the TCP
 *   socket is destroyed. TLS 1.3 tickets written during an upload are held until its end: an
 *   upload-only client never reads them, and unread bytes make its close() a reset that loses the
 *   tail of the upload.
 * - A client's renegotiation request (TLS 1.2) ends the connection, and every TLS error after the
 *   handshake reaches the socket's 'error' listeners (Node keeps them to itself for TLS sockets
 *   built outside a tls.Server).
 * - Only TLS 1.2 and 1.3 are offered (certificates.ts).
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import type net from 'node:net';
import tls from 'node:tls';
import { FtpError } from '../errors.js';
import type { CertificateStore } from './certificates.js';
import { peekClientHello, type ResumptionOffer } from './client-hello.js';
import { allowed, newIssuer, type Issuer, type IssuerOwner } from './issued-sessions.js';
import { validSniName } from './certd-protocol.js';

/** How long a handshake may take. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Upper bound of the wait for TLS to decode what the TCP FIN left buffered (a stalled reader). */
const CLOSE_NOTIFY_WAIT_MS = 30_000;
/** How long a refused data connection is kept open (reading and discarding) to close it cleanly. */
const REFUSAL_LINGER_MS = 2000;
/** Bytes an upload's relay holds back at most (TLS 1.3 tickets are about 600). */
const MAX_HELD_BYTES = 64 * 1024;

/** The TLS state of one control session. */
export interface SessionTls {
  store: CertificateStore;
  /** Its TLS identity: ticket keys, context, owner (issued-sessions.ts). */
  issuer: Issuer;
  /** PROT level: C clear, P private. */
  prot: 'C' | 'P';
  pbsz: boolean;
  /** Server name the client asked for (SNI), when valid. */
  sni?: string;
  /** e.g. `TLSv1.3 with TLS_AES_256_GCM_SHA384, 256 secret bits cipher` */
  description?: string;
  /** Told about a TLS error on the control connection after its handshake (logs it). */
  onControlError?: (err: Error) => void;
}

/** Creates the per-session TLS state (own ticket keys and context: see the file note). */
export function newSessionTls(store: CertificateStore): SessionTls {
  const issuer = newIssuer();
  issuer.context = store.newContext(issuer);
  return { store, issuer, prot: 'C', pbsz: false };
}

/** The context of an issuer, rebuilt from its keys once its control session has ended. */
function contextOf(store: CertificateStore, issuer: Issuer): tls.SecureContext {
  issuer.context ??= store.newContext(issuer);
  return issuer.context;
}

function cipherBits(name: string): number {
  if (/CHACHA20|AES_?256|AES256/i.test(name)) return 256;
  if (/AES_?128|AES128/i.test(name)) return 128;
  return 0;
}

/** Valid SNI names (upstream §10: at most 255 chars of A-Za-z0-9._-). */
function cleanSni(name: unknown): string | undefined {
  return typeof name === 'string' && validSniName(name) ? name : undefined;
}

/** What one server-side handshake needs. */
export interface HandshakeOptions {
  store: CertificateStore;
  context: tls.SecureContext;
  /** Receives Node's `newSession` / `resumeSession` events (TLS 1.2 session ids). */
  sessions: EventEmitter;
  /** Runs inside the handshake's completion, before anything the server writes after it. */
  onSecure?: (socket: tls.TLSSocket) => void;
  /** Told about a TLS error after the handshake (the socket is then destroyed with it). */
  onTlsError?: (err: Error) => void;
  /** Ends the handshake (ABOR, QUIT): destroying the TCP socket under TLS does not. */
  signal?: AbortSignal;
  /** -3: picks the context for the client's server name (an error refuses the handshake). */
  sniCallback?: (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void;
}

/**
 * Sends Node's TLS errors that arrive after the handshake to the socket's 'error' listeners by
 * destroying the socket with them. A TLSSocket made outside a tls.Server keeps "control" of its
 * errors and only emits them as the internal '_tlsError' event: without this, a renegotiation
 * request (ERR_TLS_RENEGOTIATION_DISABLED), a fatal alert or a bad record were silently ignored.
 */
function surfaceTlsErrors(socket: tls.TLSSocket, onTlsError?: (err: Error) => void): void {
  // '_tlsError' also repeats every error already emitted as 'error' (a reset, for one): those reach
  // the listeners by themselves and are not TLS's to report.
  const emitted = new WeakSet<Error>();
  socket.prependListener('error', (err: Error) => void emitted.add(err));
  let seen = false;
  socket.on('_tlsError', (err: Error) => {
    if (seen || emitted.has(err)) return;
    seen = true;
    onTlsError?.(err);
    socket.destroy(err);
  });
}

/**
 * Runs the server side of a handshake on `raw`; resolves with the secure socket once the TLS
 * library has finished with the handshake, TLS 1.3 session tickets included. Node emits 'secure'
 * from inside OpenSSL's handshake call, before the tickets are written: a close_notify attempted
 * there fails, the client reads data, tickets, then a bare TCP end, and Python's ssl stops in
 * the middle of a ticket (SHUTDOWN_WHILE_IN_INIT on unwrap, issue 10 item 2). The socket may
 * already be closed when this resolves (a client that leaves right after its handshake).
 */
export function serverHandshake(raw: net.Socket | Duplex, opts: HandshakeOptions): Promise<tls.TLSSocket> {
  const socket = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: opts.context,
    server: opts.sessions as unknown as tls.Server, // only its session events are used
    ...(opts.sniCallback !== undefined ? { SNICallback: opts.sniCallback } : {}),
    ...opts.store.socketOptions(),
  });
  // Client-initiated renegotiation (TLS 1.2) is refused: Node raises an error at its first
  // ClientHello (surfaceTlsErrors ends the connection), as Pure-FTPd ends it.
  socket.disableRenegotiation();
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('TLS handshake timeout')), HANDSHAKE_TIMEOUT_MS);
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => fail(new Error('connection closed during the TLS handshake'));
    const onAbort = (): void => fail(new Error('aborted during the TLS handshake'));
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    socket.once('error', onError);
    socket.once('close', onClose);
    if (opts.signal?.aborted === true) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('secure', () => {
      if (opts.store.socketOptions().requestCert) {
        const refusal = clientCertificateError(socket);
        if (refusal !== undefined) return fail(new Error(`client certificate refused: ${refusal}`));
      }
      // The handshake is done: what follows (even an immediate close) is the caller's to see.
      cleanup();
      // An error before the caller's own listeners (one turn later) must not crash the process;
      // the caller sees a destroyed socket.
      socket.on('error', () => undefined);
      surfaceTlsErrors(socket, opts.onTlsError);
      opts.onSecure?.(socket);
      setImmediate(() => resolve(socket));
    });
  });
}

/**
 * Why the client certificate is not acceptable (-J -C:, upstream §10), undefined when it verified.
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

/**
 * Records what the control handshake negotiated (for the log and SNI-aware backends). Called at
 * 'secure', while the socket surely still has its TLS handle (a client may leave at once).
 */
export function describeHandshake(state: SessionTls, socket: tls.TLSSocket): string {
  if (state.description !== undefined) return state.description;
  const c = socket.getCipher() as tls.CipherNameAndProtocol | null;
  const name = c === null ? '?' : (c.standardName ?? c.name);
  state.sni = cleanSni(socket.servername);
  state.description = `${socket.getProtocol() ?? '?'} with ${name}, ${cipherBits(name)} secret bits cipher`;
  return state.description;
}

/**
 * Session events of a control handshake: the TLS 1.2 session ids it issues are recorded under its
 * issuer; a control connection resumes nothing (a fresh context per control connection).
 */
export function controlSessions(state: SessionTls): EventEmitter {
  const events = new EventEmitter();
  events.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    state.store.issued.remember(state.issuer, id, data);
    done();
  });
  events.on('resumeSession', (_id: Buffer, done: (err: Error | null, data: Buffer | null) => void) =>
    done(null, null),
  );
  return events;
}

/**
 * Session events of a data handshake run in `issuer`'s context: a TLS 1.2 session id resumes only
 * when the session was issued to a control connection `owner` may use (issued-sessions.ts allowed).
 */
function dataSessions(state: SessionTls, issuer: Issuer, owner: IssuerOwner): EventEmitter {
  const events = new EventEmitter();
  events.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    state.store.issued.remember(issuer, id, data);
    done();
  });
  events.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
    const found = state.store.issued.bySession(id);
    done(null, found !== undefined && allowed(found.issuer, owner) ? found.data : null);
  });
  return events;
}

/** How long a data connection waits for the control connection whose session it resumes to log in. */
const ISSUER_LOGIN_WAIT_MS = 10_000;
const ISSUER_LOGIN_POLL_MS = 10;

/** True while `issuer`'s control connection is live and not logged in yet. */
function loggingIn(issuer: Issuer): boolean {
  return issuer.retiredAt === undefined && issuer.owner?.account === undefined;
}

/**
 * Waits (bounded) until the control connection that issued a session has logged in: a client with
 * several control connections (rclone) caches the session of a new one at its handshake, and may
 * offer it on a data connection while that control connection is still sending USER and PASS.
 */
async function settled(issuer: Issuer, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + ISSUER_LOGIN_WAIT_MS;
  while (loggingIn(issuer) && Date.now() < deadline && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, ISSUER_LOGIN_POLL_MS));
  }
}

/**
 * The issuer whose context a data handshake runs in: the one named by a ticket (or a TLS 1.2
 * session id) the client offers, when `owner` may use it; else the data connection's own control
 * session, where an offered foreign session cannot resume.
 */
async function chooseIssuer(
  state: SessionTls,
  owner: IssuerOwner,
  offer: ResumptionOffer | undefined,
  signal: AbortSignal,
): Promise<{ issuer: Issuer; refused?: string }> {
  if (offer === undefined) return { issuer: state.issuer };
  const issued = state.store.issued;
  const candidates: Issuer[] = [];
  for (const ticket of offer.tickets) {
    const issuer = issued.byTicket(ticket);
    if (issuer !== undefined) candidates.push(issuer);
  }
  const bySession = issued.bySession(offer.sessionId);
  if (bySession !== undefined) candidates.push(bySession.issuer);
  let refused: string | undefined;
  for (const issuer of candidates) {
    if (issuer === state.issuer) return { issuer };
    await settled(issuer, signal);
    if (allowed(issuer, owner)) return { issuer };
    refused = 'it offered a TLS session of another account or client address';
  }
  return { issuer: state.issuer, refused };
}

/**
 * A relay between the TCP socket and TLS that tells whether the stream ended with close_notify.
 * Node reports a clean TLS end and a bare TCP FIN the same way; but a close_notify makes TLS push
 * its end-of-stream as soon as it decodes the alert, *before* the relay passes the FIN on. So at
 * the FIN the relay waits until TLS has taken every buffered byte, then looks whether TLS ended.
 * It can also hold back what TLS writes (hold/release): see the file note on TLS 1.3 tickets.
 */
class CloseNotifyRelay extends Duplex {
  truncated = false;
  /** The TLS socket reading from this relay (set after the handshake). */
  tls?: tls.TLSSocket;
  private rawEndSeen = false;
  private held?: Buffer[];
  private heldBytes = 0;

  constructor(private readonly raw: net.Socket) {
    super();
    raw.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.onRawEnd());
    raw.on('error', (err) => this.destroy(err));
  }

  /** From now on, keeps what TLS writes instead of sending it (until release()). */
  hold(): void {
    this.held ??= [];
  }

  /** Sends what was held, in order, and stops holding. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    this.heldBytes = 0;
    if (held !== undefined && held.length > 0 && !this.raw.destroyed) this.raw.write(Buffer.concat(held));
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
    if (this.held !== undefined && this.heldBytes + chunk.length <= MAX_HELD_BYTES) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      done();
      return;
    }
    this.release();
    this.raw.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.release();
    this.raw.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.raw.destroy();
    done(err);
  }
}

/** Resolves when the socket closes or after `ms`, whichever comes first. */
function closedWithin(socket: net.Socket, ms: number): Promise<void> {
  if (socket.closed || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      socket.off('close', done);
      resolve();
    }
    socket.once('close', done);
  });
}

/**
 * Ends a refused data connection with close_notify instead of a reset: destroying a socket that
 * holds unread upload bytes makes the kernel send RST, and the client then reports "connection
 * reset" without ever reading the 425 that explains the refusal (plain Python ftplib in passive
 * mode did). What the client sends meanwhile is read and discarded, for a bounded time.
 */
function closeRefused(socket: tls.TLSSocket, relay: CloseNotifyRelay | undefined): void {
  relay?.release();
  socket.on('error', () => socket.destroy());
  socket.resume();
  socket.end();
  void closedWithin(socket, REFUSAL_LINGER_MS).then(() => socket.destroy());
}

/** A secured data connection. */
export interface SecureData {
  socket: tls.TLSSocket;
  /** For uploads: true when the stream ended without close_notify. */
  truncated(): boolean;
  /**
   * Ends a transfer that succeeded: close_notify (if the mover did not end the stream already),
   * then reads and discards until the client closes or `waitMs` passes, then destroys the socket.
   * Resolves when the socket is closed.
   */
  finish(waitMs: number): Promise<void>;
}

/**
 * Runs TLS on a data connection (PROT P) and enforces the session binding: with `binding`, the
 * data connection must resume a session of its own control connection or of another control
 * connection of the same account from the same address (`owner`). `signal` (ABOR) ends it at any
 * point, the handshake included.
 */
export async function secureDataConnection(
  raw: net.Socket,
  state: SessionTls,
  owner: IssuerOwner,
  direction: 'upload' | 'download',
  binding: boolean,
  signal?: AbortSignal,
): Promise<SecureData> {
  const offer = await peekClientHello(raw, HANDSHAKE_TIMEOUT_MS);
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  raw.once('close', onClose);
  if (raw.destroyed) gone.abort();
  const { issuer, refused } = await chooseIssuer(state, owner, offer, gone.signal).finally(() =>
    raw.off('close', onClose),
  );
  if (raw.destroyed) {
    // Closed (or aborted by ABOR) before its handshake: nothing to wait for.
    throw new FtpError('ERR_NO_DATA_CONNECTION', 'TLS handshake failed on the data connection', {
      detail: 'data TLS handshake: the connection closed before it',
    });
  }
  const relay = direction === 'upload' ? new CloseNotifyRelay(raw) : undefined;
  let socket: tls.TLSSocket;
  let resumed = false;
  try {
    socket = await serverHandshake(relay ?? raw, {
      store: state.store,
      context: contextOf(state.store, issuer),
      sessions: dataSessions(state, issuer, owner),
      signal,
      // TLS 1.3 tickets come after the handshake: held back during an upload (file note). In
      // TLS 1.2 the server's own Finished may still be on its way here, so nothing is held.
      onSecure: (s) => {
        resumed = s.isSessionReused();
        if (s.getProtocol() === 'TLSv1.3') relay?.hold();
      },
    });
  } catch (err) {
    raw.destroy();
    throw new FtpError('ERR_NO_DATA_CONNECTION', `TLS handshake failed on the data connection`, {
      detail: `data TLS handshake: ${(err as Error).message}`,
    });
  }
  if (relay) relay.tls = socket;
  if (binding && !resumed) {
    closeRefused(socket, relay);
    throw new FtpError(
      'ERR_NO_DATA_CONNECTION',
      "Data connection refused: its TLS session does not resume the control connection's session",
      {
        detail:
          'TLS session binding: the data connection did not resume a session of this account ' +
          `from this address${refused === undefined ? '' : ` (${refused})`}`,
      },
    );
  }
  const secured = socket;
  return {
    socket: secured,
    truncated: () => relay?.truncated === true,
    finish: async (waitMs) => {
      relay?.release();
      secured.on('error', () => secured.destroy());
      if (!secured.writableEnded) secured.end();
      secured.resume();
      await closedWithin(secured, waitMs);
      secured.destroy();
    },
  };
}
