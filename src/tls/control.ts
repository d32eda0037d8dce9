/**
 * Turning a control connection into TLS: after `234` (AUTH TLS, RFC 4217 §4) or at connect
 * (implicit TLS). Plaintext the client pipelined after AUTH is discarded, never executed.
 * A TLS error after the handshake (a renegotiation request included) ends the session with a log
 * line (session-tls.ts).
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { formatReply, reply } from '../session/reply.js';
import type { SessionContext } from '../session/context.js';
import {
  controlSessions,
  describeHandshake,
  newSessionTls,
  serverHandshake,
  type HandshakeOptions,
  type SessionTls,
} from './session-tls.js';
import { validSniName } from './certd-protocol.js';
import type { CertificateStore } from './certificates.js';
import { Code } from '../session/codes.js';

/** Why a TLS connection is being closed, for the log. */
export function tlsErrorText(err: Error): string {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_TLS_RENEGOTIATION_DISABLED' || code === 'ERR_TLS_SESSION_ATTACK') {
    return 'the client asked for a TLS renegotiation, which is refused';
  }
  // OpenSSL's errors carry their reason apart from the long "library:function:reason:file" text.
  const reason = (err as { reason?: unknown }).reason;
  return `TLS error: ${typeof reason === 'string' && reason !== '' ? reason : err.message.trim()}`;
}

/**
 * Logs what a handshake negotiated, as Pure-FTPd does (upstream §9.1 INFO), and makes the session the
 * owner of its TLS sessions: data connections of the same account and address may resume them
 * (issued-sessions.ts) until the session ends and for a while after.
 */
export function logHandshake(s: SessionContext, state: SessionTls, socket: tls.TLSSocket): void {
  s.server.bus.log(s.ref, 'INFO', `TLS: Enabled ${describeHandshake(state, socket)}`);
  if (state.sni !== undefined) s.server.bus.log(s.ref, 'INFO', `SNI: [${state.sni}]`);
  state.issuer.owner = s.ref;
  state.onControlError = (err) =>
    s.server.bus.log(s.ref, 'WARNING', `${tlsErrorText(err)}: closing the session`);
}

/**
 * -3: the SNI callback of a control handshake. The certificate program's choice becomes the
 * issuer's context, so the data connections of the session present the same certificate; a refusal
 * (deny, strict without a usable certificate, certd not ready) fails the handshake with its reason.
 * Names that are not valid SNI names are ignored (the default certificate), as Pure-FTPd ignores them.
 */
function sniCallback(state: SessionTls): HandshakeOptions['sniCallback'] {
  const choose = state.store.sniChooser;
  if (choose === undefined) return undefined;
  return (name, cb) => {
    if (!validSniName(name)) return cb(null, undefined);
    choose(name).then(
      (choice) => {
        if (choice.kind === 'refuse')
          return cb(new Error(`certificate for [${name}] refused: ${choice.reason}`));
        if (choice.kind === 'cert')
          state.issuer.context = state.store.newContext(state.issuer, choice.material);
        cb(null, choice.kind === 'cert' ? state.issuer.context : undefined);
      },
      (err: Error) => cb(err),
    );
  };
}

/**
 * The handshake of a control connection (explicit or implicit). Its issuer is known to the registry
 * from the start (TLS 1.2 session ids are issued during the handshake) until the connection closes.
 */
async function controlHandshake(raw: net.Socket, state: SessionTls): Promise<tls.TLSSocket> {
  const issued = state.store.issued;
  issued.register(state.issuer);
  const retire = (): void => issued.retire(state.issuer);
  raw.once('close', retire);
  try {
    const secure = await serverHandshake(raw, {
      store: state.store,
      context: state.issuer.context!,
      sniCallback: sniCallback(state),
      sessions: controlSessions(state),
      onSecure: (socket) => void describeHandshake(state, socket),
      onTlsError: (err) => state.onControlError?.(err),
    });
    secure.once('close', retire);
    return secure;
  } catch (err) {
    retire();
    throw err;
  }
}

/** Sends `234 AUTH TLS OK.` and runs the handshake; on failure the session ends. */
export async function startControlTls(
  s: SessionContext,
  store: CertificateStore,
  protP: boolean,
): Promise<void> {
  const state = newSessionTls(store);
  if (protP) state.prot = 'P';
  s.holdInput();
  const raw = s.socket;
  await new Promise<void>((resolve) =>
    raw.write(formatReply(reply(Code.AUTH_OK, 'AUTH TLS OK.')), () => resolve()),
  );
  try {
    const secure = await controlHandshake(raw, state);
    s.tls = state;
    s.adoptSocket(secure);
    logHandshake(s, state, secure);
    if (secure.destroyed) s.close('Connection closed');
  } catch (err) {
    s.server.bus.log(s.ref, 'WARNING', `TLS handshake failed: ${(err as Error).message}`);
    s.close('TLS handshake failed');
    raw.destroy();
  }
}

/** Implicit TLS: the handshake runs before the session exists; resolves with the secure socket. */
export async function acceptImplicitTls(
  raw: net.Socket,
  store: CertificateStore,
): Promise<{ socket: tls.TLSSocket; state: SessionTls }> {
  const state = newSessionTls(store);
  // Implicit FTPS protects the data channel from the start (PROT P preset, PBSZ implied).
  state.prot = 'P';
  state.pbsz = true;
  const socket = await controlHandshake(raw, state);
  if (socket.destroyed) throw new Error('connection closed right after the TLS handshake');
  return { socket, state };
}
