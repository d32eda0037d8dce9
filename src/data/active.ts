/**
 * Active data connections (RFC 959 PORT, RFC 2428 EPRT) with Pure-FTPd's bounce protection
 * (upstream §2.5, §12): the target must be the client's own address unless FXP is allowed, the port
 * must be 1024-65535, and unspecified, broadcast, multicast and reserved addresses are refused.
 * The parsers accept only well-formed targets (every byte 0-255, ports 1-65535, valid IPv4/IPv6
 * literals without zone ids), so nothing malformed ever reaches net.connect.
 */
import net from 'node:net';
import { FtpError } from '../errors.js';
import { sameIp } from './passive.js';
import { tr, type Text } from '../i18n/msg.js';

/** A parsed active-mode target. */
export interface ActiveTarget {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Largest TCP port number. */
const MAX_PORT = 65535;

/**
 * A port number from PORT's two bytes or EPRT's decimal field: 1-65535, anything else (0, 65536 and
 * up, signs, blanks) is undefined. Leading zeros are accepted, as Pure-FTPd does; the length bound
 * keeps a digit flood from becoming a number at all.
 */
function portNumber(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= MAX_PORT ? port : undefined;
}

/**
 * Parses `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2): six decimal bytes 0-255, the port (p1*256+p2) not
 * 0. Undefined means `501 Syntax error in IP address`.
 */
export function parsePort(arg: string): ActiveTarget | undefined {
  const m = /^\s*(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\s*$/.exec(arg);
  if (m === null) return undefined;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return undefined;
  const port = portNumber(String(n[4] * 256 + n[5]));
  if (port === undefined) return undefined;
  return { host: n.slice(0, 4).join('.'), port, family: 4 };
}

/** The canonical text of an IPv6 address (`0:0::1` and `::1` compare equal), undefined if invalid. */
export function canonicalIpv6(addr: string): string | undefined {
  // A zone id (fe80::1%eth0) names an interface of the client's machine, meaningless here.
  if (!net.isIPv6(addr) || addr.includes('%')) return undefined;
  return new net.SocketAddress({ address: addr, family: 'ipv6' }).address;
}

/**
 * Parses `<d>1<d>a.b.c.d<d>port<d>` or `<d>2<d>ipv6<d>port<d>` (RFC 2428 §2); the delimiter `<d>` is
 * the first character (ASCII 33-126). Returns `'bad-family'` for a protocol number other than 1
 * and 2 (an empty one too, as Pure-FTPd: `522`), undefined for anything malformed (`501`): missing
 * or extra fields, an invalid address, an IPv6 literal with a zone id or holding an IPv4 address
 * (`::ffff:a.b.c.d` is an IPv4 target: use family 1), a port outside 1-65535.
 */
export function parseEprt(arg: string): ActiveTarget | 'bad-family' | undefined {
  const d = arg.charAt(0);
  if (d === '' || d.charCodeAt(0) < 33 || d.charCodeAt(0) > 126) return undefined;
  const parts = arg.split(d);
  if (parts.length !== 5 || parts[0] !== '' || parts[4] !== '') return undefined;
  const [, fam, addr, portText] = parts as [string, string, string, string, string];
  if (fam !== '1' && fam !== '2') return /^\d*$/.test(fam) ? 'bad-family' : undefined;
  const port = portNumber(portText);
  if (port === undefined) return undefined;
  if (fam === '1') {
    // Pure-FTPd also accepts the comma form a,b,c,d (upstream §2.5).
    const host = addr.replace(/,/g, '.');
    return net.isIPv4(host) ? { host, port, family: 4 } : undefined;
  }
  const host = canonicalIpv6(addr);
  return host === undefined || host.includes('.') ? undefined : { host, port, family: 6 };
}

/**
 * The 522 reply text when a target's address family is not the control connection's (RFC 2428 §2):
 * the data connection is made from the control connection's local address, which has one family.
 */
export function familyMismatch(t: ActiveTarget, sessionIpv6: boolean): Text | undefined {
  if (t.family === 6 && !sessionIpv6) return tr`Network protocol not supported, use (1)`;
  if (t.family === 4 && sessionIpv6) return tr`Network protocol not supported, use (2)`;
  return undefined;
}

/**
 * True for addresses nobody may ask us to connect to: IPv4 0.0.0.0/8 ("this network": 0.0.0.0
 * reaches the server itself), multicast 224/4, reserved 240/4 and broadcast; IPv6 unspecified `::`
 * and multicast ff00::/8. `host` is a parsed target (dotted IPv4 or canonical IPv6).
 */
export function isForbiddenTarget(host: string): boolean {
  if (net.isIPv4(host)) {
    const first = Number(host.split('.')[0]);
    return first === 0 || first >= 224;
  }
  const h = canonicalIpv6(host) ?? host.toLowerCase();
  return h === '::' || h.startsWith('ff');
}

/**
 * Checks a PORT/EPRT target against the bounce rules; returns the FXP note line when a third
 * host is allowed, or throws the Pure-FTPd reply.
 */
export function checkActiveTarget(t: ActiveTarget, clientIp: string, fxp: boolean): Text | undefined {
  if (isForbiddenTarget(t.host) || t.port < 1 || t.port > MAX_PORT || !Number.isInteger(t.port)) {
    throw new FtpError('ERR_ARGUMENT', tr`Syntax error in IP address`);
  }
  if (t.port < 1024) throw new FtpError('ERR_ARGUMENT', tr`Sorry, but I won't connect to ports < 1024`);
  if (sameIp(t.host, clientIp)) return undefined;
  if (!fxp) {
    throw new FtpError(
      'ERR_BOUNCE',
      tr`I won't open a connection to ${t.host} (only to ${clientIp.replace(/^::ffff:/, '')})`,
    );
  }
  return tr`FXP transfer: from ${clientIp.replace(/^::ffff:/, '')} to ${t.host}`;
}

/**
 * Connects to the active target from the control connection's local address. The socket is
 * returned paused and not reading, like a passive one (pauseOnConnect): nothing the client sends,
 * not even its FIN, is consumed before the transfer's mover takes the socket (a first upload that
 * arrived whole and was read meanwhile made Node close the descriptor under the native pump).
 */
export function connectActive(
  t: ActiveTarget,
  localIp: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const refused = (cause?: unknown): FtpError =>
      new FtpError('ERR_NO_DATA_CONNECTION', tr`Could not open data connection to port ${t.port}`, { cause });
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > MAX_PORT) {
      // The parsers never let such a port through; a target built elsewhere must not reach net.connect.
      reject(refused(new RangeError(`bad port ${t.port}`)));
      return;
    }
    if (signal.aborted) {
      reject(new FtpError('ERR_ABORTED', tr`Transfer aborted`));
      return;
    }
    const local = localIp.startsWith('::ffff:') && t.family === 4 ? localIp.slice(7) : localIp;
    let s: net.Socket;
    try {
      s = net.connect({ host: t.host, port: t.port, localAddress: local, noDelay: true });
    } catch (err) {
      reject(refused(err));
      return;
    }
    // Paused before the connection completes: Node then never starts reading it (see above).
    s.pause();
    const fail = (err: Error): void => {
      cleanup();
      s.destroy();
      reject(err instanceof FtpError ? err : refused(err));
    };
    const timer = setTimeout(() => fail(new Error('connect timeout')), timeoutMs);
    const onAbort = (): void => fail(new FtpError('ERR_ABORTED', tr`Transfer aborted`));
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      s.off('error', fail);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('error', fail);
    s.once('connect', () => {
      cleanup();
      // A reset before the mover takes the socket must not become an uncaught 'error' event.
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}
