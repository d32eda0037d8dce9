/**
 * `-B` (upstream §1.2) of the server and of `tsftpd authd`: Node cannot fork, so the program runs itself
 * again, detached in a new session, with the same arguments and a mark in its environment that makes
 * that child serve instead of daemonizing again (whether -B came from the command line or from
 * `Daemonize yes` in a file, and without a list of switches to edit out of argv). The parent waits
 * until the child listens and has written its PID file, prints what the child would have printed,
 * and exits 0; a child that fails to start has its messages printed and its exit status returned.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Environment variable that marks the re-run child; removed as soon as the child reads it. */
export const DAEMON_CHILD_ENV = 'TSFTPD_DAEMON_CHILD';
/** How long the parent waits for the child to be ready before stopping it. */
export const DAEMON_READY_TIMEOUT_MS = 60_000;

/** A message from the child to the waiting parent. */
type ChildReport = { kind: 'out' | 'err'; text: string } | { kind: 'ready' };

/** Where start-up messages go: the terminal, or (in the background) the parent that waits. */
export interface StartupOutput {
  /** A line for standard output (no newline). */
  out(text: string): void;
  /** A line for standard error (no newline). */
  err(text: string): void;
  /** Start-up is complete: the daemon child tells its parent, which then exits. */
  ready(): Promise<void>;
  /** Start-up is over without ready(): lets the parent go (idempotent). */
  close(): Promise<void>;
}

/** Takes the child mark out of the environment (programs started later must not inherit it). */
export function takeDaemonChildMark(env: NodeJS.ProcessEnv = process.env): boolean {
  const marked = env[DAEMON_CHILD_ENV] === '1';
  delete env[DAEMON_CHILD_ENV];
  return marked && typeof process.send === 'function';
}

/** Start-up messages on this process's own standard output and error. */
export function terminalOutput(): StartupOutput {
  return {
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    ready: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** Start-up messages sent to the parent over the IPC channel; ready()/close() end the channel. */
export function daemonChildOutput(): StartupOutput {
  let pending: Promise<void> = Promise.resolve();
  let closed = false;
  const send = (report: ChildReport): void => {
    if (closed) return;
    // Sent one after the other, each awaited: disconnect() must not drop a queued message.
    pending = pending.then(
      () =>
        new Promise<void>((resolve) => {
          if (!process.connected) return resolve();
          process.send?.(report, undefined, {}, () => resolve()); // an error means the parent is gone
        }),
    );
  };
  const close = async (): Promise<void> => {
    await pending;
    closed = true;
    if (process.connected) process.disconnect();
  };
  return {
    out: (text) => send({ kind: 'out', text }),
    err: (text) => send({ kind: 'err', text }),
    ready: async () => {
      send({ kind: 'ready' });
      await close();
    },
    close,
  };
}

/** How the parent names what it started, in its messages. */
export interface DaemonParentOptions {
  /** Prefix of the parent's own messages (`tsftpd`, `tsftpd authd`). */
  prefix?: string;
  /** What runs in the background (`server`, `helper`). */
  what?: string;
  timeoutMs?: number;
}

/**
 * The parent side of -B: runs `node main.js ...childArgs` detached and resolves with the exit status
 * once the child is ready (0), has stopped (its status), or did not become ready in time (1, and the
 * child is stopped). `readyLine` is printed after the child's own lines, with the child's PID.
 */
export function runDaemonParent(
  childArgs: readonly string[],
  readyLine: (pid: number) => string,
  opts: DaemonParentOptions = {},
): Promise<number> {
  const { prefix = 'tsftpd', what = 'server', timeoutMs = DAEMON_READY_TIMEOUT_MS } = opts;
  const script = fileURLToPath(new URL('../main.js', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, ...childArgs], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
  });
  return new Promise<number>((resolve) => {
    let settled = false;
    let saidSomething = false;
    const finish = (code: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(code);
    };
    child.on('message', (report: ChildReport) => {
      if (settled) return;
      if (report.kind === 'ready') {
        process.stdout.write(`${readyLine(child.pid ?? 0)}\n`);
        finish(0);
        return;
      }
      saidSomething ||= report.kind === 'err';
      (report.kind === 'out' ? process.stdout : process.stderr).write(`${report.text}\n`);
    });
    child.on('error', (err) => {
      process.stderr.write(`${prefix}: cannot start the background ${what}: ${err.message}\n`);
      finish(1);
    });
    child.on('exit', (code, signal) => {
      // Messages sent just before the exit arrive before the channel's end: wait for it.
      const report = (): void => {
        if (!saidSomething) {
          const how = signal === null ? `status ${code ?? 1}` : `signal ${signal}`;
          process.stderr.write(`${prefix}: the background ${what} stopped during start-up (${how})\n`);
        }
        finish(code === null || code === 0 ? 1 : code);
      };
      if (child.connected) child.once('disconnect', report);
      else report();
    });
    const timer = setTimeout(() => {
      process.stderr.write(
        `${prefix}: the background ${what} (pid ${child.pid}) was not ready after ${timeoutMs / 1000} s; stopped it\n`,
      );
      child.kill('SIGTERM');
      finish(1);
    }, timeoutMs);
  });
}
