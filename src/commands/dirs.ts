/**
 * Directory commands: CWD/XCWD, CDUP/XCUP, PWD/XPWD, MKD/XMKD, RMD/XRMD (RFC 959 §4.1.1,
 * §4.1.3, upstream §2.3). Paths arrive already resolved through the jail by the gate.
 */
import { FtpError, errnoText } from '../errors.js';
import { reply, type Reply } from '../session/reply.js';
import type { LoggedIn } from '../session/context.js';
import { readMessageFile } from '../session/login.js';
import { joinVirtual, parentOf, resolveVirtual } from '../storage/jail.js';
import type { VPath } from '../storage/types.js';
import type { CommandSpec } from './spec.js';
import { Code } from '../session/codes.js';
import { tr } from '../i18n/msg.js';

/** Consecutive failed CWDs that end the session (upstream §2.3). */
const MAX_FAILED_CWD = 50;
/** Delay step per consecutive failed CWD (upstream §2.3: 0.1 s). */
const FAILED_CWD_STEP_MS = 100;

/** A path inside double quotes with embedded quotes doubled (RFC 959 Appendix II). */
export function quotePath(p: string): string {
  return `"${p.replace(/"/g, '""')}"`;
}

/** True when `p` is a directory of the account's tree. */
async function isDir(s: LoggedIn, p: VPath): Promise<void> {
  const e = await s.storage.stat(p);
  if (e.type !== 'dir') throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
}

async function cwd(s: LoggedIn, arg: string, p: VPath): Promise<Reply | void> {
  try {
    try {
      await isDir(s, p);
    } catch (err) {
      // Directory aliases (upstream §6.4): tried only when the name itself is no directory.
      const target = s.server.config.aliases?.find(([alias]) => alias === arg)?.[1];
      if (target === undefined) throw err;
      const aliased = resolveVirtual('/', target, s.home);
      try {
        await isDir(s, aliased);
      } catch {
        throw err;
      }
      p = aliased;
    }
  } catch (err) {
    s.failedCwds++;
    s.server.bus.log(s.ref, 'INFO', `Can't change directory to ${arg}: ${errnoText(err)}`);
    if (s.failedCwds >= MAX_FAILED_CWD) {
      s.reply(Code.FILE_UNAVAILABLE, tr`Can't change directory to ${arg}: ${errnoText(err)}`);
      s.close('Too many failed CWD');
      return;
    }
    await new Promise((r) => setTimeout(r, FAILED_CWD_STEP_MS * Math.min(s.failedCwds, 20)));
    return reply(Code.FILE_UNAVAILABLE, tr`Can't change directory to ${arg}: ${errnoText(err)}`);
  }
  s.failedCwds = 0;
  s.cwd = p;
  const message = await readMessageFile(s.storage, joinVirtual(p, '.message'));
  return reply(Code.FILE_ACTION_OK, ...message, tr`OK. Current directory is ${p}`);
}

async function mkd(s: LoggedIn, arg: string, p: VPath): Promise<Reply> {
  if (s.anonymous && !(await s.storage.canWrite(parentOf(p)))) {
    return reply(Code.FILE_UNAVAILABLE, tr`Can't create directory: Permission denied`);
  }
  try {
    await s.storage.mkdir(p);
  } catch (err) {
    if (err instanceof FtpError && err.code === 'ERR_QUOTA') throw err;
    return reply(Code.FILE_UNAVAILABLE, tr`Can't create directory: ${errnoText(err)}`);
  }
  const quota = s.storage.usageLines();
  return reply(Code.PATH_CREATED, tr`${quotePath(arg)} : The directory was successfully created`, ...quota);
}

async function rmd(s: LoggedIn, _arg: string, p: VPath): Promise<Reply> {
  try {
    await s.storage.rmdir(p);
  } catch (err) {
    return reply(Code.FILE_UNAVAILABLE, tr`Can't remove directory: ${errnoText(err)}`);
  }
  const quota = s.storage.usageLines();
  return reply(Code.FILE_ACTION_OK, tr`The directory was successfully removed`, ...quota);
}

/** CWD CDUP PWD MKD RMD and their X aliases. */
export const dirCommands: CommandSpec[] = [
  {
    verb: 'CWD',
    aliases: ['XCWD'],
    login: true,
    arg: 'optional',
    antiIdle: true,
    path: { access: 'read', default: '~' },
    help: 'CWD [<sp> directory]',
    run: cwd,
  },
  {
    verb: 'CDUP',
    aliases: ['XCUP'],
    login: true,
    arg: 'optional',
    antiIdle: true,
    help: 'CDUP',
    run: async (s) => cwd(s, '..', parentOf(s.cwd)),
  },
  {
    verb: 'PWD',
    aliases: ['XPWD'],
    login: true,
    arg: 'optional',
    antiIdle: true,
    feat: { line: 'TVFS', order: 13 },
    help: 'PWD',
    run: async (s) => reply(Code.PATH_CREATED, tr`${quotePath(s.cwd)} is your current location`),
  },
  {
    verb: 'MKD',
    aliases: ['XMKD'],
    login: true,
    arg: 'required',
    missingArg: reply(Code.BAD_ARGUMENTS, tr`No directory name`),
    path: { access: 'write', dir: true, creates: true },
    perm: {
      need: 'mkdir',
      denied: { anonymous: tr`Sorry, anonymous users are not allowed to create directories` },
    },
    help: 'MKD <sp> directory',
    run: mkd,
  },
  {
    verb: 'RMD',
    aliases: ['XRMD'],
    login: true,
    arg: 'required',
    missingArg: reply(Code.FILE_UNAVAILABLE, tr`No directory name`),
    path: { access: 'write', dir: true },
    perm: {
      need: 'rmdir',
      denied: { anonymous: tr`Sorry, anonymous users are not allowed to remove directories` },
    },
    help: 'RMD <sp> directory',
    run: rmd,
  },
];
