/**
 * A raw FTP control-channel client for tests: exact bytes out, parsed replies in. Used where a
 * real client would hide what we test (malformed input, pipelining, ABOR timing, reply texts).
 */
import net from 'node:net';

/** One parsed reply. */
export interface RawReply {
  code: number;
  lines: string[];
  /** All lines joined with \n. */
  text: string;
}

/**
 * The replies of a control connection as its text arrives: complete lines in, whole (multi-line)
 * replies out, in order. Shared by RawFtp and the FTPS client of tls.ts.
 */
export class ReplyQueue {
  private buffer = '';
  private partial: string[] = [];
  private readonly replies: RawReply[] = [];
  private waiters: (() => void)[] = [];
  /** True once the connection closed. */
  closed = false;

  /** Adds received text; a reply is complete at its `NNN ` line with the code of its first line. */
  push(text: string): void {
    this.buffer += text;
    let i: number;
    while ((i = this.buffer.indexOf('\n')) !== -1) {
      const line = this.buffer.slice(0, i).replace(/\r$/, '');
      this.buffer = this.buffer.slice(i + 1);
      this.partial.push(line);
      const m = /^(\d{3})([ -])/.exec(line);
      const code = /^(\d{3})/.exec(this.partial[0])?.[1];
      if (m !== null && m[2] === ' ' && code !== undefined && m[1] === code) {
        this.replies.push({ code: Number(code), lines: this.partial, text: this.partial.join('\n') });
        this.partial = [];
      }
    }
    this.wake();
  }

  /** Records that the connection closed: waiting reads fail, waitClosed() returns. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Number of complete replies not read yet. */
  get pending(): number {
    return this.replies.length;
  }

  /** Waits for the next reply (rejects after timeoutMs or when the connection closes first). */
  async read(timeoutMs = 10000): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.closed) throw new Error(`connection closed (partial: ${this.partial.join('|')})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timeout waiting for a reply');
      await this.wait(left);
    }
    return this.replies.shift()!;
  }

  /** Waits for the connection to close. */
  async waitClosed(timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('timeout waiting for close');
      await this.wait(50);
    }
  }

  /** Resolves at the next arrival or close, or after `ms`. */
  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

/** A control connection driven line by line. */
export class RawFtp {
  private readonly replies = new ReplyQueue();

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.replies.push(d));
    socket.on('close', () => this.replies.close());
    socket.on('error', () => undefined);
  }

  /** Connects (from `localAddress` when given) and reads the greeting. */
  static async connect(
    port: number,
    host = '127.0.0.1',
    localAddress?: string,
  ): Promise<{ ftp: RawFtp; greeting: RawReply }> {
    const socket = net.connect({ port, host, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const ftp = new RawFtp(socket);
    const greeting = await ftp.read();
    return { ftp, greeting };
  }

  /** Drives a connected socket (after whatever the test sent first, a PROXY header); reads the greeting. */
  static async over(socket: net.Socket): Promise<{ ftp: RawFtp; greeting: RawReply }> {
    const ftp = new RawFtp(socket);
    const greeting = await ftp.read();
    return { ftp, greeting };
  }

  /** True once the server (or we) closed the connection. */
  get closed(): boolean {
    return this.replies.closed;
  }

  /** Sends raw bytes (no CRLF added). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one command line with CRLF. */
  send(line: string): void {
    this.socket.write(line + '\r\n');
  }

  /** Waits for the next reply (rejects after timeoutMs or when the connection closes first). */
  read(timeoutMs = 10000): Promise<RawReply> {
    return this.replies.read(timeoutMs);
  }

  /** Sends a command and returns its reply. */
  async cmd(line: string, timeoutMs?: number): Promise<RawReply> {
    this.send(line);
    return this.read(timeoutMs);
  }

  /** Waits for the server to close the connection. */
  waitClosed(timeoutMs = 10000): Promise<void> {
    return this.replies.waitClosed(timeoutMs);
  }

  /** Logs in with USER/PASS; throws unless 230. */
  async login(user: string, pass?: string): Promise<RawReply> {
    let r = await this.cmd(`USER ${user}`);
    if (r.code === 331) r = await this.cmd(`PASS ${pass ?? ''}`);
    if (r.code !== 230) throw new Error(`login failed: ${r.text}`);
    return r;
  }

  /** Opens a passive data connection (EPSV) and returns the socket once connected. */
  async epsv(host = '127.0.0.1'): Promise<net.Socket> {
    const r = await this.cmd('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (r.code !== 229 || m === null) throw new Error(`EPSV failed: ${r.text}`);
    const s = net.connect({ port: Number(m[1]), host });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
    return s;
  }

  /** Opens a passive data connection with PASV (IPv4) and returns the socket once connected. */
  async pasv(): Promise<net.Socket> {
    const r = await this.cmd('PASV');
    const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(r.text);
    if (r.code !== 227 || m === null) throw new Error(`PASV failed: ${r.text}`);
    const host = m.slice(1, 5).join('.');
    const s = net.connect({ port: Number(m[5]) * 256 + Number(m[6]), host });
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
    return s;
  }

  /**
   * Runs one data command over a fresh EPSV connection: sends `line`, and when the server answers
   * 150/125, uploads `upload` (if given) or reads the data, then reads the final reply. The data
   * socket is always closed.
   */
  async data(line: string, upload?: string | Buffer, timeoutMs = 10000): Promise<DataResult> {
    const socket = await this.epsv();
    try {
      this.send(line);
      const first = await this.read(timeoutMs);
      if (first.code !== 150 && first.code !== 125) return { first, data: Buffer.alloc(0) };
      let data: Buffer = Buffer.alloc(0);
      if (upload !== undefined) await new Promise<void>((resolve) => socket.end(upload, resolve));
      else data = await withTimeout(readAll(socket), timeoutMs, 'data connection');
      const final = await this.read(timeoutMs);
      return { first, final, data };
    } finally {
      socket.destroy();
    }
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }
}

/** The replies and bytes of one data command (RawFtp.data). */
export interface DataResult {
  /** The first reply (150 when the transfer started). */
  first: RawReply;
  /** The final reply (226, 426, ...), when the transfer started. */
  final?: RawReply;
  /** Bytes received (downloads and listings). */
  data: Buffer;
}

/** Rejects when `p` takes longer than `ms` (and clears its timer either way). */
export async function withTimeout<T>(p: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a whole data connection into a Buffer. */
export function readAll(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}
