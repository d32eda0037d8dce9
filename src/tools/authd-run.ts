/**
 * One exchange of a socket helper — pure-authd (upstream §3.5) or pure-certd (§10): read the request
 * up to its `end` line, run the program with the request as environment variables, relay its
 * standard output verbatim. Guarantees: the request is bounded in size and time; the program runs
 * without a shell, with its own process group, under the configured uid/gid, and is killed (by PID,
 * whole group) when it outlives its timeout; at most the protocol's reply bound is relayed; an
 * incomplete request never runs the program.
 */
import { spawn } from 'node:child_process';
import type net from 'node:net';
import {
  EXTAUTH_MAX_REPLY,
  EXTAUTH_MAX_REQUEST,
  parseRequest,
  type ExtAuthRequest,
} from '../auth/backends/extauth-protocol.js';

/** What differs between pure-authd and pure-certd: the request and the program's environment. */
export interface HelperProtocol<R> {
  /** `authd` or `certd` (logs, usage). */
  name: string;
  /** The request once complete, undefined while its `end` line has not arrived. */
  parse(text: string): R | undefined;
  /** Largest request read. */
  maxRequest: number;
  /** Largest answer relayed. */
  maxReply: number;
  /** The program's environment for one request, on top of ours. */
  env(request: R, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

/** How programs are run. */
export interface AuthProgramOptions {
  /** Absolute path of the program (run without arguments, as pure-authd does). */
  program: string;
  uid?: number;
  gid?: number;
  /** Bound of one program run, in ms. */
  timeoutMs: number;
  /** Bound of reading the request, in ms. */
  requestTimeoutMs: number;
  /** Operator messages (never the password). */
  log: (message: string) => void;
  /** Running programs, so a shutdown can kill them by PID. */
  running: Set<number>;
}

/** Reads the request; undefined when the peer stops, sends too much or is too slow. */
export function readRequest<R>(
  socket: net.Socket,
  timeoutMs: number,
  protocol: HelperProtocol<R>,
): Promise<R | undefined> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    const done = (r: R | undefined): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > protocol.maxRequest) return done(undefined);
      const request = protocol.parse(buffer.toString('utf8'));
      if (request !== undefined) done(request);
    };
    const onEnd = (): void => done(undefined);
    const timer = setTimeout(onEnd, timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  });
}

/** pure-authd's environment: the server's values, unescaped, on top of our own environment. */
export function programEnv(r: ExtAuthRequest, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    AUTHD_ACCOUNT: r.account,
    AUTHD_PASSWORD: r.password,
    AUTHD_LOCAL_IP: r.localIp,
    AUTHD_LOCAL_PORT: r.localPort,
    AUTHD_REMOTE_IP: r.remoteIp,
    AUTHD_ENCRYPTED: r.encrypted,
    AUTHD_CLIENT_SNI_NAME: r.sniName,
  };
}

/** Kills the program's process group (it leads one), or the program alone if that fails. */
function kill(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** pure-authd's protocol (the `-l extauth:` backend's requests). */
export const AUTHD_PROTOCOL: HelperProtocol<ExtAuthRequest> = {
  name: 'authd',
  parse: parseRequest,
  maxRequest: EXTAUTH_MAX_REQUEST,
  maxReply: EXTAUTH_MAX_REPLY,
  env: programEnv,
};

/** Runs the program for one request, writing its output to `socket`; resolves when it is over. */
export function runProgram<R>(
  socket: net.Socket,
  request: R,
  protocol: HelperProtocol<R>,
  opts: AuthProgramOptions,
): Promise<void> {
  const name = protocol.name;
  return new Promise((resolve) => {
    const child = spawn(opts.program, [], {
      env: protocol.env(request, process.env),
      stdio: ['ignore', 'pipe', 'inherit'],
      uid: opts.uid,
      gid: opts.gid,
      detached: true, // its own process group, so a timeout also stops what it started
    });
    const pid = child.pid;
    let relayed = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (pid !== undefined) opts.running.delete(pid);
      child.stdout?.destroy();
      socket.end();
      resolve();
    };
    const timer = setTimeout(() => {
      opts.log(`${name}: ${opts.program} did not finish within ${opts.timeoutMs} ms; killed (pid ${pid})`);
      if (pid !== undefined) kill(pid);
      finish();
    }, opts.timeoutMs);
    if (pid !== undefined) opts.running.add(pid);
    child.on('error', (err: NodeJS.ErrnoException) => {
      opts.log(`${name}: cannot run ${opts.program}: ${err.code ?? err.message}`);
      finish();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      const room = protocol.maxReply - relayed;
      if (room <= 0 || socket.destroyed) return; // keep draining so the program never blocks on a full pipe
      const part = chunk.subarray(0, room);
      relayed += part.length;
      socket.write(part);
    });
    child.on('close', (code, signal) => {
      if (code !== 0 && !settled) opts.log(`${name}: ${opts.program} exited with ${signal ?? code}`);
      finish();
    });
  });
}
