/**
 * Passive data connections (RFC 959 PASV, RFC 2428 EPSV; upstream §2.5). Guarantees: one listener per
 * PASV/EPSV, bound to the control connection's local address on a port of the -p range; it accepts
 * exactly one connection and then stops listening; a connection from an address other than the
 * client's is dropped unless FXP is allowed; an unused listener closes itself after a timeout.
 */
import net from 'node:net';
import { FtpError, errnoCode } from '../errors.js';
import { tr, type Text } from '../i18n/msg.js';

/** How many ports of the range one PASV tries before giving up. */
const MAX_BIND_ATTEMPTS = 100;
/** Pending connections kept by the kernel per passive listener (Pure-FTPd: 8). */
const BACKLOG = 8;

/** Options of one passive listener. */
export interface PassiveOptions {
  localIp: string;
  range: { first: number; last: number };
  /** Only this client address may connect; undefined allows anyone (FXP). */
  allowedIp?: string;
  /** Addresses also allowed besides `allowedIp` (trusted proxies with --proxy-protocol). */
  alsoAllowed?: (ip: string) => boolean;
  /** The listener closes itself after this long without a connection. */
  timeoutMs: number;
  /** Called with the address of each refused connection (for the log). */
  onRefused?: (ip: string) => void;
}

/** Compares two addresses, treating `::ffff:a.b.c.d` and `a.b.c.d` as the same. */
export function sameIp(a: string, b: string): boolean {
  const strip = (s: string): string => (s.startsWith('::ffff:') ? s.slice(7) : s).toLowerCase();
  return strip(a) === strip(b);
}

/** What an EPSV argument asks for (RFC 2428 §3). */
export type EpsvRequest =
  | { kind: 'all' } // EPSV ALL: from now on only EPSV
  | { kind: 'open' } // no argument, or the control connection's own protocol number
  | { kind: 'bad-family'; text: Text } // 522: another or an unknown protocol number
  | { kind: 'syntax' }; // 501: not a protocol number

/**
 * Reads an EPSV argument for a control connection of the given family: empty or its own number
 * opens a listener, `ALL` (any case) locks the session to EPSV, another number (`2` on IPv4, `1` on
 * IPv6, `3`, ...) is `522` with the protocol to use, anything else is a syntax error. Pure-FTPd
 * ignores the argument; RFC 2428 asks for 522, which tells the client what to use instead.
 */
export function parseEpsv(arg: string, sessionIpv6: boolean): EpsvRequest {
  const a = arg.trim();
  if (a.toUpperCase() === 'ALL') return { kind: 'all' };
  const mine = sessionIpv6 ? '2' : '1';
  if (a === '' || a === mine) return { kind: 'open' };
  if (/^\d{1,10}$/.test(a))
    return { kind: 'bad-family', text: tr`Network protocol not supported, use (${mine})` };
  return { kind: 'syntax' };
}

/** The `h1,h2,h3,h4,p1,p2` text of a 227 reply (RFC 959 §4.1.2); undefined unless IPv4 and 1-65535. */
export function pasvAddress(ip: string, port: number): string | undefined {
  if (!net.isIPv4(ip) || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return `${ip.split('.').join(',')},${Math.floor(port / 256)},${port % 256}`;
}

async function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, backlog: BACKLOG, exclusive: true });
  });
}

/** A listening passive socket waiting for its one data connection. */
export class PassiveListener {
  private socket?: net.Socket;
  private waiter?: (s: net.Socket) => void;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly opts: PassiveOptions,
  ) {
    server.on('connection', (s) => this.onConnection(s));
    server.on('error', () => this.close());
    this.timer = setTimeout(() => this.close(), opts.timeoutMs);
    this.timer.unref();
  }

  /** Opens a listener on a free port of the range: random start, walking down and wrapping (upstream §2.5). */
  static async open(opts: PassiveOptions): Promise<PassiveListener> {
    const { first, last } = opts.range;
    const size = last - first + 1;
    let port = first + Math.floor(Math.random() * size);
    const attempts = Math.min(size, MAX_BIND_ATTEMPTS);
    for (let i = 0; i < attempts; i++) {
      const server = net.createServer({ pauseOnConnect: true, noDelay: true });
      try {
        await listenOn(server, opts.localIp, port);
        return new PassiveListener(server, port, opts);
      } catch (err) {
        server.close();
        const code = errnoCode(err);
        if (code !== 'EADDRINUSE' && code !== 'EACCES') {
          throw new FtpError('ERR_NO_DATA_CONNECTION', tr`Can't open passive connection`, { cause: err });
        }
      }
      port = port === first ? last : port - 1;
    }
    throw new FtpError('ERR_NO_DATA_CONNECTION', tr`All reserved TCP ports are busy`);
  }

  private onConnection(s: net.Socket): void {
    // A reset before the transfer takes the socket must not become an uncaught 'error' event.
    s.on('error', () => s.destroy());
    const ip = s.remoteAddress ?? '';
    if (
      this.closed ||
      this.socket !== undefined ||
      (this.opts.allowedIp &&
        !sameIp(ip, this.opts.allowedIp) &&
        this.opts.alsoAllowed?.(ip.replace(/^::ffff:/, '')) !== true)
    ) {
      // Upstream §2.5: a connection from another host is dropped and the listener keeps waiting.
      if (!this.closed && this.socket === undefined) this.opts.onRefused?.(ip);
      s.destroy();
      return;
    }
    this.socket = s;
    clearTimeout(this.timer);
    this.server.close(); // one accept only: stop listening at once
    if (this.waiter) this.waiter(s);
  }

  /** Waits for the data connection (or returns the one that already arrived). */
  accept(signal: AbortSignal, timeoutMs: number): Promise<net.Socket> {
    if (this.socket) return Promise.resolve(this.take());
    if (this.closed) return Promise.reject(new FtpError('ERR_NO_DATA_CONNECTION', tr`No data connection`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        this.close();
        reject(new FtpError('ERR_NO_DATA_CONNECTION', tr`No data connection (timeout)`));
      }, timeoutMs);
      const onAbort = (): void => {
        cleanup();
        this.close();
        reject(new FtpError('ERR_ABORTED', tr`Transfer aborted`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiter = undefined;
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = () => {
        cleanup();
        resolve(this.take());
      };
    });
  }

  private take(): net.Socket {
    const s = this.socket!;
    this.socket = undefined;
    this.closed = true;
    // Left paused (pauseOnConnect): whoever reads it starts reading; a resumed socket without a
    // listener would drop what the client sends first.
    return s;
  }

  /** The established data connection's endpoints, for ESTA (once connected). */
  peek(): net.Socket | undefined {
    return this.socket;
  }

  /** Stops listening and drops a connection nobody took. */
  close(): void {
    if (this.closed && this.socket === undefined) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.server.close();
    this.socket?.destroy();
    this.socket = undefined;
  }
}
