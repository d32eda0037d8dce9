/**
 * SITE commands: CHMOD, IDLE, TIME, UTIME, HELP, and the bare CHMOD alias (upstream §2.3); and
 * MFF (draft-somers-ftp-mfxx §4), which sets the same facts (modify time, mode) in one command.
 * SITE CHMOD parses the whole mode strictly as octal (Pure-FTPd stops at the first non-octal digit
 * and sets mode 0 for `99999`, upstream §15.7; tsftpd refuses such a mode instead).
 */
import { errnoText } from '../errors.js';
import { reply, type Reply } from '../session/reply.js';
import type { LoggedIn } from '../session/context.js';
import type { CommandSpec } from './spec.js';
import { resolvePathArg } from './paths.js';
import { parseTimeVal } from './files.js';
import { Code } from '../session/codes.js';
import { tr } from '../i18n/msg.js';
import { authorize } from '../policy/permissions.js';
import { isTrusted } from '../policy/login-rules.js';
import { mdtmString } from '../storage/list-format.js';
import type { VPath } from '../storage/types.js';

/** Longest idle time a client may ask for (upstream §12: 2520 s). */
const MAX_SITE_IDLE = 2520;

async function chmod(s: LoggedIn, arg: string): Promise<Reply> {
  const m = /^\s*(\S+)\s*(.*)$/.exec(arg);
  const modeText = m?.[1] ?? '';
  const file = m?.[2] ?? '';
  if (file === '') return reply(Code.FILE_UNAVAILABLE, tr`No file name`);
  if (!/^[0-7]{1,5}$/.test(modeText)) return reply(Code.BAD_ARGUMENTS, tr`Invalid permissions`);
  const mode = parseInt(modeText, 8);
  if (mode > 0o7777) return reply(Code.BAD_ARGUMENTS, tr`Invalid permissions`);
  const p = resolvePathArg(s, file, 'write');
  try {
    await applyMode(s, p, mode);
  } catch (err) {
    return reply(Code.FILE_UNAVAILABLE, tr`Could not change perms on ${file}: ${errnoText(err)}`);
  }
  return reply(Code.OK, tr`Permissions changed on ${file}`);
}

/** Sets a mode as SITE CHMOD and MFF may: the quota's and -Z's kept bits, no setuid/setgid/sticky. */
async function applyMode(s: LoggedIn, p: VPath, mode: number): Promise<void> {
  // Under quotas a directory always keeps u+rx, so bookkeeping can still walk it (upstream §5.1).
  const isDir =
    s.limits.quota !== undefined || s.server.config.customerProof
      ? (await s.storage.stat(p)).type === 'dir'
      : false;
  let keep = s.limits.quota !== undefined && isDir ? 0o500 : 0;
  // -Z (upstream §6.1): the owner keeps rw on files and rwx on directories.
  if (s.server.config.customerProof) keep |= isDir ? 0o700 : 0o600;
  // Setuid, setgid and sticky bits are never set through FTP (Pure-FTPd masks them).
  await s.storage.chmod(p, (mode & 0o777) | keep);
}

/**
 * MFF (draft-somers-ftp-mfxx §4): `MFF Modify=YYYYMMDDHHMMSS;UNIX.mode=0644; file`. Every fact is
 * checked before any is applied; the reply lists the facts set, as the draft asks.
 */
async function mff(s: LoggedIn, arg: string): Promise<Reply> {
  const m = /^(\S+;) (.+)$/.exec(arg);
  if (m === null) return reply(Code.BAD_ARGUMENTS, tr`Syntax error in parameters or arguments`);
  const [, factText, file] = m;
  let when: Date | undefined;
  let mode: number | undefined;
  for (const fact of factText.split(';').slice(0, -1)) {
    const eq = fact.indexOf('=');
    const name = fact.slice(0, eq).toLowerCase();
    const value = fact.slice(eq + 1);
    if (eq < 1 || (name !== 'modify' && name !== 'unix.mode'))
      return reply(Code.PARAMETER_NOT_IMPLEMENTED, tr`Syntax error in parameters or arguments`);
    if (name === 'modify') {
      when = parseTimeVal(value);
      if (when === undefined) return reply(Code.BAD_ARGUMENTS, tr`Can't get a time stamp`);
    } else {
      if (!/^[0-7]{1,4}$/.test(value)) return reply(Code.BAD_ARGUMENTS, tr`Invalid permissions`);
      mode = parseInt(value, 8);
    }
  }
  // UNIX.mode is a chmod: the same refusals as SITE CHMOD (-R).
  const who = { anonymous: s.anonymous, uid: s.account.uid, trusted: isTrusted(s.account) };
  if (mode !== undefined && authorize('chmod', who, s.server.config) !== undefined)
    return reply(Code.FILE_UNAVAILABLE, tr`Could not change perms on ${file}`);
  const p = resolvePathArg(s, file, 'write');
  const set: string[] = [];
  if (mode !== undefined) {
    try {
      await applyMode(s, p, mode);
    } catch (err) {
      return reply(Code.FILE_UNAVAILABLE, tr`Could not change perms on ${file}: ${errnoText(err)}`);
    }
    set.push(`UNIX.mode=${mode.toString(8).padStart(4, '0')};`);
  }
  if (when !== undefined) {
    try {
      await s.storage.setTimes(p, when);
    } catch (err) {
      return reply(Code.FILE_UNAVAILABLE, tr`utime(${file}): ${errnoText(err)}`);
    }
    set.unshift(`Modify=${mdtmString(when)};`);
  }
  return reply(Code.FILE_STATUS, `${set.join('')} ${file}`);
}

function idle(s: LoggedIn, arg: string): Reply {
  const text = arg.trim();
  if (text === '') return reply(Code.BAD_ARGUMENTS, tr`SITE IDLE: Missing argument`);
  const m = /^(\d+)(.*)$/.exec(text);
  if (m === null || m[2] !== '')
    return reply(Code.BAD_ARGUMENTS, tr`Garbage found after value : ${m?.[2] ?? text}`);
  const seconds = Number(m[1]);
  if (seconds > MAX_SITE_IDLE) return reply(Code.BAD_ARGUMENTS, tr`Value too large`);
  if (seconds < 1) return reply(Code.BAD_ARGUMENTS, tr`Value too small`);
  s.setIdle(seconds);
  return reply(Code.OK, tr`Idle time set to ${seconds} seconds`);
}

function time(): Reply {
  const d = new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  return reply(
    Code.SYSTEM_STATUS,
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`,
  );
}

async function utime(s: LoggedIn, arg: string): Promise<Reply> {
  // Two forms (upstream §2.3): "<time> <file>" and "<file> <atime> <mtime> <ctime> UTC".
  let when: Date | undefined;
  let file: string;
  const five = /^(.+) (\d{14}) (\d{14}) (\d{14}) UTC$/.exec(arg);
  if (five !== null) {
    file = five[1]!;
    when = parseTimeVal(five[2]);
  } else {
    const space = arg.indexOf(' ');
    when = parseTimeVal(space === -1 ? arg : arg.slice(0, space));
    file = space === -1 ? '' : arg.slice(space + 1);
  }
  if (when === undefined || file === '') return reply(Code.BAD_ARGUMENTS, tr`Can't get a time stamp`);
  const p = resolvePathArg(s, file, 'write');
  try {
    await s.storage.setTimes(p, when);
  } catch (err) {
    return reply(Code.FILE_UNAVAILABLE, tr`utime(${file}): ${errnoText(err)}`);
  }
  return reply(Code.FILE_STATUS, 'UTIME OK');
}

/** The file a SITE CHMOD argument names (`mode file`), for the -R refusal text. */
function chmodFile(arg: string): string {
  return /^\s*\S+\s*(.*)$/.exec(arg)?.[1] ?? '';
}

/** SITE CHMOD's permission: anonymous never, -R for everyone but root (upstream §6.4). */
const CHMOD_PERMISSION = {
  need: 'chmod',
  denied: {
    anonymous: tr`Anonymous users can not change perms`,
    switch: (arg: string) => tr`Could not change perms on ${chmodFile(arg)}`,
  },
} as const;

/** SITE ALIAS: the directory aliases, or what one stands for (upstream §2.3). */
function alias(aliases: readonly [string, string][] | undefined, arg: string): Reply {
  if (aliases === undefined) return reply(Code.NOT_IMPLEMENTED, tr`Configuration error`);
  if (arg === '') {
    return reply(
      Code.HELP,
      tr`The following aliases are available :`,
      ...aliases.map(([a, dir]) => ` ${a} ${dir}`),
      ' ',
    );
  }
  const dir = aliases.find(([a]) => a === arg)?.[1];
  return dir === undefined
    ? reply(Code.NOT_IMPLEMENTED, tr`Unknown alias ${arg}.`)
    : reply(Code.HELP, tr`${arg} is an alias for ${dir}.`);
}

/** SITE (its subcommands are rows of their own) and the bare CHMOD alias. */
export const siteCommands: CommandSpec[] = [
  {
    // The gate turns `SITE SUB args` into the row `SITE SUB`; this row gives HELP and FEAT their lines.
    verb: 'SITE',
    login: false,
    arg: 'optional',
    feat: { line: 'IDLE', order: 2 },
    help: 'SITE <sp> ALIAS | CHMOD | IDLE | TIME | UTIME | HELP',
    run: async () => reply(Code.UNKNOWN_COMMAND, tr`SITE: Missing argument`),
  },
  {
    verb: 'SITE CHMOD',
    login: true,
    arg: 'optional',
    perm: CHMOD_PERMISSION,
    help: 'SITE CHMOD <sp> mode <sp> file',
    run: (s, a) => chmod(s, a),
  },
  {
    verb: 'SITE IDLE',
    login: true,
    arg: 'optional',
    help: 'SITE IDLE <sp> seconds',
    run: async (s, a) => idle(s, a),
  },
  { verb: 'SITE TIME', login: true, arg: 'optional', help: 'SITE TIME', run: async () => time() },
  {
    verb: 'SITE ALIAS',
    login: true,
    arg: 'optional',
    help: 'SITE ALIAS [<sp> alias]',
    run: async (s, a) => alias(s.server.config.aliases, a),
  },
  {
    verb: 'SITE UTIME',
    login: true,
    arg: 'optional',
    perm: { need: 'utime', denied: { anonymous: tr`Anonymous users can not change perms` } },
    help: 'SITE UTIME <sp> YYYYMMDDHHMMSS <sp> file',
    run: (s, a) => utime(s, a),
  },
  {
    verb: 'MFF',
    login: true,
    arg: 'required',
    feat: { line: 'MFF modify;UNIX.mode;', order: 6 },
    perm: { need: 'utime', denied: { anonymous: tr`Anonymous users can not change perms` } },
    help: 'MFF <sp> fact=value; [fact=value;] <sp> file',
    run: (s, a) => mff(s, a),
  },
  {
    verb: 'CHMOD',
    login: true,
    arg: 'required',
    perm: CHMOD_PERMISSION,
    help: 'CHMOD <sp> mode <sp> file',
    run: (s, a) => chmod(s, a),
  },
];
