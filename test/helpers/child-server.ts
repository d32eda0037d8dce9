/**
 * A tsftpd server run as a child process (`node .build/src/main.js ...`), for tests that need a
 * separate process: kill -9, environment switches read at start-up. The caller stops it by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { RawFtp } from './raw.js';

/** The compiled entry point. */
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** A loopback port that was free a moment ago (the child binds it at once). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Connects once the server listens (at most 10 s). */
export async function connectWhenUp(port: number): Promise<RawFtp> {
  for (let i = 0; i < 100; i++) {
    try {
      return (await RawFtp.connect(port)).ftp;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`no server on port ${port}`);
}

/** Starts `tsftpd args` on 127.0.0.1:port; stdout is collected, stderr passed through. */
export function spawnServer(
  port: number,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [MAIN, '-S', `127.0.0.1,${port}`, '-p', '30000:39999', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  return { child, output: () => text };
}

/** Kills a child with SIGKILL (if it still runs) and waits for it to exit. */
export async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGKILL');
  await gone;
}
