/**
 * SITE commands: CHMOD, IDLE, TIME, UTIME, HELP, and the bare CHMOD alias (spec §2.3).
 * SITE CHMOD parses the whole mode strictly as octal (Pure-FTPd stops at the first non-octal digit
 * and sets mode 0 for `99999`, spec §15.7; tsftpd refuses such a mode instead).
 */
import { errnoText } from '../errors.js';
import { reply, type Reply } from '../session/reply.js';
import type { Session } from '../session/session.js';
import type { CommandSpec } from './spec.js';
import { helpReply, resolvePathArg } from './table.js';
import { parseTimeVal } from './files.js';

/** Longest idle time a client may ask for (spec §12: 2520 s). */
const MAX_SITE_IDLE = 2520;

async function chmod(s: Session, arg: string): Promise<Reply> {
  const m = /^\s*(\S+)\s*(.*)$/.exec(arg);
  const modeText = m?.[1] ?? '';
  const file = m?.[2] ?? '';
  if (file === '') return reply(550, 'No file name');
  if (s.anonymous) return reply(550, 'Anonymous users can not change perms');
  if (!/^[0-7]{1,5}$/.test(modeText)) return reply(501, 'Invalid permissions');
  const mode = parseInt(modeText, 8);
  if (mode > 0o7777) return reply(501, 'Invalid permissions');
  if (s.server.config.noChmod && s.account?.uid !== 0) return reply(550, `Could not change perms on ${file}`);
  const p = resolvePathArg(s, file, 'write');
  try {
    // Under quotas a directory always keeps u+rx, so bookkeeping can still walk it (spec §5.1).
    const keep = s.quota !== undefined && (await s.storage!.stat(p)).type === 'dir' ? 0o500 : 0;
    // Setuid, setgid and sticky bits are never set through FTP (Pure-FTPd masks them).
    await s.storage!.chmod(p, (mode & 0o777) | keep);
  } catch (err) {
    return reply(550, `Could not change perms on ${file}: ${errnoText(err)}`);
  }
  return reply(200, `Permissions changed on ${file}`);
}

function idle(s: Session, arg: string): Reply {
  const text = arg.trim();
  if (text === '') return reply(501, 'SITE IDLE: Missing argument');
  const m = /^(\d+)(.*)$/.exec(text);
  if (m === null || m[2] !== '') return reply(501, `Garbage found after value : ${m?.[2] ?? text}`);
  const seconds = Number(m[1]);
  if (seconds > MAX_SITE_IDLE) return reply(501, 'Value too large');
  if (seconds < 1) return reply(501, 'Value too small');
  s.setIdle(seconds);
  return reply(200, `Idle time set to ${seconds} seconds`);
}

function time(): Reply {
  const d = new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  return reply(
    211,
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`,
  );
}

async function utime(s: Session, arg: string): Promise<Reply> {
  // Two forms (spec §2.3): "<time> <file>" and "<file> <atime> <mtime> <ctime> UTC".
  let when: Date | undefined;
  let file: string;
  const five = /^(.+) (\d{14}) (\d{14}) (\d{14}) UTC$/.exec(arg);
  if (five !== null) {
    file = five[1]!;
    when = parseTimeVal(five[2]!);
  } else {
    const space = arg.indexOf(' ');
    when = parseTimeVal(space === -1 ? arg : arg.slice(0, space));
    file = space === -1 ? '' : arg.slice(space + 1);
  }
  if (when === undefined || file === '') return reply(501, "Can't get a time stamp");
  if (s.anonymous) return reply(550, 'Anonymous users can not change perms');
  const p = resolvePathArg(s, file, 'write');
  try {
    await s.storage!.setTimes(p, when);
  } catch (err) {
    return reply(550, `utime(${file}): ${errnoText(err)}`);
  }
  return reply(213, 'UTIME OK');
}

async function site(s: Session, arg: string): Promise<Reply> {
  const m = /^(\S*)\s?(.*)$/s.exec(arg)!;
  const sub = m[1]!.toUpperCase();
  const rest = m[2]!;
  if (sub === '') return reply(500, 'SITE: Missing argument');
  if (sub === 'HELP') return helpReply(rest.trim());
  if (!s.loggedIn) return reply(530, "You aren't logged in");
  switch (sub) {
    case 'CHMOD':
      return chmod(s, rest);
    case 'IDLE':
      return idle(s, rest);
    case 'TIME':
      return time();
    case 'UTIME':
      return utime(s, rest);
    default:
      return reply(500, `SITE ${sub} is an unknown extension`);
  }
}

/** SITE and the bare CHMOD alias. */
export const siteCommands: CommandSpec[] = [
  {
    verb: 'SITE',
    login: false,
    arg: 'optional',
    feat: { line: 'IDLE', order: 2 },
    help: 'SITE <sp> CHMOD | IDLE | TIME | UTIME | HELP',
    run: (s, a) => site(s, a),
  },
  {
    verb: 'CHMOD',
    login: true,
    arg: 'required',
    help: 'CHMOD <sp> mode <sp> file',
    run: (s, a) => chmod(s, a),
  },
];
