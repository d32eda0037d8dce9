/**
 * `tsftpd mrtginfo [port]` (pure-mrtginfo): the four lines MRTG reads — the number of established
 * connections to the server's port (twice: MRTG graphs two values), the machine's uptime and its
 * host name. Connections are counted from the kernel's tables (/proc/net/tcp and tcp6), so every
 * session of every worker counts, as with pure-mrtginfo. The port defaults to 21.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** TCP state code of an established connection in /proc/net/tcp. */
const ESTABLISHED = 1;

/** Established connections whose local port is `port`, in one /proc/net/tcp-format table. */
export function countEstablished(table: string, port: number): number {
  let n = 0;
  for (const line of table.split('\n').slice(1)) {
    // "  sl  local_address rem_address   st ...": "0: 0100007F:0015 0100007F:C350 01 ..."
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const local = f[1];
    const localPort = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (localPort === port && Number.parseInt(f[3], 16) === ESTABLISHED) n++;
  }
  return n;
}

/** `D days, H:MM:SS` of the machine's uptime, as pure-mrtginfo prints it. */
export function uptimeText(seconds: number): string {
  const u = Math.floor(seconds);
  const pad = (x: number): string => String(x).padStart(2, '0');
  return `${Math.floor(u / 86400)} days, ${Math.floor(u / 3600) % 24}:${pad(Math.floor(u / 60) % 60)}:${pad(u % 60)}`;
}

export async function main(argv: string[]): Promise<number> {
  // pure-mrtginfo reads one optional argument with strtoul (garbage counts as 0).
  const port = argv.length === 1 ? (Number.parseInt(argv[0], 10) || 0) & 0xffff : 21;
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    count += countEstablished(await readFile(table, 'latin1').catch(() => ''), port);
  }
  const uptime = await readFile('/proc/uptime', 'latin1').then(
    (t) => uptimeText(Number.parseFloat(t)),
    () => '?',
  );
  process.stdout.write(`${count}\n${count}\n${uptime}\n${os.hostname()}\n`);
  return 0;
}
