/**
 * Active data connections (RFC 959 PORT, RFC 2428 EPRT) with Pure-FTPd's bounce protection
 * (spec §2.5, §12): the target must be the client's own address unless FXP is allowed, the port
 * must be >= 1024, and unspecified, broadcast and multicast addresses are refused.
 */
import net from 'node:net';
import { FtpError } from '../errors.js';
import { sameIp } from './passive.js';

/** A parsed active-mode target. */
export interface ActiveTarget {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2). */
export function parsePort(arg: string): ActiveTarget | undefined {
  const m = /^\s*(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\s*$/.exec(arg);
  if (m === null) return undefined;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return undefined;
  return { host: n.slice(0, 4).join('.'), port: n[4]! * 256 + n[5]!, family: 4 };
}

/** Parses `|1|a.b.c.d|port|` or `|2|ipv6|port|` (RFC 2428 §2); the delimiter is the first character. */
export function parseEprt(arg: string): ActiveTarget | 'bad-family' | undefined {
  const d = arg.charAt(0);
  if (d === '' || d.charCodeAt(0) < 33 || d.charCodeAt(0) > 126) return undefined;
  const parts = arg.split(d);
  if (parts.length !== 5 || parts[0] !== '' || parts[4] !== '') return undefined;
  const [, fam, addr, portText] = parts as [string, string, string, string, string];
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (fam === '1') {
    // Pure-FTPd also accepts the comma form a,b,c,d (spec §2.5).
    const host = addr.replace(/,/g, '.');
    return net.isIPv4(host) ? { host, port, family: 4 } : undefined;
  }
  if (fam === '2')
    return net.isIPv6(addr) && !addr.includes('%') ? { host: addr, port, family: 6 } : undefined;
  return 'bad-family';
}

/** True for addresses nobody may ask us to connect to (0.0.0.0, ::, broadcast, multicast). */
export function isForbiddenTarget(host: string): boolean {
  if (net.isIPv4(host)) {
    const first = Number(host.split('.')[0]);
    return host === '0.0.0.0' || host === '255.255.255.255' || (first >= 224 && first <= 239);
  }
  const h = host.toLowerCase();
  return h === '::' || h.startsWith('ff');
}

/**
 * Checks a PORT/EPRT target against the bounce rules; returns the FXP note line when a third
 * host is allowed, or throws the Pure-FTPd reply.
 */
export function checkActiveTarget(t: ActiveTarget, clientIp: string, fxp: boolean): string | undefined {
  if (isForbiddenTarget(t.host) || t.port === 0) {
    throw new FtpError('ERR_SYNTAX', 501, 'Syntax error in IP address');
  }
  if (t.port < 1024) throw new FtpError('ERR_POLICY', 501, "Sorry, but I won't connect to ports < 1024");
  if (sameIp(t.host, clientIp)) return undefined;
  if (!fxp) {
    throw new FtpError(
      'ERR_POLICY',
      500,
      `I won't open a connection to ${t.host} (only to ${clientIp.replace(/^::ffff:/, '')})`,
    );
  }
  return `FXP transfer: from ${clientIp.replace(/^::ffff:/, '')} to ${t.host}`;
}

/** Connects to the active target from the control connection's local address. */
export function connectActive(
  t: ActiveTarget,
  localIp: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const local = localIp.startsWith('::ffff:') && t.family === 4 ? localIp.slice(7) : localIp;
    const s = net.connect({ host: t.host, port: t.port, localAddress: local, noDelay: true });
    const fail = (err: Error): void => {
      cleanup();
      s.destroy();
      reject(
        err instanceof FtpError
          ? err
          : new FtpError('ERR_DATA_CONNECTION', 425, `Could not open data connection to port ${t.port}`, {
              cause: err,
            }),
      );
    };
    const timer = setTimeout(() => fail(new Error('connect timeout')), timeoutMs);
    const onAbort = (): void => fail(new FtpError('ERR_ABORTED', 426, 'Transfer aborted'));
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      s.off('error', fail);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('error', fail);
    s.once('connect', () => {
      cleanup();
      resolve(s);
    });
  });
}
