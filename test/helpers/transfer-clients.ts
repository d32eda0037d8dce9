/**
 * Runners for the external FTP clients of the data-path tests (curl, lftp, Python ftplib) and a
 * few raw data-channel helpers. Every child process is bounded by a timeout and killed with it;
 * a missing tool skips the test with the reason, except under CI=true where it fails.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { readdirSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { isCi } from './ci.js';
import { findTool } from './clients.js';
import type { RawFtp } from './raw.js';

/** What a finished child process left behind. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without a shell; resolves when it exits (killed after timeoutMs). */
export function runProgram(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, LC_ALL: 'C', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** True when a program is on the PATH. */
export function hasTool(name: string): boolean {
  return findTool(name) !== undefined;
}

/**
 * Returns false (and marks the test skipped with the reason) when a tool is missing; under CI=true
 * a missing tool is a failure, so the CI machine can never silently skip a client.
 */
export function requireTool(t: TestContext, name: string): boolean {
  if (hasTool(name)) return true;
  if (isCi()) throw new Error(`${name} is required under CI=true but is not installed`);
  t.skip(`${name} is not installed on this machine`);
  return false;
}

/**
 * For a part of a test that needs a tool: false (with a diagnostic) when it is missing, so the rest
 * of the test still runs; under CI=true a missing tool is a failure.
 */
export function haveTool(t: TestContext, name: string): boolean {
  if (hasTool(name)) return true;
  if (isCi()) throw new Error(`${name} is required under CI=true but is not installed`);
  t.diagnostic(`part skipped: ${name} is not installed on this machine`);
  return false;
}

/** Runs curl with quiet, bounded defaults (no config file, no proxy, short timeouts). */
export function curl(args: readonly string[], timeoutMs = 20000): Promise<RunResult> {
  return runProgram(
    'curl',
    ['-q', '-sS', '--noproxy', '*', '--connect-timeout', '5', '--max-time', '20', ...args],
    {
      timeoutMs,
    },
  );
}

/** Runs an lftp script against a server (user joe by default), with retries off and short timeouts. */
export function lftp(
  port: number,
  commands: string,
  opts: { host?: string; user?: string; password?: string; cwd?: string; passive?: boolean } = {},
): Promise<RunResult> {
  const host = opts.host ?? '127.0.0.1';
  const user = opts.user ?? 'joe';
  const password = opts.password ?? 'secret';
  const script = [
    'set cmd:interactive false',
    'set net:max-retries 1',
    'set net:reconnect-interval-base 1',
    'set net:timeout 10',
    'set ftp:ssl-allow false',
    `set ftp:passive-mode ${opts.passive === false ? 'off' : 'on'}`,
    'set ftp:prefer-epsv false',
    'set xfer:clobber true',
    `open -u ${user},${password} -p ${port} ${host.includes(':') ? `[${host}]` : host}`,
    commands,
  ].join('; ');
  return runProgram('lftp', ['-c', script], { cwd: opts.cwd, timeoutMs: 30000, env: { HOME: opts.cwd } });
}

/** Runs a Python 3 script; `PORT` and `HOST` are in the environment. */
export function python(script: string, port: number, host = '127.0.0.1', cwd?: string): Promise<RunResult> {
  return runProgram('python3', ['-c', script], {
    cwd,
    env: { PORT: String(port), HOST: host },
    timeoutMs: 30000,
  });
}

/** Open file descriptors of this process (the server runs in-process). */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Polls until fn() is true or the time is up; returns the last value of fn(). */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  stepMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Connects a TCP socket (optionally from a given local address), bounded by a timeout. */
export function connectTo(
  port: number,
  host = '127.0.0.1',
  localAddress?: string,
  timeoutMs = 5000,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, localAddress });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Sends PASV and returns the announced port (throws unless 227). */
export async function pasvPort(ftp: RawFtp): Promise<number> {
  const r = await ftp.cmd('PASV');
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(r.text);
  if (r.code !== 227 || m === null) throw new Error(`PASV failed: ${r.text}`);
  return Number(m[5]) * 256 + Number(m[6]);
}

/** Sends EPSV and returns the announced port (throws unless 229). */
export async function epsvPort(ftp: RawFtp): Promise<number> {
  const r = await ftp.cmd('EPSV');
  const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
  if (r.code !== 229 || m === null) throw new Error(`EPSV failed: ${r.text}`);
  return Number(m[1]);
}

/**
 * Waits until the peer ends or resets a socket without sending data; resolves with the bytes seen
 * (an empty buffer for a dropped connection). Bounded by timeoutMs.
 */
export function waitEnd(s: net.Socket, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    if (s.closed) {
      resolve(Buffer.alloc(0));
      return;
    }
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout waiting for the data connection to end'));
    }, timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    s.resume();
  });
}

/** Reads a whole data connection (bounded by timeoutMs). */
export function readAllBounded(s: net.Socket, timeoutMs = 15000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout reading the data connection'));
    }, timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Writes data on a socket and ends it, resolving once everything was flushed and the socket closed. */
export function writeAndEnd(s: net.Socket, data: Buffer | string, timeoutMs = 15000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout writing the data connection'));
    }, timeoutMs);
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.end(data);
  });
}

/** Undefined when ::1 is configured and can be listened on here, else the reason to skip. */
export async function ipv6Loopback(): Promise<string | undefined> {
  const has = Object.values(os.networkInterfaces()).some((l) => l?.some((i) => i.address === '::1'));
  if (!has) return '::1 is not configured on any interface of this machine';
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '::1', port: 0 }, () => resolve());
    });
    return undefined;
  } catch (err) {
    return `cannot listen on ::1: ${String(err)}`;
  } finally {
    server.close();
  }
}

/** Deterministic pseudo-random bytes (xorshift32): a shifted or truncated copy never compares equal. */
export function pattern(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
