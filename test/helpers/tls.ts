/**
 * FTPS test helpers: a throw-away PKI made with the openssl CLI (a CA, server and client
 * certificates), an FTPS control client that shows exact replies (explicit AUTH TLS or implicit
 * TLS), TLS data connections that resume the control session or not, and runners for real clients
 * with their TLS settings (curl, lftp, Python ftplib, openssl s_client). Every wait is bounded;
 * child processes are killed by PID when their time is up (runProgram).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { FTPLIB_ERROR_EXIT, pythonPath } from './clients.js';
import { ReplyQueue, type RawReply } from './raw.js';
import { runProgram, type RunResult } from './transfer-clients.js';

/** Certificates of one test run (PEM files in `dir`). */
export interface Pki {
  dir: string;
  /** The CA certificate. */
  caCert: string;
  /** Server certificate (CN=localhost, SAN localhost/127.0.0.1) then its key: a `-2` bundle. */
  server: string;
  /** Server certificate, CA certificate, key: with `-J -C:` client certificates are checked against it. */
  serverWithCa: string;
  /** Client certificate signed by the CA, and its key. */
  clientCert: string;
  clientKey: string;
  /** A self-signed client certificate the server must not trust, and its key. */
  rogueCert: string;
  rogueKey: string;
  /** Removes the directory. */
  close(): Promise<void>;
}

/** Runs `openssl` in `dir` with the space-separated `words` then `extra` (values holding spaces). */
async function openssl(dir: string, words: string, ...extra: string[]): Promise<void> {
  const args = [...words.split(' '), ...extra];
  const r = await runProgram('openssl', args, { cwd: dir, timeoutMs: 15000 });
  if (r.code !== 0) throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
}

/** EC P-256 keys: generated in milliseconds, accepted by every client tested. */
const NEW_KEY = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';

/** A key and a certificate for `cn` signed by the CA, with the given X.509v3 extensions. */
async function signed(dir: string, name: string, cn: string, extensions: string[]): Promise<void> {
  await openssl(dir, `req -new ${NEW_KEY} -keyout ${name}.key -out ${name}.csr -subj /CN=${cn}`);
  await writeFile(path.join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  const serial = `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
  await openssl(
    dir,
    `x509 -req -in ${name}.csr -CA ca.pem -CAkey ca.key -set_serial ${serial} -days 2 ` +
      `-extfile ${name}.ext -out ${name}.pem`,
  );
}

/** A self-signed certificate for `cn` (key in `<name>.key`, certificate in `<name>.pem`). */
export async function selfSigned(dir: string, name: string, cn: string): Promise<void> {
  await openssl(
    dir,
    `req -x509 ${NEW_KEY} -keyout ${name}.key -out ${name}.pem -days 2 -subj /CN=${cn} ` +
      `-addext subjectAltName=DNS:${cn},DNS:localhost,IP:127.0.0.1`,
  );
}

/** Makes the CA, the server and client certificates and the bundles the server reads. */
export async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-pki-'));
  const file = (name: string): string => path.join(dir, name);
  await openssl(
    dir,
    `req -x509 ${NEW_KEY} -keyout ca.key -out ca.pem -days 2 -addext basicConstraints=critical,CA:TRUE ` +
      '-addext keyUsage=critical,keyCertSign,cRLSign -subj',
    '/CN=tsftpd test CA',
  );
  await Promise.all([
    signed(dir, 'server', 'localhost', [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'extendedKeyUsage=serverAuth',
    ]),
    signed(dir, 'client', 'joe', ['extendedKeyUsage=clientAuth']),
    selfSigned(dir, 'rogue', 'joe'),
  ]);
  const read = (name: string): Promise<string> => readFile(file(name), 'utf8');
  const [server, serverKey, ca] = await Promise.all([read('server.pem'), read('server.key'), read('ca.pem')]);
  await writeFile(file('server-bundle.pem'), server + serverKey, { mode: 0o600 });
  await writeFile(file('server-ca-bundle.pem'), server + ca + serverKey, { mode: 0o600 });
  return {
    dir,
    caCert: file('ca.pem'),
    server: file('server-bundle.pem'),
    serverWithCa: file('server-ca-bundle.pem'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
    rogueCert: file('rogue.pem'),
    rogueKey: file('rogue.key'),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Client TLS options of the tests: the test certificates are not verified unless asked. */
export function clientTls(extra: tls.ConnectionOptions = {}): tls.ConnectionOptions {
  return { rejectUnauthorized: false, ...extra };
}

/** Resolves when a client TLS socket finished its handshake; rejects on error, close or timeout. */
export function secured(socket: tls.TLSSocket, timeoutMs = 10000): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('timeout waiting for the TLS handshake')), timeoutMs);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err === undefined) resolve(socket);
      else reject(err);
    };
    const onSecure = (): void => finish();
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('connection closed during the TLS handshake'));
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/**
 * An FTP(S) control connection driven line by line: AUTH TLS upgrades it in place, and the TLS
 * session it negotiated is kept for data connections that should resume it (TLS 1.3 tickets arrive
 * after the handshake, so the latest `session` event wins over getSession()).
 */
export class FtpsControl {
  private readonly replies = new ReplyQueue();
  private latestSession?: Buffer;

  private readonly onData = (d: Buffer): void => this.replies.push(d.toString('utf8'));
  private readonly onClose = (): void => this.replies.close();

  private constructor(public socket: net.Socket) {
    this.attach(socket);
  }

  /** Connects (with TLS from the first byte when `implicit` is given) and reads the greeting. */
  static async connect(
    port: number,
    opts: { host?: string; localAddress?: string; implicit?: tls.ConnectionOptions } = {},
  ): Promise<{ ftp: FtpsControl; greeting: RawReply }> {
    const host = opts.host ?? '127.0.0.1';
    const localAddress = opts.localAddress;
    let socket: net.Socket;
    if (opts.implicit !== undefined) {
      let secure: tls.TLSSocket;
      if (localAddress === undefined) secure = tls.connect({ host, port, ...clientTls(opts.implicit) });
      else {
        const tcp = net.connect({ host, port, localAddress });
        tcp.on('error', () => undefined);
        secure = tls.connect({ socket: tcp, ...clientTls(opts.implicit) });
      }
      socket = await secured(secure);
    } else {
      socket = net.connect({ host, port, localAddress });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('connect timeout')), 5000);
        socket.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
    }
    const ftp = new FtpsControl(socket);
    if (socket instanceof tls.TLSSocket) socket.on('session', (s: Buffer) => (ftp.latestSession = s));
    return { ftp, greeting: await ftp.read() };
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', () => undefined);
  }

  /** True once the connection closed. */
  get closed(): boolean {
    return this.replies.closed;
  }

  /** The next reply (rejects after timeoutMs, or when the connection closes first). */
  read(timeoutMs = 10000): Promise<RawReply> {
    return this.replies.read(timeoutMs);
  }

  /** True when a reply is waiting (after a short pause that lets one arrive). */
  async hasReply(waitMs = 300): Promise<boolean> {
    await new Promise((r) => setTimeout(r, waitMs));
    return this.replies.pending > 0;
  }

  /** Sends one command line. */
  send(line: string): void {
    this.socket.write(line + '\r\n');
  }

  /** Sends a command and returns its reply. */
  async cmd(line: string, timeoutMs?: number): Promise<RawReply> {
    this.send(line);
    return this.read(timeoutMs);
  }

  /**
   * `AUTH TLS` (or `raw`, sent as is, e.g. `AUTH SSL` or a pipelined batch) then the handshake
   * when the reply is 234. Returns the AUTH reply.
   */
  async upgrade(opts: tls.ConnectionOptions = {}, raw = 'AUTH TLS\r\n'): Promise<RawReply> {
    this.socket.write(raw);
    const r = await this.read();
    if (r.code !== 234) return r;
    const plain = this.socket;
    plain.off('data', this.onData);
    plain.off('close', this.onClose);
    const secure = tls.connect({ socket: plain, ...clientTls(opts) });
    secure.on('session', (s: Buffer) => (this.latestSession = s));
    this.socket = await secured(secure);
    this.attach(this.socket);
    return r;
  }

  /** The control connection's TLS socket (throws before AUTH TLS). */
  get tls(): tls.TLSSocket {
    if (!(this.socket instanceof tls.TLSSocket)) throw new Error('the control connection is not TLS');
    return this.socket;
  }

  /** The session a data connection should resume. */
  session(): Buffer | undefined {
    return this.latestSession ?? this.tls.getSession();
  }

  /** USER/PASS; throws unless 230. */
  async login(user = 'joe', pass = 'secret'): Promise<RawReply> {
    let r = await this.cmd(`USER ${user}`);
    if (r.code === 331) r = await this.cmd(`PASS ${pass}`);
    if (r.code !== 230) throw new Error(`login failed: ${r.text}`);
    return r;
  }

  /** EPSV; returns the data port. */
  async epsv(): Promise<number> {
    const r = await this.cmd('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (r.code !== 229 || m === null) throw new Error(`EPSV failed: ${r.text}`);
    return Number(m[1]);
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy();
  }
}

/**
 * A TLS client on a data port; the handshake completes once the server runs its side (after 150).
 * `session` resumes a control session (undefined: a fresh, unbound session). The plain TCP socket
 * under it is returned too, for tests that cut the connection without close_notify.
 */
export function tlsData(
  port: number,
  opts: tls.ConnectionOptions = {},
): { socket: tls.TLSSocket; tcp: net.Socket } {
  const tcp = net.connect({ host: '127.0.0.1', port });
  tcp.on('error', () => undefined);
  const socket = tls.connect({ socket: tcp, ...clientTls(opts) });
  socket.on('error', () => undefined);
  return { socket, tcp };
}

/** Reads a TLS data connection to its end (bounded). */
export function readTls(socket: tls.TLSSocket, timeoutMs = 10000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timeout reading the TLS data connection'));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** A TLS session (Node's DER form) as the PEM file `openssl s_client -sess_in` reads. */
export function sessionPem(session: Buffer): string {
  const lines = session.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN SSL SESSION PARAMETERS-----\n${lines.join('\n')}\n-----END SSL SESSION PARAMETERS-----\n`;
}

/** Runs `openssl s_client` with `args` (stdin = input); output on stdout+stderr. */
export async function sClient(
  args: string[],
  input = '',
  timeoutMs = 15000,
): Promise<RunResult & { output: string }> {
  const r = await runProgram('openssl', ['s_client', ...args], { input, timeoutMs });
  return { ...r, output: r.stdout.toString('utf8') + r.stderr };
}

/** Options of lftpTls. */
export interface LftpTlsOptions {
  cwd: string;
  passive?: boolean;
  /** Forbid TLS 1.3 (gnutls priority string), so TLS 1.2 session resumption is used. */
  tls12?: boolean;
  /** `ftps://` (implicit TLS) instead of AUTH TLS. */
  implicit?: boolean;
  user?: string;
  password?: string;
}

/** Runs an lftp script over FTPS (AUTH TLS forced, data protected, the test CA not verified). */
export function lftpTls(port: number, commands: string, opts: LftpTlsOptions): Promise<RunResult> {
  const login = `-u ${opts.user ?? 'joe'},${opts.password ?? 'secret'}`;
  const script = [
    'set cmd:interactive false',
    'set net:max-retries 1',
    'set net:reconnect-interval-base 1',
    'set net:timeout 10',
    'set ftp:ssl-force true',
    'set ftp:ssl-protect-data true',
    'set ftp:ssl-protect-list true',
    'set ssl:verify-certificate no',
    ...(opts.tls12 === true ? ['set ssl:priority "NORMAL:-VERS-TLS1.3"'] : []),
    `set ftp:passive-mode ${opts.passive === false ? 'off' : 'on'}`,
    'set ftp:prefer-epsv false',
    'set xfer:clobber true',
    opts.implicit === true ? `open ${login} ftps://127.0.0.1:${port}` : `open ${login} -p ${port} 127.0.0.1`,
    commands,
  ].join('; ');
  return runProgram('lftp', ['-c', script], { cwd: opts.cwd, timeoutMs: 30000, env: { HOME: opts.cwd } });
}

/** Options of ftplibTls. */
export interface FtplibTlsOptions {
  /** Use the FTP_TLS subclass that resumes the control session on data connections. */
  reuse: boolean;
  passive: boolean;
  /** Cap the protocol at TLS 1.2. */
  tls12?: boolean;
  cwd?: string;
}

/**
 * Runs Python code with `ftp` logged in as joe over FTPS with PROT P. Plain ftplib.FTP_TLS does not
 * resume the control session on data connections; `reuse` uses the well-known subclass that passes
 * `session=self.sock.session` to wrap_socket. An ftplib error prints `FTPERR <reply>`, status 3.
 */
export function ftplibTls(port: number, body: string, opts: FtplibTlsOptions): Promise<RunResult> {
  const program = [
    'import ftplib, io, os, ssl, sys',
    'ctx = ssl.create_default_context()',
    'ctx.check_hostname = False',
    'ctx.verify_mode = ssl.CERT_NONE',
    "if os.environ.get('TLS12') == '1':",
    '    ctx.maximum_version = ssl.TLSVersion.TLSv1_2',
    'class ReusingFTP_TLS(ftplib.FTP_TLS):',
    '    def ntransfercmd(self, cmd, rest=None):',
    '        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)',
    '        if self._prot_p:',
    '            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)',
    '        return conn, size',
    "cls = ReusingFTP_TLS if os.environ.get('REUSE') == '1' else ftplib.FTP_TLS",
    'ftp = cls(context=ctx, timeout=10)',
    'try:',
    "    ftp.connect('127.0.0.1', int(os.environ['PORT']))",
    "    ftp.login('joe', 'secret')",
    '    ftp.prot_p()',
    "    ftp.set_pasv(os.environ.get('PASSIVE') == '1')",
    ...body.split('\n').map((l) => `    ${l}`),
    ...FTPLIB_ERROR_EXIT,
  ].join('\n');
  return runProgram(pythonPath() ?? 'python3', ['-c', program], {
    cwd: opts.cwd,
    timeoutMs: 30000,
    env: {
      PORT: String(port),
      REUSE: opts.reuse ? '1' : '0',
      PASSIVE: opts.passive ? '1' : '0',
      TLS12: opts.tls12 === true ? '1' : '0',
    },
  });
}

/** One step of an interactive program: text written to its stdin, then a pause. */
export interface InputStep {
  write: string;
  /** Pause after the write, in ms. */
  pauseMs: number;
}

/**
 * Runs a program whose stdin is written step by step (openssl s_client reads its one-letter
 * commands, such as `R` for renegotiate, one read at a time). Stops writing once it exits; it is
 * killed by PID when `timeoutMs` passes. stdout and stderr are returned together.
 */
export function driveProgram(
  file: string,
  args: readonly string[],
  steps: readonly InputStep[],
  timeoutMs = 20000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let exited = false;
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => {
      if (child.pid !== undefined && !exited) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, output: Buffer.concat(out).toString('utf8') });
    });
    void (async () => {
      for (const step of steps) {
        if (exited) return;
        child.stdin.write(step.write);
        await new Promise((r) => setTimeout(r, step.pauseMs));
      }
      if (!exited) child.stdin.end();
    })();
  });
}

/** curl's version as [major, minor] (curl < 8 cannot do active-mode FTPS: curl issue #10666). */
export async function curlVersion(): Promise<[number, number]> {
  const r = await runProgram('curl', ['--version'], { timeoutMs: 5000 });
  const m = /^curl (\d+)\.(\d+)/.exec(r.stdout.toString('utf8'));
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
}
