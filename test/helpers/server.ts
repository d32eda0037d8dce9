/**
 * Starts a real tsftpd server in-process on 127.0.0.1 (port 0) with a temp directory tree, for
 * end-to-end tests. Every server, temp dir and socket is released by close(), and close() checks it
 * (leaks.ts): once the last overlapping test server is closed, no socket, listener, timer or file
 * descriptor may be left above what the process held before the first one started.
 */
import { mkdtemp, mkdir, rm, writeFile, chmod, chown } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { FtpServer } from '../../src/server/server.js';
import { EventBus } from '../../src/telemetry/bus.js';
import { buildAuthChain } from '../../src/auth/build.js';
import { resolveAnonymous } from '../../src/auth/anonymous.js';
import { CertificateStore } from '../../src/tls/certificates.js';
import { serverWindow, snapshot, warmUp, type LeakCheckOptions } from './leaks.js';

const run = promisify(execFile);

/** A virtual user of a test server. */
export interface TestUser {
  login: string;
  password: string;
  /** Home relative to the test dir (default `home/<login>`); chrooted unless chroot is false. */
  home?: string;
  chroot?: boolean;
  /** Start directory inside a chrooted home (written after `/./`, created unless `home` is absent). */
  start?: string;
  /** Extra passwd fields after home (bandwidth, quota, ...), raw. */
  extra?: string;
}

/** Options of startServer(). */
export interface TestServerOptions {
  /** Extra switches, as on the command line. */
  args?: string[];
  users?: TestUser[];
  /** Create and serve an anonymous root (default true). */
  anonymous?: boolean;
  /** Listen address (default 127.0.0.1); `::1` for IPv6 tests. */
  host?: string;
  /**
   * The leak check of close() (default on): false for a test that keeps its own sockets or
   * processes open across close(), or options (settle time, fd tolerance).
   */
  leakCheck?: boolean | LeakCheckOptions;
}

/** A running test server. */
export interface TestServer {
  port: number;
  /** Ports of every listener: the main one first, then the implicit-TLS ones (--implicit-tls). */
  ports: number[];
  host: string;
  /** Temp directory holding everything. */
  dir: string;
  /** Anonymous root. */
  anonRoot: string;
  config: Readonly<Config>;
  server: FtpServer;
  bus: EventBus;
  /** Log lines seen on the bus. */
  logs: string[];
  /** Real home directory of a user. */
  home(login: string): string;
  /** Closes the server, removes its directory, then runs the leak check (rejects with LeakError). */
  close(): Promise<void>;
}

/** The uid test accounts get: ours, or nobody when we run as root (uid 0 is refused). */
export const TEST_UID = process.getuid?.() === 0 ? 65534 : (process.getuid?.() ?? 1000);
export const TEST_GID = process.getgid?.() === 0 ? 65534 : (process.getgid?.() ?? 1000);

const hashCache = new Map<string, string>();

/** A SHA-512 crypt hash of a password (fast to verify, accepted by Pure-FTPd too). */
export async function sha512Hash(password: string): Promise<string> {
  const cached = hashCache.get(password);
  if (cached) return cached;
  const { stdout } = await run('openssl', ['passwd', '-6', '-salt', 'tsftpdtestsalt', password]);
  const h = stdout.trim();
  hashCache.set(password, h);
  return h;
}

/**
 * Writes `DIR/pureftpd.passwd` with one account chrooted to `home` (owned by the test account), for
 * servers started as child processes; returns the file's path.
 */
export async function writeJoePasswd(dir: string, home: string, password = 'secret'): Promise<string> {
  await chown(home, TEST_UID, TEST_GID);
  const passwd = path.join(dir, 'pureftpd.passwd');
  const line = `joe:${await sha512Hash(password)}:${TEST_UID}:${TEST_GID}::${home}/./::::::::::::\n`;
  await writeFile(passwd, line, { mode: 0o600 });
  return passwd;
}

/** Writes a fixture file inside a home, owned by the test account as a user's own file would be. */
export async function putFile(file: string, data: string | Buffer): Promise<void> {
  await writeFile(file, data);
  if (process.getuid?.() === 0) await chown(file, TEST_UID, TEST_GID);
}

/** chown -R of a directory tree the test made (no symlinks followed). */
export async function chownTree(top: string, uid: number, gid: number): Promise<void> {
  await run('chown', ['-R', '-h', `${uid}:${gid}`, top]);
}

/** Starts a server; the default user is joe/secret (chrooted). */
export async function startServer(opts: TestServerOptions = {}): Promise<TestServer> {
  await warmUp();
  const baseline = snapshot();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-test-'));
  await chmod(dir, 0o755);
  const anonRoot = path.join(dir, 'anon');
  await mkdir(anonRoot);
  const users = opts.users ?? [{ login: 'joe', password: 'secret' }];
  const lines: string[] = [];
  for (const u of users) {
    const home = path.join(dir, u.home ?? path.join('home', u.login));
    await mkdir(path.join(home, u.start ?? ''), { recursive: true });
    const marker = u.chroot === false ? '' : `/./${u.start ?? ''}`;
    const hash = await sha512Hash(u.password);
    lines.push(`${u.login}:${hash}:${TEST_UID}:${TEST_GID}::${home}${marker}:${u.extra ?? ''}`);
  }
  const passwd = path.join(dir, 'pureftpd.passwd');
  await writeFile(passwd, lines.join('\n') + '\n', { mode: 0o600 });
  const host = opts.host ?? '127.0.0.1';
  const args = ['-S', `${host},0`, '-p', '20000:29999', '--auth-delay', '5', '--passwd-file', passwd];
  if (opts.anonymous !== false) args.push('--anonymous-root', anonRoot);
  else args.push('-E');
  const loaded = await loadConfig([...args, ...(opts.args ?? [])]);
  if (!('config' in loaded)) throw new Error('unexpected help/version');
  const config = loaded.config;
  const bus = new EventBus();
  const logs: string[] = [];
  bus.on('log', (e) => logs.push(`[${e.level}] ${e.message}`));
  const auth = buildAuthChain(config, bus, { PURE_DBFILE: path.join(dir, 'none.pdb') });
  const anonymous = opts.anonymous === false ? undefined : await resolveAnonymous(anonRoot);
  if (process.getuid?.() === 0) {
    // As root, sessions act as their accounts (the kernel judges every file operation): the
    // homes belong to the test accounts, the anonymous root to the anonymous account, as on a server.
    for (const u of users)
      await chownTree(path.join(dir, u.home ?? path.join('home', u.login)), TEST_UID, TEST_GID);
    if (anonymous !== undefined) await chown(anonRoot, anonymous.uid, anonymous.gid);
  }
  // As run.ts does: a certificate store when TLS is on (-Y > 0 or --implicit-tls).
  const tls =
    config.tls > 0 || config.implicitTls.length > 0
      ? await CertificateStore.open(
          {
            certFile: config.certFile,
            keyFile: config.keyFile,
            ciphers: config.tlsCiphers,
            clientCert: config.tlsClientCert,
          },
          (level, message) => bus.log(undefined, level, message),
        )
      : undefined;
  const server = new FtpServer({ config, auth, anonymous, bus, tls });
  const addresses = await server.listen();
  serverWindow.opened(baseline, opts.leakCheck !== false);
  const leakOptions = typeof opts.leakCheck === 'object' ? opts.leakCheck : {};
  let closing: Promise<void> | undefined;
  return {
    port: addresses[0].port,
    ports: addresses.map((a) => a.port),
    host,
    dir,
    anonRoot,
    config,
    server,
    bus,
    logs,
    home: (login) => {
      const u = users.find((x) => x.login === login);
      return path.join(dir, u?.home ?? path.join('home', login));
    },
    close: () =>
      (closing ??= (async () => {
        try {
          tls?.close();
          await server.close();
          await rm(dir, { recursive: true, force: true });
        } catch (err) {
          // Its own error is the news: the group is not checked, but the next one will be.
          serverWindow.closedUnchecked();
          throw err;
        }
        await serverWindow.closed(`test server on port ${addresses[0].port}`, leakOptions);
      })()),
  };
}
