/**
 * The loopback ceiling: how fast this machine moves the benchmark file through a plain TCP socket
 * on 127.0.0.1, with no FTP at all. Measured with a Node push server (same runtime as tsftpd) and,
 * when installed, socat (a C program, closer to what Pure-FTPd can do).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { tryRun } from './exec.js';
import { killTree, spawnWithFileLimit } from './proc.js';
import { freePort } from './servers.js';
import { readAll } from './transfer.js';

const MIB = 1 << 20;
const here = path.dirname(fileURLToPath(import.meta.url));

/** Waits until something listens on 127.0.0.1:port (read from /proc/net/tcp, no probe connection). */
async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const needle = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const table = await readFile('/proc/net/tcp', 'latin1').catch(() => '');
    if (table.split('\n').some((l) => l.includes(needle) && / 0A /.test(l))) return;
    await sleep(20);
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** True when socat is installed. */
export async function socatInstalled(): Promise<boolean> {
  return (await tryRun('socat', ['-V'])) !== undefined;
}

async function pushOnce(cmd: string, args: (port: number) => string[], size: number): Promise<number> {
  const port = await freePort();
  const child = spawnWithFileLimit(1024, cmd, args(port), 'ignore');
  try {
    await waitListening(port);
    const r = await readAll('127.0.0.1', port);
    if (r.bytes !== size) throw new Error(`${path.basename(cmd)}: got ${r.bytes} bytes, expected ${size}`);
    return size / MIB / (r.ms / 1000);
  } finally {
    await killTree(child, 1000);
  }
}

/** MiB/s of one file push by a Node process. */
export function nodeCeiling(file: string, size: number): Promise<number> {
  const script = path.join(here, 'push-server.js');
  return pushOnce(process.execPath, (port) => [script, file, String(port)], size);
}

/** MiB/s of one file push by socat (1 MiB buffers). */
export function socatCeiling(file: string, size: number): Promise<number> {
  return pushOnce(
    'socat',
    (port) => ['-u', '-b', String(MIB), `OPEN:${file},rdonly`, `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`],
    size,
  );
}
