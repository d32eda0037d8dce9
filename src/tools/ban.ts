/**
 * `tsftpd ban` (tsftpd's own; Pure-FTPd has no bans): the brute-force defender's bans of the running
 * servers, through their who sockets (src/server/who-socket.ts, 0600, the server's user only).
 * `list` shows the bans in force, `add ADDRESS [SECONDS]` bans an address (and ends its sessions),
 * `remove ADDRESS` lifts a ban. With a shared store (--state redis://...) every node sees the same
 * bans, so one node's socket is enough.
 */
import net from 'node:net';
import { ask, sockets } from './who.js';
import type { Ban } from '../policy/defender.js';

const USAGE = `Usage: tsftpd ban list [--json] [--socket PATH]
       tsftpd ban add ADDRESS [SECONDS] [--socket PATH]
       tsftpd ban remove ADDRESS [--socket PATH]

list   : the addresses banned now, when each ban ends and why (failures: the defender; manual: ban add)
add    : ban ADDRESS for SECONDS (default: the server's --ban-time, doubled on repeat) and end its sessions;
         an address of --ban-allow cannot be banned
remove : lift the ban on ADDRESS (and forget its failed logins)
--json : JSON output (times in milliseconds since 1970)
--socket PATH : this server's who socket only (default: every server of this user)
`;

function line(b: Ban, now: number): string {
  const left = Math.max(0, Math.ceil((b.until - now) / 1000));
  return `${b.ip.padEnd(39)} ${new Date(b.until).toISOString()}  ${String(left).padStart(7)} s  ${b.reason} (#${b.count})`;
}

export async function main(argv: string[]): Promise<number> {
  let json = false;
  let socketPath: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--socket') socketPath = argv[++i];
    else if (a.startsWith('--socket=')) socketPath = a.slice('--socket='.length);
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else words.push(a);
  }
  const [cmd, address, secondsText, extra] = words;
  const fail = (message: string): number => {
    process.stderr.write(`tsftpd ban: ${message}\n`);
    return 1;
  };
  if (cmd === undefined || extra !== undefined) return fail(`expected a command\n${USAGE}`);
  if (cmd !== 'list' && cmd !== 'add' && cmd !== 'remove') return fail(`unknown command ${cmd}\n${USAGE}`);
  if (cmd === 'list' && address !== undefined) return fail(`list takes no address`);
  if (cmd !== 'list' && (address === undefined || net.isIP(address) === 0))
    return fail(`${cmd} needs an IP address`);
  if (cmd === 'remove' && secondsText !== undefined) return fail('remove takes only an address');
  let seconds: number | undefined;
  if (secondsText !== undefined) {
    if (!/^\d{1,8}$/.test(secondsText) || Number(secondsText) < 1)
      return fail('SECONDS is a positive number');
    seconds = Number(secondsText);
  }
  let paths: string[];
  try {
    paths = sockets(socketPath).paths;
  } catch (err) {
    return fail((err as Error).message);
  }
  if (paths.length === 0) return fail('no running server found (is --who-socket off?)');
  const bans = new Map<string, Ban>();
  let done = false;
  let errors = 0;
  for (const p of paths) {
    try {
      if (cmd === 'list') {
        const a = await ask(p, { cmd: 'bans' });
        if (!a.ok) throw new Error(a.error);
        if ('bans' in a) for (const b of a.bans) bans.set(b.ip, b);
      } else if (cmd === 'add') {
        const a = await ask(p, { cmd: 'ban', ip: address, seconds });
        if (!a.ok) throw new Error(a.error);
        if ('ban' in a && a.ban !== null) {
          bans.set(a.ban.ip, a.ban);
          done = true;
          // The address's sessions end now (the ban refuses its next connections).
          const list = await ask(p, { cmd: 'list' });
          if (list.ok && 'sessions' in list)
            for (const s of list.sessions)
              if (s.remoteIp === a.ban.ip) await ask(p, { cmd: 'kick', id: s.id });
        }
      } else {
        const a = await ask(p, { cmd: 'unban', ip: address });
        if (!a.ok) throw new Error(a.error);
        if ('removed' in a && a.removed) done = true;
      }
    } catch (err) {
      errors++;
      const code = (err as NodeJS.ErrnoException).code;
      process.stderr.write(
        `tsftpd ban: ${p}: ${code === 'EACCES' ? 'permission denied (run as root, or as the server’s user)' : (err as Error).message}\n`,
      );
    }
  }
  if (errors === paths.length) return 1;
  const now = Date.now();
  if (cmd === 'list') {
    const all = [...bans.values()].sort((a, b) => a.until - b.until);
    if (json) process.stdout.write(`${JSON.stringify(all)}\n`);
    else if (all.length === 0) process.stdout.write('no address is banned\n');
    else process.stdout.write(all.map((b) => line(b, now)).join('\n') + '\n');
    return 0;
  }
  if (cmd === 'add') {
    if (!done) return fail(`${address} is on the allow list (--ban-allow) and cannot be banned`);
    const b = bans.values().next().value as Ban;
    process.stdout.write(json ? `${JSON.stringify(b)}\n` : `banned ${line(b, now)}\n`);
    return 0;
  }
  if (!done) return fail(`${address} is not banned`);
  process.stdout.write(`${address} is no longer banned\n`);
  return 0;
}
