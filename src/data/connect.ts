/**
 * Opening the data connection a transfer needs, from the session's PASV/EPSV/PORT/EPRT setup.
 */
import type net from 'node:net';
import { FtpError } from '../errors.js';
import { connectActive } from './active.js';
import type { DataSetup } from './types.js';
import { tr } from '../i18n/msg.js';

/**
 * Waits for (passive) or makes (active, from `localIp`) the data connection a transfer asked for
 * with `setup`; throws FtpError 425 on failure.
 */
export async function openDataSocket(
  setup: DataSetup | undefined,
  localIp: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<net.Socket> {
  if (setup === undefined) throw new FtpError('ERR_NO_DATA_CONNECTION', tr`No data connection`);
  if (setup.kind === 'connected') return setup.socket;
  if (setup.kind === 'passive') return setup.listener.accept(signal, timeoutMs);
  return connectActive(setup.target, localIp, signal, timeoutMs);
}
