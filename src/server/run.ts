/**
 * `tsftpd [switches]`: load the configuration, build the services, listen, and run until a signal.
 * Start-up problems (bad switch, port in use, no permission for port 21, PID file not writable, an
 * inetd start) exit non-zero with precise lines and leave nothing listening; running problems are
 * logged and never stop the server. With -B the same start-up runs in a background child and this
 * process reports its outcome (daemon.ts).
 */
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import { constants as C } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, versionText, withDefaultFiles } from '../config/index.js';
import type { Config } from '../config/types.js';
import { EventBus } from '../telemetry/bus.js';
import { attachLogger } from '../telemetry/log.js';
import { syslogSender } from '../telemetry/syslog.js';
import { reloadable } from './reload.js';
import { buildAuthChain } from '../auth/build.js';
import { defaultUserFiles } from '../auth/default-files.js';
import { resolveAnonymous } from '../auth/anonymous.js';
import { errnoCode } from '../errors.js';
import { FtpServer, hostHasIpv6 } from './server.js';
import { Supervisor } from '../cluster/supervisor.js';
import { resolveRunAs } from '../cluster/run-as.js';
import { channelAddon } from '../ipc/channel.js';
import type { AuthChain } from '../auth/chain.js';
import type { AnonymousAccount } from '../auth/anonymous.js';
import os from 'node:os';
import { CertificateStore } from '../tls/certificates.js';
import {
  daemonChildOutput,
  runDaemonParent,
  takeDaemonChildMark,
  terminalOutput,
  type StartupOutput,
} from './daemon.js';
import { openOperationSinks } from './operation-sinks.js';
import { clusterSource, singleProcessSource, supervisorSource } from './ops-source.js';
import type { StateStore } from '../policy/state.js';
import type { RedisStateStore } from '../cluster/redis-state.js';
import { WhoSocketServer } from './who-socket.js';
import { MetricsServer } from './metrics-http.js';
import { trackTitles } from '../cluster/titles.js';
import { isInetdStart, refuseInetd, stderrIsClient } from './inetd.js';
import net from 'node:net';
import { Writable } from 'node:stream';
import { checkNativeParts, offLine } from './native-check.js';
import { confinementNotice } from '../storage/confined.js';
import {
  addUserText,
  adminCommand,
  backgroundLogText,
  listenerText,
  logTarget,
  otherPortHint,
  placeText,
  usersText,
  type StartupFacts,
} from './startup-text.js';
import { SniCertificates } from '../tls/sni-certs.js';

const PUBLIC_README = `This is the public directory of tsftpd.

Anonymous users can read everything here and cannot write. Put the files you want
to share in this directory, or start tsftpd with --anonymous-root DIR to serve another one.
`;

/** How long a replaced authentication chain stays open for the logins that started with it. */
const AUTH_RETIRE_MS = 60_000;

/** Plain words for the usual reasons a PID file cannot be written. */
const PID_FILE_ERRORS: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  EACCES: 'permission denied',
  ELOOP: 'it is a symbolic link',
  EISDIR: 'it is a directory',
};

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

/** PID file as Pure-FTPd writes it (upstream §12: unlinked, recreated 0644, O_NOFOLLOW). */
async function writePidFile(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
  const fh = await open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
  await fh.writeFile(`${process.pid}\n`);
  await fh.close();
}

/** The real facts the start-up messages depend on. */
function machineFacts(): StartupFacts {
  return { exists: existsSync, env: process.env, cwd: process.cwd() };
}

/** The command the user types to run tsftpd again (for the `pw` hints). */
function commandName(facts: StartupFacts): string {
  const realpathOf = (file: string): string | undefined => {
    try {
      return realpathSync(file);
    } catch {
      return undefined;
    }
  };
  const script = realpathOf(fileURLToPath(new URL('../main.js', import.meta.url))) ?? '';
  return adminCommand(facts, script, process.argv[1] ?? script, realpathOf);
}

/** Runs the FTP server; resolves with the exit code. */
/**
 * -3: certificates per SNI name from the certificate program, asked by this process (the one that
 * can read key files); SIGHUP forgets its answers and certificates along with the default's reload.
 */
function useCertd(tls: CertificateStore, config: Readonly<Config>, bus: EventBus): void {
  if (config.extCertSocket === undefined) return;
  const sni = new SniCertificates(config.extCertSocket, (level, message) =>
    bus.log(undefined, level, message),
  );
  tls.sniChooser = (name) => sni.choose(name);
  tls.onReload(() => sni.clear());
  bus.log(undefined, 'INFO', `TLS: certificates per server name from ${config.extCertSocket}`);
}

export async function runServer(argv: string[]): Promise<number> {
  const daemonChild = takeDaemonChildMark();
  const output = daemonChild ? daemonChildOutput() : terminalOutput();
  try {
    return await serve(argv, output, daemonChild);
  } catch (err) {
    output.err(`tsftpd: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await output.close();
  }
}

async function serve(argv: string[], output: StartupOutput, daemonChild: boolean): Promise<number> {
  // Before anything is printed: under inetd, standard output is the client's connection.
  const inetdStart = isInetdStart();
  let loaded;
  try {
    loaded = await loadConfig(argv);
    if ('config' in loaded) loaded = { config: await withDefaultFiles(loaded.config) };
  } catch (err) {
    if (err instanceof ConfigError) {
      if (inetdStart) return refuseInetd(err.message);
      output.err(err.message);
      return 2;
    }
    throw err;
  }
  if ('help' in loaded) {
    process.stdout.write(loaded.help);
    return 0;
  }
  if ('version' in loaded) {
    output.out(loaded.version);
    return 0;
  }
  const config = loaded.config;
  if (inetdStart || config.inetd) return serveInetd(config);
  const facts = machineFacts();
  if (config.daemonize && !daemonChild) {
    return runDaemonParent(
      argv,
      (pid) => `tsftpd: running in the background, pid ${pid}; ${backgroundLogText(config, facts)}`,
    );
  }
  // A configured feature whose native addon cannot load stops the start (docs/native.md).
  const native = await checkNativeParts(config);
  if (native.errors.length > 0) {
    for (const e of native.errors) output.err(`tsftpd: ${e}`);
    return 2;
  }

  const bus = new EventBus();
  const target = logTarget(config);
  attachLogger(bus, {
    format: config.logFormat,
    verbose: config.verboseLog,
    syslog:
      target.kind === 'stderr'
        ? undefined
        : { facility: target.facility, ident: 'tsftpd', logPid: config.logPid, socketPath: target.socket },
  });
  if (config.quickstart && config.anonymousRoot !== undefined) await preparePublic(config.anonymousRoot);
  let auth: AuthChain;
  try {
    auth = buildAuthChain(config, bus);
  } catch (err) {
    output.err(`tsftpd: ${(err as Error).message}`);
    return 2;
  }
  const anonymous = config.noAnonymous ? undefined : await resolveAnonymous(config.anonymousRoot);
  if (config.anonymousRoot !== undefined && anonymous === undefined && !config.noAnonymous) {
    output.err(`tsftpd: --anonymous-root ${config.anonymousRoot}: not a directory`);
    await auth.close();
    return 2;
  }
  // -O and -o: opened here, by the process that may write there; workers send their lines.
  const sinks = openOperationSinks(config, bus);
  if ('error' in sinks) {
    output.err(sinks.error);
    await auth.close();
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
      output.err(`tsftpd: -Y ${config.tls}: ${(err as Error).message}`);
      await auth.close();
      return 2;
    }
    tls.watchFiles();
    bus.log(undefined, 'INFO', `TLS certificate: ${tls.describe()}`);
    useCertd(tls, config, bus);
  }
  // Set once the server exists (a SIGHUP before that has nothing to reload).
  const live: { chosen?: Awaited<ReturnType<typeof serverFor>> } = {};
  // Handlers first: a SIGTERM right after the PID file appears must still stop cleanly and remove it.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      bus.log(undefined, 'INFO', `${signal} received, shutting down`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // SIGHUP reloads the certificate and the configuration without dropping a session
    // (docs/tls.md, reload.ts).
    // logrotate: SIGUSR1 (or SIGHUP) opens the transfer log again.
    process.on('SIGUSR1', () => sinks.reopen());
    process.on('SIGHUP', () => {
      sinks.reopen();
      void tls?.reload();
      void reloadConfig();
    });
  });
  let running = config;
  let reloading = false;
  const reloadConfig = async (): Promise<void> => {
    const chosen = live.chosen;
    if (reloading || chosen === undefined || 'error' in chosen) return;
    reloading = true;
    try {
      let next: Config;
      try {
        const r = await loadConfig(argv);
        if (!('config' in r)) return;
        next = await withDefaultFiles(r.config);
      } catch (err) {
        bus.log(undefined, 'ERROR', `SIGHUP: the configuration was not reloaded: ${(err as Error).message}`);
        return;
      }
      const { config: taken, needRestart } = reloadable(running, next);
      let nextAuth;
      try {
        nextAuth = buildAuthChain(taken, bus);
      } catch (err) {
        bus.log(undefined, 'ERROR', `SIGHUP: the configuration was not reloaded: ${(err as Error).message}`);
        return;
      }
      const nextAnonymous = taken.noAnonymous ? undefined : await resolveAnonymous(taken.anonymousRoot);
      const previous = auth;
      chosen.server.reconfigure({ config: taken, auth: nextAuth, anonymous: nextAnonymous });
      running = taken;
      auth = nextAuth;
      // Logins in flight finish with the chain they started with; then its pools close.
      setTimeout(() => void previous.close(), AUTH_RETIRE_MS).unref();
      bus.log(undefined, 'INFO', 'SIGHUP: configuration reloaded; new sessions use it');
      if (needRestart.length > 0) {
        bus.log(
          undefined,
          'WARNING',
          `SIGHUP: changes to ${needRestart.join(', ')} take effect at the next restart (kept as they were)`,
        );
      }
    } finally {
      reloading = false;
    }
  };
  // --state: the store every node shares (cluster/redis-state.ts); this node's memory otherwise.
  // (Loaded only then: a node without --state never loads the Redis client.)
  let shared: RedisStateStore | undefined;
  if (config.state !== undefined) {
    const { RedisStateStore: Store } = await import('../cluster/redis-state.js');
    shared = await Store.open(
      config.state,
      config.nodeName ?? Store.defaultNodeName(),
      config.ban,
      (level, message) => bus.log(undefined, level, message),
    );
  }
  const chosen = await serverFor(config, {
    state: shared,
    auth,
    anonymous,
    bus,
    tls,
    transfers: sinks.transfers,
    uploads: sinks.uploads,
  });
  live.chosen = chosen;
  if ('error' in chosen) {
    output.err(`tsftpd: ${chosen.error}`);
    tls?.close();
    await auth.close();
    return 2;
  }
  const server = chosen.server;
  const started = Date.now();
  const local =
    server instanceof Supervisor
      ? supervisorSource(server, config.metrics !== undefined)
      : singleProcessSource(server, bus, config.metrics !== undefined);
  const ops = shared === undefined ? local : clusterSource(local, shared);
  // Set once the server listens (stopAll may run before: a failed listen).
  let who: WhoSocketServer | undefined = undefined;
  let metrics: MetricsServer | undefined;
  // Closes the listeners that did open, the sessions (letting transfers in progress finish within
  // `graceMs`) and the auth chain.
  const stopAll = async (graceMs = 0): Promise<void> => {
    await Promise.all([who?.close(), metrics?.close()]);
    ops.close();
    await server.close(graceMs);
    await shared?.close();
    tls?.close();
  };
  let addresses: AddressInfo[];
  try {
    addresses = await server.listen();
  } catch (err) {
    output.err(listenFailure(config, err, facts));
    await stopAll();
    return 1;
  }
  if (config.pidFile !== undefined) {
    try {
      await writePidFile(config.pidFile);
    } catch (err) {
      const code = errnoCode(err) ?? '';
      const reason = PID_FILE_ERRORS[code] ?? (err as Error).message;
      output.err(`tsftpd: -g ${config.pidFile}: cannot write the PID file: ${reason}`);
      await stopAll();
      return 1;
    }
  }
  if (config.metrics !== undefined) {
    try {
      metrics = await MetricsServer.open(config.metrics, ops, {
        version: (await versionText()).replace(/^tsftpd /, ''),
        started,
        authFile: config.metricsAuth,
      });
    } catch (err) {
      const at = `${config.metrics.host}:${config.metrics.port}`;
      output.err(`tsftpd: --metrics ${at}: ${metricsFailure(err)}`);
      await stopAll();
      return 1;
    }
  }
  who = await WhoSocketServer.open(config.whoSocket, ops, started, (level, message) =>
    bus.log(undefined, level, message),
  );
  bus.log(undefined, 'INFO', `process model: ${chosen.mode}`);
  const confinement = await confinementNotice(config.weakJail);
  if (confinement !== undefined) bus.log(undefined, 'WARNING', confinement);
  for (const line of startupLines(config, addresses, anonymous?.root, facts)) output.out(line);
  output.out(`tsftpd: ${chosen.mode}`);
  if (metrics !== undefined) {
    const a = metrics.address;
    const base = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    output.out(`tsftpd: metrics at ${base}/metrics, status page at ${base}/status`);
  }
  if (who !== undefined) output.out(`tsftpd: session list for \`tsftpd who\` at ${who.path}`);
  const nativeOff = offLine(native);
  if (nativeOff !== undefined) output.out(`tsftpd: ${nativeOff}`);
  bus.log(undefined, 'INFO', `native addons: ${native.summary}`);
  await output.ready();
  // A daemon does not keep the directory it was started from busy (upstream §1.2 -B: chdir /); every
  // path of the configuration is already absolute.
  if (daemonChild) process.chdir('/');

  await stopped;
  await stopAll(DRAIN_MS);
  if (config.pidFile !== undefined) await unlink(config.pidFile).catch(() => undefined);
  return 0;
}

/**
 * inetd mode (upstream §1.1): serve the one connection on standard input in this process, then
 * exit. Logs go to syslog (facility ftp unless -f says otherwise) when standard error is the
 * client's connection, as inetd gives it; -c is not counted. Started as root, the process becomes
 * the account once it has logged in (ServerContext.becomeAccount), as Pure-FTPd's session does.
 */
async function serveInetd(config: Readonly<Config>): Promise<number> {
  const native = await checkNativeParts(config);
  if (native.errors.length > 0) return refuseInetd(native.errors.map((e) => `tsftpd: ${e}`).join('\n'));
  const bus = new EventBus();
  const facility = config.syslogFacility ?? (stderrIsClient() ? 'ftp' : 'none');
  attachLogger(bus, {
    format: config.logFormat,
    verbose: config.verboseLog,
    syslog:
      facility === 'none'
        ? undefined
        : {
            facility,
            ident: 'tsftpd',
            logPid: config.logPid,
            socketPath: config.syslogSocket,
            warn: stderrIsClient() ? () => undefined : undefined,
          },
    // Standard error may be the client's connection: then nothing but syslog is written.
    out: stderrIsClient() ? new Writable({ write: (_chunk, _enc, done) => done() }) : undefined,
  });
  let auth;
  try {
    auth = buildAuthChain(config, bus);
  } catch (err) {
    return refuseInetd(`tsftpd: ${(err as Error).message}`);
  }
  const anonymous = config.noAnonymous ? undefined : await resolveAnonymous(config.anonymousRoot);
  // Opened before the process becomes the account (root may write where the account may not).
  const sinks = openOperationSinks(config, bus);
  if ('error' in sinks) {
    await auth.close();
    return refuseInetd(sinks.error);
  }
  let tls: CertificateStore | undefined;
  if (config.tls > 0) {
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
      await auth.close();
      return refuseInetd(`tsftpd: -Y ${config.tls}: ${(err as Error).message}`);
    }
    useCertd(tls, config, bus);
  }
  const root = process.geteuid?.() === 0;
  const server = new FtpServer({
    config,
    auth,
    anonymous,
    bus,
    tls,
    becomeAccount: root
      ? (id) => {
          // Linux only (so always present here); the order matters: groups and gid need root.
          process.setgroups!([...id.groups]);
          process.setgid!(id.gid);
          process.setuid!(id.uid);
        }
      : undefined,
  });
  const socket = new net.Socket({ fd: 0, readable: true, writable: true });
  trackTitles(bus, undefined);
  // Each inetd session answers `tsftpd who` on a socket of its own, as each Pure-FTPd process has
  // its scoreboard file (a socket left behind once the session became the account is removed by who).
  const ops = singleProcessSource(server, bus, false);
  const who = await WhoSocketServer.open(config.whoSocket, ops, Date.now(), (level, message) =>
    bus.log(undefined, level, message),
  );
  await new Promise<void>((resolve) => server.adopt(socket, { implicitTls: false, onEnd: resolve }));
  await who?.close();
  tls?.close();
  await server.close();
  sinks.close();
  return 0;
}

/** How long SIGTERM lets transfers in progress finish (README "Processes"). */
const DRAIN_MS = 5000;

/** How many session workers serve: --workers, else one per CPU. */
export function workerCount(config: Readonly<Config>): number {
  return config.workers ?? Math.max(1, os.availableParallelism());
}

/**
 * The process model (docs/architecture.md "Processes"): started as root, a parent that parses no
 * FTP, session workers as the --run-as user and a storage broker per account identity; else several
 * session workers under this process, or every session in this one (one worker). Returns the
 * server and the line saying which model runs, or an error line.
 */
async function serverFor(
  config: Readonly<Config>,
  all: {
    auth: AuthChain;
    anonymous?: AnonymousAccount;
    bus: EventBus;
    tls?: CertificateStore;
    /** Where the workers' transfer-log lines go (-O). */
    transfers?: (lines: string[]) => void;
    /** Where the workers' upload records go (-o). */
    uploads?: (records: Buffer[]) => void;
    /** The shared store (--state); undefined: this node's memory. */
    state?: StateStore;
  },
): Promise<{ server: FtpServer | Supervisor; mode: string } | { error: string }> {
  const { transfers, uploads, ...services } = all;
  const workers = workerCount(config);
  const target = logTarget(config);
  const syslog = target.kind === 'stderr' ? undefined : syslogSender({ socketPath: target.socket });
  const plural = (n: number): string => `${n} session worker${n === 1 ? '' : 's'}`;
  const me = os.userInfo().username;
  if (process.geteuid?.() !== 0) {
    if (workers <= 1) {
      return { server: new FtpServer({ config, ...services }), mode: `one process as ${me} (not root)` };
    }
    return {
      server: new Supervisor({
        config,
        ...services,
        workers,
        syslog,
        transfers,
        uploads,
        ipv6Available: hostHasIpv6(),
      }),
      mode: `${plural(workers)} as ${me} (not root)`,
    };
  }
  const runAs = await resolveRunAs(config.runAs);
  if ('error' in runAs) return { error: runAs.error };
  try {
    await channelAddon();
  } catch (err) {
    // Without descriptor passing there are no brokers: one root process, per-thread identities.
    services.bus.log(undefined, 'WARNING', `storage brokers are off (${(err as Error).message})`);
    return {
      server: new FtpServer({ config, ...services }),
      mode: 'one process as root (storage brokers are off: the tsftpd_channel addon is missing); every file operation runs with the account identity',
    };
  }
  return {
    server: new Supervisor({
      config,
      ...services,
      workers,
      runAs,
      syslog,
      transfers,
      uploads,
      ipv6Available: hostHasIpv6(),
    }),
    mode: `${plural(workers)} as ${runAs.name}; each account's files are opened by a storage process with its own uid, gid and groups`,
  };
}

/** Why the metrics listener could not be opened. */
function metricsFailure(err: unknown): string {
  switch (errnoCode(err)) {
    case 'EADDRINUSE':
      return 'the port is already in use';
    case 'EACCES':
      return 'permission denied (ports below 1024 need root)';
    case 'EADDRNOTAVAIL':
      return 'no such address on this machine';
    default:
      return (err as Error).message;
  }
}

/** The line for a listener that could not be opened, with what to do about it. */
function listenFailure(config: Readonly<Config>, err: unknown, facts: StartupFacts): string {
  const e = err as { address?: string; port?: number; message?: string };
  const port = e.port ?? config.bind.port;
  const where = placeText(config, e.address ?? config.bind.host, port);
  switch (errnoCode(err)) {
    case 'EACCES':
      return `tsftpd: cannot listen on ${where}: permission denied (ports below 1024 need root; try -S 2121)`;
    case 'EADDRINUSE':
      return `tsftpd: cannot listen on ${where}: the port is already in use; ${otherPortHint(config, port, facts.env)}`;
    case 'EADDRNOTAVAIL':
      return `tsftpd: cannot listen on ${where}: no such address on this machine`;
    default:
      return `tsftpd: cannot listen on ${where}: ${e.message ?? String(err)}`;
  }
}

/** What the server prints once it listens: one line per listener, then the users (and how to add one). */
function startupLines(
  config: Readonly<Config>,
  addresses: readonly AddressInfo[],
  anonymousRoot: string | undefined,
  facts: StartupFacts,
): string[] {
  const anonText = anonymousRoot !== undefined ? `anonymous read-only: ${anonymousRoot}` : 'anonymous: off';
  const [main, ...implicit] = addresses;
  const lines = [
    `tsftpd: serving FTP on ${listenerText(config, main ?? { address: '::', port: config.bind.port }, 'ftp')} (${anonText})`,
    // The implicit-TLS listeners follow the main one (server.listen order); port 0 shows the real port.
    ...implicit.map((a) => `tsftpd: serving implicit FTPS on ${listenerText(config, a, 'ftps')}`),
  ];
  const command = commandName(facts);
  const users = defaultUserFiles(config.quickstart, facts.env);
  lines.push(`tsftpd: ${usersText(config, users.pdb, command, facts)}`);
  if (config.quickstart) {
    const uid = process.geteuid?.();
    const ids = uid === undefined ? undefined : { uid, gid: process.getegid?.() ?? uid };
    const [intro = '', example = ''] = addUserText(
      command,
      config.passwdFile ?? users.passwd,
      facts.cwd,
      ids,
    );
    lines.push(`tsftpd: ${intro}`, example);
  }
  return lines;
}
