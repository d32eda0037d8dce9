/**
 * Opening the data connection a transfer needs, from the session's PASV/EPSV/PORT/EPRT setup.
 * The setup is consumed: every transfer needs a new PASV or PORT, as with Pure-FTPd.
 */
import type net from 'node:net';
import { FtpError } from '../errors.js';
import type { SessionContext } from '../session/context.js';
import { connectActive } from './active.js';

/** Waits for (passive) or makes (active) the data connection; throws FtpError 425 on failure. */
export async function openDataSocket(s: SessionContext, signal: AbortSignal): Promise<net.Socket> {
  const setup = s.data;
  s.data = undefined;
  if (setup === undefined) throw new FtpError('ERR_NO_DATA_CONNECTION', 'No data connection');
  const timeoutMs = s.idleSeconds * 1000;
  if (setup.kind === 'connected') return setup.socket;
  if (setup.kind === 'passive') return setup.listener.accept(signal, timeoutMs);
  return connectActive(setup.target, s.ref.localIp, signal, timeoutMs);
}

/** True when the client allowed FXP for this session (-W everybody, -w authenticated users). */
export function fxpAllowed(s: SessionContext): boolean {
  const c = s.server.config;
  return c.allowAnonymousFxp || (c.allowUserFxp && !s.anonymous);
}
