/**
 * A small, fast FTP control-channel client for the benchmark, shared by every server under test so
 * that differences come from the servers, not the clients. Raw sockets, Nagle off, replies parsed
 * from latin1 text (RFC 959 §4.2: a multi-line reply ends with "ddd " on its last line). AUTH TLS
 * (RFC 4217 §4) upgrades the connection in place and keeps the TLS session for data connections.
 */
import net from 'node:net';
import tls from 'node:tls';

/** One FTP reply. */
export interface FtpReply {
  code: number;
  /** The text of every line, joined with \n. */
  text: string;
}

/** Longest reply we accept before calling the server broken (bounds the buffer). */
const MAX_REPLY_BYTES = 1 << 20;

/** Default time any single reply may take. */
export const REPLY_TIMEOUT_MS = 120_000;

/** Opens a TCP connection to the loopback address with Nagle off. */
export function connectSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect ${host}:${port}: timeout`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** An FTP control connection: send lines, await replies in order. */
export class FtpControl {
  private buffer = '';
  private firstLine: string | undefined;
  private lines: string[] = [];
  private readonly ready: FtpReply[] = [];
  private waiter: { resolve: (r: FtpReply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private current: net.Socket;
  /** The latest TLS session of the control connection (TLS 1.3 tickets arrive after the handshake). */
  private latestSession: Buffer | undefined;
  private readonly onChunk = (d: string): void => this.onData(d);
  private readonly onError = (err: Error): void => this.fail(err);
  private readonly onClose = (): void => this.fail(new Error('control connection closed'));

  private constructor(socket: net.Socket) {
    this.current = socket;
    this.attach(socket);
  }

  /** The control connection: the plain socket, or its TLS socket after startTls(). */
  get socket(): net.Socket {
    return this.current;
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', this.onChunk);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Connects and reads the 220 greeting. */
  static async open(host: string, port: number, timeoutMs = REPLY_TIMEOUT_MS): Promise<FtpControl> {
    const socket = await connectSocket(host, port, timeoutMs);
    const ftp = new FtpControl(socket);
    const greeting = await ftp.reply(timeoutMs);
    if (greeting.code !== 220) {
      ftp.destroy();
      throw new Error(`greeting: ${greeting.code} ${greeting.text}`);
    }
    return ftp;
  }

  /** Connects and logs in, USER then PASS, each awaited as a typical client does. */
  static async login(
    host: string,
    port: number,
    user: string,
    pass: string,
    timeoutMs = REPLY_TIMEOUT_MS,
  ): Promise<FtpControl> {
    const ftp = await FtpControl.open(host, port, timeoutMs);
    try {
      await ftp.expect(`USER ${user}`, 331, timeoutMs);
      await ftp.expect(`PASS ${pass}`, 230, timeoutMs);
    } catch (err) {
      ftp.destroy();
      throw err;
    }
    return ftp;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_REPLY_BYTES) {
      this.fail(new Error('reply too long'));
      this.current.destroy();
      return;
    }
    let start = 0;
    for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n', start)) {
      const end = nl > start && this.buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.onLine(this.buffer.slice(start, end));
      start = nl + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private onLine(line: string): void {
    if (this.firstLine === undefined) this.firstLine = line;
    this.lines.push(line);
    const code = this.firstLine.slice(0, 3);
    if (line.length >= 4 && line.startsWith(code) && line[3] === ' ') {
      const reply = { code: Number(code), text: this.lines.join('\n') };
      this.firstLine = undefined;
      this.lines = [];
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w.resolve(reply);
      else this.ready.push(reply);
    }
  }

  /** Sends one command line (several may be pipelined before their replies are read). */
  send(line: string): void {
    this.current.write(`${line}\r\n`, 'latin1');
  }

  /** The next reply, in order. */
  reply(timeoutMs = REPLY_TIMEOUT_MS): Promise<FtpReply> {
    const next = this.ready.shift();
    if (next) return Promise.resolve(next);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('reply() called twice concurrently'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Sends a command and returns its reply. */
  async command(line: string, timeoutMs = REPLY_TIMEOUT_MS): Promise<FtpReply> {
    this.send(line);
    return this.reply(timeoutMs);
  }

  /** Sends a command and fails unless the reply has the expected code. */
  async expect(line: string, code: number, timeoutMs = REPLY_TIMEOUT_MS): Promise<FtpReply> {
    const r = await this.command(line, timeoutMs);
    if (r.code !== code) throw new Error(`${line.split(' ')[0]}: expected ${code}, got ${r.code} ${r.text}`);
    return r;
  }

  /** Reads the next reply and fails unless it has the expected code. */
  async expectReply(code: number, what: string, timeoutMs = REPLY_TIMEOUT_MS): Promise<FtpReply> {
    const r = await this.reply(timeoutMs);
    if (r.code !== code) throw new Error(`${what}: expected ${code}, got ${r.code} ${r.text}`);
    return r;
  }

  /** EPSV (RFC 2428 §3): the data port the server listens on. */
  async epsv(): Promise<number> {
    const r = await this.expect('EPSV', 229);
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (!m) throw new Error(`EPSV: unparsable reply ${r.text}`);
    return Number(m[1]);
  }

  /**
   * AUTH TLS, then the client handshake on the same TCP connection (the server's certificate is not
   * verified: the benchmark makes a self-signed one). Resolves with the TLS socket.
   */
  async startTls(options: tls.ConnectionOptions = {}, timeoutMs = 10_000): Promise<tls.TLSSocket> {
    await this.expect('AUTH TLS', 234, timeoutMs);
    if (this.buffer !== '' || this.ready.length > 0) throw new Error('AUTH TLS: data after the 234 reply');
    const plain = this.current;
    plain.off('data', this.onChunk);
    plain.off('error', this.onError);
    plain.off('close', this.onClose);
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false, ...options });
    secure.on('session', (s: Buffer) => (this.latestSession = s));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('TLS handshake timeout')), timeoutMs);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        secure.off('secureConnect', ok);
        secure.off('error', done);
        if (err) {
          secure.destroy();
          reject(err);
        } else resolve();
      };
      const ok = (): void => done();
      secure.once('secureConnect', ok);
      secure.once('error', done);
    });
    this.current = secure;
    this.attach(secure);
    return secure;
  }

  /**
   * The TLS session a data connection should resume; under TLS 1.3 waits (at most `waitMs`) for the
   * server's first ticket. Undefined before startTls() or when the server issues no session.
   */
  async tlsSession(waitMs = 500): Promise<Buffer | undefined> {
    const socket = this.current;
    if (!(socket instanceof tls.TLSSocket)) return undefined;
    if (this.latestSession === undefined && socket.getProtocol() === 'TLSv1.3') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done(): void {
          clearTimeout(timer);
          socket.off('session', done);
          resolve();
        }
        socket.once('session', done);
      });
    }
    return this.latestSession ?? socket.getSession();
  }

  /** QUIT politely, then drop the socket whatever the answer. */
  async quit(timeoutMs = 10_000): Promise<void> {
    try {
      this.send('QUIT');
      await this.reply(timeoutMs);
    } catch {
      // The server may close before or instead of answering; either way the session is over.
    } finally {
      this.destroy();
    }
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.current.destroy();
  }
}
