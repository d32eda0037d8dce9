/**
 * Starting and stopping the servers under test: tsftpd (this package, as a child process with the
 * event-loop monitor preloaded) and the real Pure-FTPd (standalone, foreground, virtual user from a
 * .pdb). Both get the same account (same SHA-512 crypt hash), the same data root, loopback only.
 */
import { type ChildProcess } from 'node:child_process';
import { access, open, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FtpControl } from './ftp-client.js';
import type { LoopReport } from './loop-monitor.js';
import { killTree, processTree, spawnWithFileLimit, treeUsage, type TreeUsage } from './proc.js';
import { run } from './exec.js';

/** The servers the benchmark knows. */
export type ServerKind = 'tsftpd' | 'pureftpd';

/** Display names. */
export const SERVER_NAMES: Record<ServerKind, string> = { tsftpd: 'tsftpd', pureftpd: 'Pure-FTPd' };

/** Where Debian installs Pure-FTPd. */
export const PURE_FTPD = '/usr/sbin/pure-ftpd';
/** Where Debian installs pure-pw. */
export const PURE_PW = '/usr/bin/pure-pw';

/** The benchmark account, identical for both servers. */
export interface Account {
  user: string;
  password: string;
  uid: number;
  gid: number;
  /** Real path of the data root (the account's chroot). */
  home: string;
}

/** Files shared by every server start of one benchmark run. */
export interface ServerEnv {
  workDir: string;
  account: Account;
  /** tsftpd's passwd file and Pure-FTPd's .pdb (undefined when pure-pw is missing). */
  passwdFile: string;
  pdbFile: string | undefined;
  nofile: number;
  /** Most entries a listing may return (both servers' -L). */
  listMax: number;
  /** tsftpd's main.js (a snapshot of .build/src, see snapshot.ts). */
  tsftpdMain: string;
  /** Start tsftpd with these ids (a plain user) instead of the benchmark's own. */
  tsftpdIds?: { uid: number; gid: number };
  /** Certificate and key in one PEM file, for servers started with TLS (see makeTlsBundle). */
  tlsBundle?: string;
  /** tsftpd's --state (a Redis URL): limits and the session list shared through Redis. */
  state?: string;
}

/** A server started for one group of measurements. */
export interface RunningServer {
  kind: ServerKind;
  host: string;
  port: number;
  pid: number;
  /** Memory and CPU of all its processes. */
  usage(): Promise<TreeUsage>;
  /** tsftpd only: event-loop delay since the previous call. */
  loopReport(): Promise<LoopReport | undefined>;
  stop(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The compiled tree holding this bench (.build/, from tsconfig.test.json). */
const distDir = path.resolve(here, '..');

/** True when Pure-FTPd and pure-pw are installed. */
export async function pureFtpdInstalled(): Promise<boolean> {
  return access(PURE_FTPD).then(
    () =>
      access(PURE_PW).then(
        () => true,
        () => false,
      ),
    () => false,
  );
}

/** Writes the account in pureftpd.passwd format for tsftpd and, when possible, a .pdb for Pure-FTPd. */
export async function writeAccounts(
  workDir: string,
  account: Account,
  withPdb: boolean,
): Promise<{ passwdFile: string; pdbFile: string | undefined }> {
  // `--`: a random password may start with `-`, which openssl would read as an option.
  const { stdout } = await run('openssl', ['passwd', '-6', '--', account.password]);
  const hash = stdout.trim();
  if (!hash.startsWith('$6$')) throw new Error('openssl passwd -6 did not return a SHA-512 crypt hash');
  const line = `${account.user}:${hash}:${account.uid}:${account.gid}::${account.home}/./::::::::::::\n`;
  const passwdFile = path.join(workDir, 'pureftpd.passwd');
  await writeFile(passwdFile, line, { mode: 0o600 });
  if (!withPdb) return { passwdFile, pdbFile: undefined };
  const pdbFile = path.join(workDir, 'pureftpd.pdb');
  await run(PURE_PW, ['mkdb', pdbFile, '-f', passwdFile]);
  return { passwdFile, pdbFile };
}

/** A free TCP port on 127.0.0.1 above the passive range and the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 61000 + Math.floor(Math.random() * 4000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: '127.0.0.1', port }, () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 61000-64999');
}

async function waitReady(child: ChildProcess, port: number, log: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const ftp = await FtpControl.open('127.0.0.1', port, 2000);
      await ftp.quit();
      return;
    } catch {
      await sleep(50);
    }
  }
  const text = await readFile(log, 'utf8').catch(() => '');
  throw new Error(`server did not start on port ${port}: ${text.split('\n').slice(-5).join(' | ')}`);
}

/**
 * Makes a self-signed certificate and its key (RSA 2048, CN=localhost, 2 days) in one PEM file, the
 * form both servers take with `-2 FILE`; mode 0600 (Pure-FTPd reads it as root before dropping).
 */
export async function makeTlsBundle(workDir: string): Promise<string> {
  const key = path.join(workDir, 'tls-key.pem');
  const cert = path.join(workDir, 'tls-cert.pem');
  const subject = ['-subj', '/CN=localhost', '-days', '2'];
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    ...subject,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  const bundle = path.join(workDir, 'tls-bundle.pem');
  const pem = (await readFile(cert, 'utf8')) + (await readFile(key, 'utf8'));
  await writeFile(bundle, pem, { mode: 0o600 });
  await Promise.all([rm(key, { force: true }), rm(cert, { force: true })]);
  return bundle;
}

/** Options of one server start. */
export interface StartOptions {
  /** tsftpd only: write a V8 CPU profile into this directory at exit. */
  profileDir?: string;
  /** Explicit FTPS allowed (`-Y 1 -2 env.tlsBundle`): AUTH TLS optional, as plain FTP still works. */
  tls?: boolean;
  /** Authentication switches replacing the default ones (--passwd-file for tsftpd, -l puredb: for Pure-FTPd). */
  auth?: string[];
}

/** The session workers of a tsftpd started as `pid` (their process title names them). */
async function sessionWorkers(pid: number): Promise<number[]> {
  const tree = await processTree(pid);
  const out: number[] = [];
  for (const p of tree) {
    if (p.pid === pid) continue;
    const cmdline = await readFile(`/proc/${p.pid}/cmdline`, 'latin1').catch(() => '');
    if (cmdline.startsWith('tsftpd: worker')) out.push(p.pid);
  }
  return out;
}

/** Starts a server of the given kind on a fresh port and waits for its greeting. */
export async function startServer(
  kind: ServerKind,
  env: ServerEnv,
  opts: StartOptions = {},
): Promise<RunningServer> {
  const port = await freePort();
  const log = path.join(env.workDir, `${kind}-${port}.log`);
  const logFile = await open(log, 'a');
  const loopFile = path.join(env.workDir, `loop-${port}.json`);
  const common = [
    '-S',
    `127.0.0.1,${port}`,
    '-p',
    '20000:60000',
    '-c',
    '20000',
    '-E',
    '-H',
    '-L',
    `${env.listMax}:5`,
  ];
  if (opts.tls) {
    if (env.tlsBundle === undefined) throw new Error('TLS requested without a certificate bundle');
    common.push('-Y', '1', '-2', env.tlsBundle);
  }
  let child: ChildProcess;
  if (kind === 'tsftpd') {
    const prof = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
    const preload = pathToFileURL(path.join(distDir, 'bench', 'loop-monitor.js')).href;
    const auth = opts.auth ?? ['--passwd-file', env.passwdFile];
    const shared = env.state === undefined ? [] : ['--state', env.state, '--node-name', `bench-${port}`];
    const args = [...prof, '--import', preload, env.tsftpdMain, ...common, ...auth, ...shared];
    const childEnv = {
      ...process.env,
      TSFTPD_BENCH_LOOP_FILE: loopFile,
      // Keep the default /etc/pure-ftpd/pureftpd.pdb out of the chain: only the passwd file counts.
      PURE_DBFILE: path.join(env.workDir, 'none.pdb'),
    };
    child = spawnWithFileLimit(
      env.nofile,
      process.execPath,
      args,
      ['ignore', logFile.fd, logFile.fd],
      childEnv,
      env.tsftpdIds,
    );
  } else {
    if (env.pdbFile === undefined && !opts.auth) throw new Error('Pure-FTPd needs pure-pw to build its .pdb');
    const args = [...common, '-C', '20000', ...(opts.auth ?? ['-l', `puredb:${env.pdbFile}`])];
    child = spawnWithFileLimit(env.nofile, PURE_FTPD, args, ['ignore', logFile.fd, logFile.fd]);
  }
  await logFile.close();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${kind}`);
  try {
    await waitReady(child, port, log);
    // One login before measuring: loads the account file and the hash code, like any warm server.
    const first = await FtpControl.login('127.0.0.1', port, env.account.user, env.account.password, 10_000);
    await first.quit();
  } catch (err) {
    await killTree(child, 1000);
    throw err;
  }
  const seqs = new Map<number, number>();
  /** One process's next report (SIGUSR2, then its file shows a higher sequence number). */
  const reportOf = async (target: number, file: string): Promise<LoopReport | undefined> => {
    try {
      process.kill(target, 'SIGUSR2');
    } catch {
      return undefined; // gone meanwhile
    }
    for (let i = 0; i < 100; i++) {
      const r = await readFile(file, 'utf8').then(
        (text) => JSON.parse(text) as LoopReport,
        () => undefined,
      );
      if (r && r.seq > (seqs.get(target) ?? 0)) {
        seqs.set(target, r.seq);
        return r;
      }
      await sleep(20);
    }
    return undefined;
  };
  // The server and each of its session workers (they inherit the preload); the worst of them counts.
  const loopReport = async (): Promise<LoopReport | undefined> => {
    if (kind !== 'tsftpd') return undefined;
    const workers = await sessionWorkers(pid);
    const reports = await Promise.all([
      reportOf(pid, loopFile),
      ...workers.map((w) => reportOf(w, `${loopFile}.${w}`)),
    ]);
    const got = reports.filter((r): r is LoopReport => r !== undefined);
    if (got.length === 0) return undefined;
    return {
      seq: Math.max(...got.map((r) => r.seq)),
      p50Ms: Math.max(...got.map((r) => r.p50Ms)),
      p99Ms: Math.max(...got.map((r) => r.p99Ms)),
      maxMs: Math.max(...got.map((r) => r.maxMs)),
      samples: got.reduce((a, r) => a + r.samples, 0),
    };
  };
  return {
    kind,
    host: '127.0.0.1',
    port,
    pid,
    usage: () => treeUsage(pid),
    loopReport,
    stop: async () => {
      // A profiled tsftpd writes its profile on a clean exit: give it time before SIGKILL.
      await killTree(child, opts.profileDir ? 30_000 : 5000);
    },
  };
}
