/**
 * `tsftpd [switches]`: load the configuration, build the services, listen, and run until a signal.
 * Start-up problems (bad switch, port in use, no permission for port 21) exit non-zero with one
 * precise line; running problems are logged and never stop the server.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, unlink } from 'node:fs/promises';
import { constants as C } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { EventBus } from '../telemetry/bus.js';
import { attachLogger } from '../telemetry/log.js';
import { buildAuthChain } from '../auth/build.js';
import { defaultUserFiles } from '../auth/default-files.js';
import { resolveAnonymous } from '../auth/anonymous.js';
import { errnoCode } from '../errors.js';
import { confinementNotice } from '../storage/confined.js';
import { FtpServer } from './server.js';
import { CertificateStore } from '../tls/certificates.js';
import { checkNativeParts, offLine } from './native-check.js';

const PUBLIC_README = `This is the public directory of tsftpd.

Anonymous users can read everything here and cannot write. Put the files you want
to share in this directory, or start tsftpd with --anonymous-root DIR to serve another one.
`;

/** `npm start`: make ./public with a README if it is missing. */
async function preparePublic(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  try {
    const fh = await open(path.join(dir, 'README.txt'), C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644);
    await fh.writeFile(PUBLIC_README);
    await fh.close();
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
}

/** PID file as Pure-FTPd writes it (spec §12: unlinked, recreated 0644, O_NOFOLLOW). */
async function writePidFile(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
  const fh = await open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
  await fh.writeFile(`${process.pid}\n`);
  await fh.close();
}

/** -B: re-runs the same command detached, without -B, and returns at once (Node cannot fork). */
function daemonize(argv: string[]): number {
  const script = fileURLToPath(new URL('../main.js', import.meta.url));
  const args = argv.flatMap((a) => {
    if (a === '-B' || a === '--daemonize') return [];
    if (/^-[A-Za-z0-9]+$/.test(a) && a.includes('B') && !/[SpPcCIULgflnqQtTuyY]/.test(a.slice(1))) {
      const rest = a.replace(/B/g, '');
      return rest === '-' ? [] : [rest];
    }
    return [a];
  });
  const child = spawn(process.execPath, [script, ...args], { detached: true, stdio: 'ignore' });
  child.unref();
  process.stdout.write(`tsftpd: running in the background, pid ${child.pid}\n`);
  return 0;
}

function describeListen(config: Readonly<Config>, port: number): string {
  const host =
    config.bind.host ?? (config.ipv4Only ? '0.0.0.0' : config.ipv6Only ? '[::]' : '0.0.0.0 and [::]');
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** Runs the FTP server; resolves with the exit code. */
export async function runServer(argv: string[]): Promise<number> {
  let loaded;
  try {
    loaded = await loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if ('help' in loaded) {
    process.stdout.write(loaded.help);
    return 0;
  }
  if ('version' in loaded) {
    process.stdout.write(`${loaded.version}\n`);
    return 0;
  }
  const config = loaded.config;
  if (config.daemonize) return daemonize(argv);
  // A configured feature whose native addon cannot load stops the start (docs/native.md).
  const native = await checkNativeParts(config);
  if (native.errors.length > 0) {
    for (const e of native.errors) process.stderr.write(`tsftpd: ${e}\n`);
    return 2;
  }

  const bus = new EventBus();
  const facility = config.syslogFacility;
  attachLogger(bus, {
    format: config.logFormat,
    verbose: config.verboseLog,
    syslog:
      facility === undefined || facility === 'none'
        ? undefined
        : { facility, ident: 'tsftpd', logPid: config.logPid, socketPath: config.syslogSocket },
  });
  if (config.quickstart && config.anonymousRoot !== undefined) await preparePublic(config.anonymousRoot);
  let auth;
  try {
    auth = buildAuthChain(config, bus);
  } catch (err) {
    process.stderr.write(`tsftpd: ${(err as Error).message}\n`);
    return 2;
  }
  const anonymous = config.noAnonymous ? undefined : await resolveAnonymous(config.anonymousRoot);
  if (config.anonymousRoot !== undefined && anonymous === undefined && !config.noAnonymous) {
    process.stderr.write(`tsftpd: --anonymous-root ${config.anonymousRoot}: not a directory\n`);
    return 2;
  }
  let tls: CertificateStore | undefined;
  if (config.tls > 0 || config.implicitTls.length > 0) {
    try {
      tls = await CertificateStore.open(
        {
          certFile: config.certFile,
          keyFile: config.keyFile,
          ciphers: config.tlsCiphers,
          clientCert: config.tlsClientCert,
        },
        (level, message) => bus.log(undefined, level, message),
      );
    } catch (err) {
      process.stderr.write(`tsftpd: -Y ${config.tls}: ${(err as Error).message}\n`);
      await auth.close();
      return 2;
    }
    tls.watchFiles();
    bus.log(undefined, 'INFO', `TLS certificate: ${tls.describe()}`);
  }
  const server = new FtpServer({ config, auth, anonymous, bus, tls });
  let addresses;
  try {
    addresses = await server.listen();
  } catch (err) {
    const code = errnoCode(err);
    const where = describeListen(config, config.bind.port);
    if (code === 'EACCES') {
      process.stderr.write(
        `tsftpd: cannot listen on ${where}: permission denied (ports below 1024 need root; try -S 2121)\n`,
      );
    } else if (code === 'EADDRINUSE') {
      process.stderr.write(`tsftpd: cannot listen on ${where}: the port is already in use\n`);
    } else {
      process.stderr.write(`tsftpd: cannot listen on ${where}: ${(err as Error).message}\n`);
    }
    await auth.close();
    return 1;
  }
  if (config.pidFile !== undefined) await writePidFile(config.pidFile);
  if (process.geteuid?.() === 0) {
    bus.log(
      undefined,
      'WARNING',
      'running as root: every account is confined to its home directory and acts with its own uid, gid and groups',
    );
  }
  const confinement = await confinementNotice(config.weakJail);
  if (confinement !== undefined) bus.log(undefined, 'WARNING', confinement);
  const port = addresses[0]?.port ?? config.bind.port;
  const anonText = anonymous ? `anonymous read-only: ${anonymous.root}` : 'anonymous: off';
  const users = defaultUserFiles(config.quickstart);
  // uid 0 is refused for virtual users (spec §3.1): as root, suggest nobody's ids.
  const owner = process.geteuid?.() === 0 ? '-u nobody' : `-u ${process.getuid?.()} -g ${process.getgid?.()}`;
  const hint = config.quickstart
    ? `add a user: npx tsftpd pw useradd joe ${owner} -d ${path.resolve('home/joe')} -f ${users.passwd}`
    : `users: ${config.auth.length > 0 ? config.auth.map((a) => `${a.method}:${a.arg ?? ''}`).join(' ') : users.pdb}`;
  process.stdout.write(
    `tsftpd: serving FTP on ftp://${describeListen(config, port)} (${anonText}) - ${hint}\n`,
  );
  // The implicit-TLS listeners follow the main one (server.listen order); port 0 shows the real port.
  for (const a of addresses.slice(1)) {
    const host = a.address.includes(':') ? `[${a.address}]` : a.address;
    process.stdout.write(`tsftpd: serving implicit FTPS on ftps://${host}:${a.port}\n`);
  }
  const nativeOff = offLine(native);
  if (nativeOff !== undefined) process.stdout.write(`tsftpd: ${nativeOff}\n`);
  bus.log(undefined, 'INFO', `native addons: ${native.summary}`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      bus.log(undefined, 'INFO', `${signal} received, shutting down`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // SIGHUP reloads the certificate without dropping a session (docs/tls.md).
    process.on('SIGHUP', () => void tls?.reload());
  });
  tls?.close();
  await server.close();
  if (config.pidFile !== undefined) await unlink(config.pidFile).catch(() => undefined);
  return 0;
}
