/**
 * What the server prints when it starts or cannot start: where it listens (as URLs a client can use),
 * where its users come from, how to add one, how to pick another port, where the logs go. Pure
 * functions of the configuration and of a few facts about the machine, so each message is unit-tested.
 */
import path from 'node:path';
import type { AuthMethod, Config } from '../config/types.js';

/** One listening socket, as `net.Server.address()` gives it. */
export interface ListenerAddress {
  address: string;
  port: number;
}

/** Facts about the machine the messages depend on (real ones in run.ts, made-up ones in tests). */
export interface StartupFacts {
  /** Whether a file exists. */
  exists(file: string): boolean;
  /** The environment (npm sets npm_command, PATH finds a global install). */
  env: NodeJS.ProcessEnv;
  /** The working directory. */
  cwd: string;
}

/** `[::1]` for IPv6 literals, the address itself otherwise. */
function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** True for an address that means "every address" (`::`, `0.0.0.0`). */
function isWildcard(address: string | undefined): boolean {
  return address === undefined || address === '::' || address === '0.0.0.0';
}

/** `every IPv4 and IPv6 address` / `every IPv4 address` / `every IPv6 address` for a wildcard bind. */
function everyAddress(config: Readonly<Config>, address: string | undefined): string {
  if (address === '0.0.0.0' || config.ipv4Only) return 'every IPv4 address';
  return config.ipv6Only ? 'every IPv6 address' : 'every IPv4 and IPv6 address';
}

/**
 * Where a listener is, as a URL a client can open: `ftp://127.0.0.1:2121`, or for a wildcard bind
 * `port 2121 of every IPv4 and IPv6 address, e.g. ftp://127.0.0.1:2121` (the loopback URL works here).
 */
export function listenerText(config: Readonly<Config>, a: ListenerAddress, scheme: 'ftp' | 'ftps'): string {
  if (!isWildcard(a.address)) return `${scheme}://${hostForUrl(a.address)}:${a.port}`;
  const v6only = config.ipv6Only && a.address !== '0.0.0.0';
  const local = v6only ? '[::1]' : '127.0.0.1';
  return `port ${a.port} of ${everyAddress(config, a.address)}, e.g. ${scheme}://${local}:${a.port}`;
}

/** A place that could not be listened on: `127.0.0.1 port 2121` or `port 21 (every IPv4 and IPv6 address)`. */
export function placeText(config: Readonly<Config>, address: string | undefined, port: number): string {
  if (isWildcard(address)) return `port ${port} (${everyAddress(config, address)})`;
  return `${address} port ${port}`;
}

/**
 * How to pick another port after EADDRINUSE: `npm start -- -S 2122` under `npm start`, else the
 * switch itself, keeping the address when one was given.
 */
export function otherPortHint(config: Readonly<Config>, port: number, env: NodeJS.ProcessEnv): string {
  const next = port >= 65535 ? 2121 : port + 1;
  const host = config.bind.host;
  const value = host === undefined ? `${next}` : `${host},${next}`;
  if (env.npm_lifecycle_event === 'start') return `choose another port with: npm start -- -S ${value}`;
  return `choose another port with -S ${value}`;
}

/** `puredb:/etc/pure-ftpd/pureftpd.pdb`, `pam`, `pam:ftp`, `unix`: one `-l` entry as written. */
export function authLabel(m: AuthMethod): string {
  return m.arg === undefined || m.arg === '' ? m.method : `${m.method}:${m.arg}`;
}

/**
 * Where the accounts come from, for the start-up line: the `-l` chain, the default `.pdb` when it is
 * used (no `-l`) and exists, the `--passwd-file`. Missing files are marked, and with no source at
 * all the default `.pdb` is named with the command that creates it.
 */
export function usersText(
  config: Readonly<Config>,
  defaultPdb: string,
  command: string,
  facts: Pick<StartupFacts, 'exists'>,
): string {
  const sources = config.auth.map((m) => {
    const missing = m.method === 'puredb' && m.arg !== undefined && !facts.exists(m.arg);
    // build.ts logs the warning with the command that creates it.
    return missing ? `${authLabel(m)} (missing)` : authLabel(m);
  });
  if (config.auth.length === 0 && facts.exists(defaultPdb)) sources.push(defaultPdb);
  if (config.passwdFile !== undefined) {
    sources.push(config.passwdFile + (facts.exists(config.passwdFile) ? '' : ' (not created yet)'));
  }
  if (sources.length === 0) {
    return `users: none yet (${defaultPdb} does not exist; ${command} pw useradd ... -m creates it)`;
  }
  return `users: ${sources.join(', ')}`;
}

/**
 * The command that runs tsftpd the way the user can type it again: `npx tsftpd` when npm started
 * us (`npm start`, `npx`), `tsftpd` when the `tsftpd` found on PATH is this very program (a global
 * install), else the path that was run (`node /path/to/dist/src/main.js`).
 */
export function adminCommand(
  facts: StartupFacts,
  script: string,
  argv1: string,
  realpathOf: (file: string) => string | undefined,
): string {
  if (facts.env.npm_command !== undefined) return 'npx tsftpd';
  for (const dir of (facts.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '' || !path.isAbsolute(dir)) continue;
    if (realpathOf(path.join(dir, 'tsftpd')) === script) return 'tsftpd';
  }
  const shown = (file: string): string => {
    const rel = path.relative(facts.cwd, file);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
  };
  return argv1.endsWith('.js') ? `node ${shown(script)}` : shown(argv1);
}

/** The quickstart lines: the command that adds a first user, whose home is made at first login. */
export function addUserText(
  command: string,
  passwdFile: string,
  cwd: string,
  ids: { uid: number; gid: number } | undefined,
): string[] {
  // uid 0 is refused for virtual users (upstream §3.1): as root, suggest nobody's ids.
  const owner = ids === undefined || ids.uid === 0 ? '-u nobody' : `-u ${ids.uid} -g ${ids.gid}`;
  return [
    'add a user (the password is asked twice; the home is created at first login, -j):',
    `  ${command} pw useradd joe ${owner} -d ${path.join(cwd, 'home', 'joe')} -f ${passwdFile}`,
  ];
}

/** Where the log lines go: syslog (-f, or by default in the background) or standard error. */
export type LogTarget = { kind: 'syslog'; facility: string; socket: string } | { kind: 'stderr' };

/**
 * The log destination. In the background (-B) standard error is /dev/null, so without -f the logs
 * go to syslog with Pure-FTPd's default facility, ftp; `-f none` keeps standard error.
 */
export function logTarget(config: Readonly<Config>): LogTarget {
  const facility = config.syslogFacility ?? (config.daemonize ? 'ftp' : 'none');
  return facility === 'none' ? { kind: 'stderr' } : { kind: 'syslog', facility, socket: config.syslogSocket };
}

/** The end of the `-B` line: where the background server's logs go, and a warning if nowhere. */
export function backgroundLogText(config: Readonly<Config>, facts: Pick<StartupFacts, 'exists'>): string {
  const target = logTarget(config);
  if (target.kind === 'stderr')
    return 'logs are discarded (-f none: standard error is /dev/null in the background)';
  const where = `logs go to syslog (facility ${target.facility}, ${target.socket})`;
  if (facts.exists(target.socket)) return where;
  return `${where}, but ${target.socket} does not exist: log lines are lost until a syslog daemon creates it`;
}
