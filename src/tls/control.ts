/**
 * Turning a control connection into TLS: after `234` (AUTH TLS, RFC 4217 §4) or at connect
 * (implicit TLS). Plaintext the client pipelined after AUTH is discarded, never executed.
 */
import type net from 'node:net';
import { formatReply, reply } from '../session/reply.js';
import type { Session } from '../session/session.js';
import { describeHandshake, newSessionTls, serverHandshake, type SessionTls } from './session-tls.js';
import type { CertificateStore } from './certificates.js';

/** Logs what a handshake negotiated, as Pure-FTPd does (spec §9.1 INFO). */
export function logHandshake(s: Session, state: SessionTls, socket: import('node:tls').TLSSocket): void {
  s.server.bus.log(s.ref, 'INFO', `TLS: Enabled ${describeHandshake(state, socket)}`);
  if (state.sni !== undefined) s.server.bus.log(s.ref, 'INFO', `SNI: [${state.sni}]`);
}

/** Sends `234 AUTH TLS OK.` and runs the handshake; on failure the session ends. */
export async function startControlTls(s: Session, store: CertificateStore, protP: boolean): Promise<void> {
  const state = newSessionTls(store);
  if (protP) state.prot = 'P';
  s.holdInput();
  const raw = s.socket;
  await new Promise<void>((resolve) => raw.write(formatReply(reply(234, 'AUTH TLS OK.')), () => resolve()));
  try {
    const secure = await serverHandshake(raw, state);
    s.tls = state;
    s.adoptSocket(secure);
    logHandshake(s, state, secure);
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
): Promise<{ socket: import('node:tls').TLSSocket; state: SessionTls }> {
  const state = newSessionTls(store);
  // Implicit FTPS protects the data channel from the start (PROT P preset, PBSZ implied).
  state.prot = 'P';
  state.pbsz = true;
  const socket = await serverHandshake(raw, state);
  return { socket, state };
}
