/**
 * Runs the tsftpd executable as a child process (the real start-up path: run.ts, its checks and
 * its start-up lines), waits until it serves or exits, and stops it by its PID. Every wait is
 * bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_GID, TEST_UID } from './server.js';

/** The compiled src/main.js next to the compiled tests (.build/src/main.js). */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** A child server that started: its port, its output so far, and stop(). */
export interface SpawnedServer {
  started: true;
  port: number;
  stdout: string[];
  stderr: string[];
  stop(): Promise<void>;
}

/** A child that exited before serving. */
export interface FailedStart {
  started: false;
  code: number | null;
  stdout: string[];
  stderr: string[];
}

function collect(stream: NodeJS.ReadableStream | null, into: string[]): void {
  let rest = '';
  stream?.on('data', (d: Buffer) => {
    rest += d.toString('utf8');
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    into.push(...parts);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `command args` and resolves once it prints its "serving FTP" line (plus a short pause
 * for the lines that follow it), or when it exits; at most `timeoutMs`.
 */
export async function spawnServer(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<SpawnedServer | FailedStart> {
  const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  collect(child.stdout, stdout);
  collect(child.stderr, stderr);
  const serving = (): RegExpExecArray | null =>
    /serving FTP on ftp:\/\/127\.0\.0\.1:(\d+)/.exec(stdout.join('\n'));
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let code: number | null | undefined;
  child.once('exit', (c) => (code = c));
  while (Date.now() < deadline && serving() === null && code === undefined) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const match = serving();
  if (match === null) {
    if (code === undefined) await stopChild(child);
    // Let the pipes drain after the exit.
    await new Promise((r) => setTimeout(r, 100));
    return { started: false, code: code ?? null, stdout, stderr };
  }
  await new Promise((r) => setTimeout(r, 300));
  return { started: true, port: Number(match[1]), stdout, stderr, stop: () => stopChild(child) };
}

/** A temp dir with a passwd file for `users` (login → password hash), each with a chrooted home. */
export async function userTree(
  users: Record<string, string>,
): Promise<{ dir: string; passwd: string; home(login: string): string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-spawned-'));
  await chmod(dir, 0o755);
  const lines: string[] = [];
  for (const [login, hash] of Object.entries(users)) {
    const home = path.join(dir, 'home', login);
    await mkdir(home, { recursive: true });
    if (process.getuid?.() === 0) await chown(home, TEST_UID, TEST_GID);
    lines.push(`${login}:${hash}:${TEST_UID}:${TEST_GID}::${home}/./:`);
  }
  const passwd = path.join(dir, 'pureftpd.passwd');
  await writeFile(passwd, lines.join('\n') + '\n', { mode: 0o600 });
  return {
    dir,
    passwd,
    home: (login) => path.join(dir, 'home', login),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
