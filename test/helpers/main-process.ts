/**
 * Runs the real `node .build/src/main.js` as a child process, for tests of start-up behaviour (exit
 * status, messages, -B, inetd). Every wait is bounded; every process is stopped by its PID, and a
 * scan of /proc finds background processes (whose PIDs the test may never have seen) by a marker
 * in their command line, such as their temp directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Stream } from 'node:stream';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The entry point under test. */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** What a finished run produced. */
export interface MainResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the run hit its bound and was killed. */
  timedOut: boolean;
}

/** Options of a run. */
export interface MainOptions {
  cwd?: string;
  /** Environment (default: this one without npm's variables, as a user's shell has it). */
  env?: NodeJS.ProcessEnv;
  /** Standard input: text fed to a pipe, or a stdio value (a socket, 'ignore'). */
  input?: string;
  stdin?: 'ignore' | 'pipe' | Stream;
  /** Kill the child after this many ms (default 20 s). */
  timeoutMs?: number;
  /** Program to run instead of MAIN (a symlink to it, for instance). */
  script?: string;
}

/** This process's environment without the npm_* variables `npm test` adds. */
export function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_')) env[k] = v;
  return { ...env, ...extra };
}

function spawnMain(args: readonly string[], opts: MainOptions): ChildProcess {
  const stdin = opts.stdin ?? (opts.input === undefined ? 'ignore' : 'pipe');
  const child = spawn(process.execPath, [opts.script ?? MAIN, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? shellEnv(),
    stdio: [stdin, 'pipe', 'pipe'],
  });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  return child;
}

/** Runs tsftpd to its exit; never rejects. */
export function runMain(args: readonly string[], opts: MainOptions = {}): Promise<MainResult> {
  return new Promise((resolve) => {
    const child = spawnMain(args, opts);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killQuietly(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A tsftpd server running in the foreground of a test. */
export interface RunningMain {
  child: ChildProcess;
  /** Standard output and error so far. */
  stdout(): string;
  stderr(): string;
  /** Waits (bounded) until `test` matches the text of `stream`; false on timeout or exit. */
  waitFor(stream: 'stdout' | 'stderr', test: RegExp, timeoutMs?: number): Promise<boolean>;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Starts tsftpd in the foreground (it keeps running until stop()). */
export function startMain(args: readonly string[], opts: MainOptions = {}): RunningMain {
  const child = spawnMain(args, opts);
  const text = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (text.stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (text.stderr += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    async waitFor(stream, test, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (test.test(text[stream])) return true;
        if (child.exitCode !== null || child.signalCode !== null) return test.test(text[stream]);
        await new Promise((r) => setTimeout(r, 25));
      }
      return false;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      killQuietly(child.pid, 'SIGTERM');
      const force = setTimeout(() => child.pid !== undefined && killQuietly(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** process.kill that ignores a process already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** True while a process with this PID exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits (bounded) until the process is gone; false on timeout. */
export async function waitGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !isAlive(pid);
}

/** PIDs of the processes whose command line contains `marker` (a temp directory of the test). */
export function pidsMentioning(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Kills every process whose command line contains `marker`, repeatedly for a bounded time, so that
 * a process that respawns itself (the bug of `Daemonize yes` before the fix) is stopped too.
 * Returns how many kills it took.
 */
export async function killAllMentioning(marker: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let kills = 0;
  let quietRounds = 0;
  while (Date.now() < deadline && quietRounds < 5) {
    const pids = pidsMentioning(marker);
    quietRounds = pids.length === 0 ? quietRounds + 1 : 0;
    for (const pid of pids) {
      killQuietly(pid, 'SIGKILL');
      kills++;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return kills;
}
