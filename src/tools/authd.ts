/**
 * `tsftpd authd -s SOCKET -r PROGRAM [-u uid] [-g gid] [-B] [-p pidfile]`: pure-authd (upstream §3.5),
 * and the same for `tsftpd certd` (pure-certd, §10; src/tools/certd.ts gives its protocol).
 * Listens on a UNIX socket created mode 0600, and for each request (of the `-l extauth:` backend,
 * or of -3's handshakes) runs PROGRAM with the request as environment and relays its answer. Guarantees: the socket is never
 * reachable by other users, not even between bind and chmod (umask 077 around the bind); only a
 * stale socket is ever unlinked at start-up; at most MAX_RUNNING programs run at once and at most
 * MAX_CONNECTIONS requests wait; every wait is bounded; on SIGTERM/SIGINT the running programs
 * are killed by PID and the socket and PID file removed. Existing pure-authd programs work as is.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { getopt } from './getopt.js';
import {
  AUTHD_PROTOCOL,
  readRequest,
  runProgram,
  type AuthProgramOptions,
  type HelperProtocol,
} from './authd-run.js';
import type { StartupOutput } from '../server/daemon.js';
import { resolveId, runHelper, writePidFile } from './helper-process.js';

/** Programs run at once; pure-authd runs one, a few more keep logins flowing behind a slow one. */
const MAX_RUNNING = 4;
/** Connections accepted at once (running + waiting); more are refused by the kernel backlog. */
const MAX_CONNECTIONS = 64;
/** Default program timeout: below the extauth client's 10 s deadline. */
const DEFAULT_TIMEOUT_S = 8;
/** The default PID file (pure-authd's, pure-certd's), written when daemonized without -p. */
const defaultPidFile = (name: string): string => `/var/run/pure-${name}.pid`;

const usage = (
  name: string,
): string => `Usage: tsftpd ${name} -s <socket> -r <program> [-u <uid>] [-g <gid>] [-B] [-p <pidfile>] [-t <seconds>]
  -s  UNIX socket to create (mode 0600)      -r  program to run for each request
  -u  run the program as this uid/user       -g  run the program as this gid/group
  -B  run in the background                  -p  PID file (default with -B: ${defaultPidFile(name)})
  -t  kill the program after this many seconds (tsftpd extension, default ${DEFAULT_TIMEOUT_S})
`;

/** Parsed command line. */
interface AuthdOptions {
  socket: string;
  program: string;
  uid?: number;
  gid?: number;
  daemonize: boolean;
  pidFile?: string;
  timeoutMs: number;
}

/** Parses the command line; a string is an error message for the user. */
async function parseAuthdArgs(argv: readonly string[], cwd = process.cwd()): Promise<AuthdOptions | string> {
  const { items, operands } = getopt(argv, 's:r:u:g:Bp:t:h');
  const o: Partial<AuthdOptions> = { daemonize: false, timeoutMs: DEFAULT_TIMEOUT_S * 1000 };
  for (const item of items) {
    if (item.kind === 'error') return item.message;
    const v = item.value ?? '';
    switch (item.option) {
      case 's': o.socket = path.resolve(cwd, v); break;
      case 'r': o.program = path.resolve(cwd, v); break;
      case 'B': o.daemonize = true; break;
      case 'p': o.pidFile = path.resolve(cwd, v); break;
      case 'h': return 'help';
      case 't': {
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 3600) return `-t: expected seconds (1-3600), got "${v}"`;
        o.timeoutMs = Number(v) * 1000;
        break;
      }
      case 'u':
      case 'g': {
        const kind = item.option === 'u' ? 'user' : 'group';
        const id = await resolveId(v, kind);
        if (id === undefined) return `-${item.option}: unknown ${kind} "${v}"`;
        if (item.option === 'u') o.uid = id;
        else o.gid = id;
        break;
      }
    }
  } // prettier-ignore
  if (operands.length > 0) return `unexpected argument "${operands[0]}"`;
  if (o.socket === undefined || o.program === undefined)
    return 'both -s <socket> and -r <program> are required';
  return o as AuthdOptions;
}

/** Removes a socket left by a previous run; anything else at that path is an error. */
async function clearStaleSocket(file: string): Promise<void> {
  const st = await lstat(file).catch(() => undefined);
  if (st === undefined) return;
  if (!st.isSocket()) throw new Error(`${file} exists and is not a socket; not touching it`);
  await unlink(file);
}

/** Listens on the socket with umask 077 so that it is born private, then makes it exactly 0600. */
async function listen(server: net.Server, socketPath: string): Promise<void> {
  const old = process.umask(0o077);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  await chmod(socketPath, 0o600);
}

/**
 * Serves until SIGTERM/SIGINT; resolves with the exit code. Start-up failures go to `output`, which
 * is the waiting parent under -B; `output.ready()` once the socket and the PID file exist.
 */
async function runHelperDaemon<R>(
  o: AuthdOptions,
  protocol: HelperProtocol<R>,
  log: (m: string) => void,
  output: StartupOutput,
): Promise<number> {
  const name = protocol.name;
  const pidFile = o.pidFile ?? (o.daemonize ? defaultPidFile(name) : undefined);
  if (o.uid !== undefined && o.gid === undefined) log(`${name}: -u without -g: the program keeps our group`);
  const running = new Set<number>();
  const runOpts: AuthProgramOptions = { ...o, requestTimeoutMs: 5000, log, running };
  let active = 0;
  const waiting: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // a client gone mid-answer is not our failure
    void (async () => {
      const request = await readRequest(socket, runOpts.requestTimeoutMs, protocol);
      if (request === undefined) return void socket.destroy();
      if (active >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
      try {
        if (!socket.destroyed) await runProgram(socket, request, protocol, runOpts);
      } finally {
        active--;
        waiting.shift()?.();
      }
    })();
  });
  server.maxConnections = MAX_CONNECTIONS;
  // Handlers first: a SIGTERM right after the PID file appears must still clean up.
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const unhook = (): void => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  };
  try {
    await clearStaleSocket(o.socket);
    await listen(server, o.socket);
    if (pidFile !== undefined) await writePidFile(pidFile);
  } catch (err) {
    output.err(`tsftpd ${name}: ${(err as Error).message}`);
    unhook();
    server.close();
    return 1;
  }
  log(`${name}: listening on ${o.socket}, running ${o.program}`);
  await output.ready();
  await stopped;
  unhook();
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  server.close();
  for (const socket of sockets) socket.destroy();
  await unlink(o.socket).catch(() => undefined);
  if (pidFile !== undefined) await unlink(pidFile).catch(() => undefined);
  return 0;
}

/** `tsftpd authd|certd ...`: parses the command line and serves the protocol until stopped. */
export async function helperMain<R>(protocol: HelperProtocol<R>, argv: string[]): Promise<number> {
  const name = protocol.name;
  const parsed = await parseAuthdArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(usage(name));
    return 0;
  }
  if (typeof parsed === 'string') {
    process.stderr.write(`tsftpd ${name}: ${parsed}\n${usage(name)}`);
    return 2;
  }
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  // Waits until the helper listens, and returns its failure (as the server's -B does).
  return runHelper(name, argv, parsed.daemonize, (output) => runHelperDaemon(parsed, protocol, log, output));
}

/** `tsftpd authd ...` entry point. */
export function main(argv: string[]): Promise<number> {
  return helperMain(AUTHD_PROTOCOL, argv);
}
