/**
 * File commands: DELE RNFR RNTO SIZE MDTM MFMT (RFC 959 §4.1.3, RFC 3659 §3-4, upstream §2.3).
 */
import { errnoText } from '../errors.js';
import { reply, type Reply } from '../session/reply.js';
import type { LoggedIn } from '../session/context.js';
import type { VPath } from '../storage/types.js';
import { mdtmString } from '../storage/list-format.js';
import type { CommandSpec } from './spec.js';
import { resolvePathArg } from './paths.js';
import { Code } from '../session/codes.js';
import { tr } from '../i18n/msg.js';

/** Parses `YYYYMMDDHHMMSS[.fff]` as UTC (RFC 3659 §2.3); undefined when invalid. */
export function parseTimeVal(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d{1,9})?$/.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return undefined;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, Math.min(sec, 59)));
  return date.getUTCDate() === d ? date : undefined;
}

async function dele(s: LoggedIn, arg: string, p: VPath): Promise<Reply> {
  try {
    await s.storage.unlink(p);
  } catch (err) {
    return reply(Code.FILE_UNAVAILABLE, tr`Could not delete ${arg}: ${errnoText(err)}`);
  }
  s.server.bus.log(s.ref, 'NOTICE', `Deleted ${s.storage.describe(p)}`);
  return reply(Code.FILE_ACTION_OK, tr`Deleted ${arg}`, ...s.storage.usageLines());
}

async function rnfr(s: LoggedIn, arg: string, p: VPath): Promise<Reply> {
  try {
    const e = await s.storage.lstat(p);
    // `RNFR file/` names a directory; lstat(2) fails with ENOTDIR on a file (Pure-FTPd: 550).
    if (arg.endsWith('/') && e.type !== 'dir')
      return reply(Code.FILE_UNAVAILABLE, tr`Sorry, but that file doesn't exist`);
  } catch {
    return reply(Code.FILE_UNAVAILABLE, tr`Sorry, but that file doesn't exist`);
  }
  const previous = s.renameFrom !== undefined;
  s.renameFrom = p;
  const text = 'RNFR accepted - file exists, ready for destination';
  return previous
    ? reply(Code.PENDING, tr`Aborting previous rename operation`, text)
    : reply(Code.PENDING, text);
}

async function rnto(s: LoggedIn, arg: string, p: VPath): Promise<Reply> {
  const from = s.renameFrom;
  s.renameFrom = undefined;
  if (from === undefined) return reply(Code.BAD_SEQUENCE, tr`Need RNFR before RNTO`);
  if (arg.endsWith('/') && p !== '/') {
    // rename(2) refuses a file onto `name/` with ENOTDIR; the normalised path would drop the slash.
    const e = await s.storage.lstat(from).catch(() => undefined);
    if (e?.type !== 'dir') return reply(Code.LOCAL_ERROR, tr`Rename/move failure: Not a directory`);
  }
  try {
    await s.storage.rename(from, p);
  } catch (err) {
    return reply(Code.LOCAL_ERROR, tr`Rename/move failure: ${errnoText(err)}`);
  }
  s.server.bus.log(
    s.ref,
    'NOTICE',
    `File successfully renamed or moved: [${s.storage.describe(from)}]->[${s.storage.describe(p)}]`,
  );
  return reply(Code.FILE_ACTION_OK, tr`File successfully renamed or moved`);
}

async function regularFile(s: LoggedIn, p: VPath): Promise<Reply | { size: number; mtime: Date }> {
  try {
    const e = await s.storage.stat(p);
    if (e.type !== 'file') return reply(Code.FILE_UNAVAILABLE, tr`I can only retrieve regular files`);
    return e;
  } catch {
    return reply(Code.FILE_UNAVAILABLE, tr`Can't check for file existence`);
  }
}

async function mfmt(s: LoggedIn, arg: string): Promise<Reply> {
  const space = arg.indexOf(' ');
  const when = parseTimeVal(space === -1 ? arg : arg.slice(0, space));
  const name = space === -1 ? '' : arg.slice(space + 1);
  if (when === undefined || name === '') return reply(Code.BAD_ARGUMENTS, tr`Can't get a time stamp`);
  const p = resolvePathArg(s, name, 'write');
  try {
    await s.storage.setTimes(p, when);
  } catch (err) {
    return reply(Code.FILE_UNAVAILABLE, tr`utime(${name}): ${errnoText(err)}`);
  }
  // RFC-style confirmation (draft-somers-ftp-mfxx §3); Pure-FTPd says "213 UTIME OK".
  return reply(Code.FILE_STATUS, `Modify=${mdtmString(when)}; ${name}`);
}

/** DELE RNFR RNTO SIZE MDTM MFMT. */
export const fileCommands: CommandSpec[] = [
  {
    verb: 'DELE',
    login: true,
    arg: 'required',
    path: { access: 'write', file: true, removes: true },
    perm: {
      need: 'delete',
      denied: {
        anonymous: tr`Anonymous users can not delete files`,
        switch: (arg) => tr`Could not delete ${arg}: ${tr`Operation not permitted`}`,
      },
    },
    help: 'DELE <sp> file',
    run: dele,
  },
  {
    verb: 'RNFR',
    login: true,
    arg: 'required',
    path: { access: 'write' },
    perm: {
      need: 'rename',
      denied: {
        switch: 'Rename/move failure',
        anonymous: tr`Anonymous users are not allowed to move/rename files`,
      },
    },
    help: 'RNFR <sp> file',
    run: rnfr,
  },
  {
    verb: 'RNTO',
    login: true,
    arg: 'required',
    path: { access: 'write', creates: true },
    precondition: (s) =>
      s.renameFrom === undefined ? reply(Code.BAD_SEQUENCE, tr`Need RNFR before RNTO`) : undefined,
    perm: { need: 'rename', denied: { switch: 'Rename/move failure', anonymous: 'Rename/move failure' } },
    help: 'RNTO <sp> file',
    run: rnto,
  },
  {
    verb: 'SIZE',
    login: true,
    arg: 'required',
    path: { access: 'read', file: true },
    feat: { line: 'SIZE', order: 4 },
    help: 'SIZE <sp> file',
    run: async (s, _a, p) => {
      const r = await regularFile(s, p);
      return 'code' in r ? r : reply(Code.FILE_STATUS, String(r.size));
    },
  },
  {
    // draft-peterson-streamlined-ftp-command-extensions: the bytes an upload to the directory may
    // still take, the file system's free space or the account's quota room, whichever is smaller.
    verb: 'AVBL',
    login: true,
    arg: 'optional',
    path: { access: 'read', default: '.' },
    feat: { line: 'AVBL', order: 25 },
    help: 'AVBL [<sp> directory]',
    run: async (s, _a, p) => {
      const e = await s.storage.stat(p).catch(() => undefined);
      if (e === undefined) return reply(Code.FILE_UNAVAILABLE, tr`No such file or directory`);
      if (e.type !== 'dir') return reply(Code.FILE_UNAVAILABLE, tr`Not a directory`);
      const { free } = await s.storage.statfs(p);
      const room = await s.storage.quotaRoom?.();
      return reply(Code.FILE_STATUS, String(room === undefined ? free : Math.min(free, room)));
    },
  },
  {
    verb: 'MDTM',
    login: true,
    arg: 'required',
    path: { access: 'read', file: true },
    feat: { line: 'MDTM', order: 3 },
    help: 'MDTM <sp> file',
    run: async (s, _a, p) => {
      const r = await regularFile(s, p);
      return 'code' in r ? r : reply(Code.FILE_STATUS, mdtmString(r.mtime));
    },
  },
  {
    verb: 'MFMT',
    login: true,
    arg: 'required',
    feat: { line: 'MFMT', order: 5 },
    perm: { need: 'utime', denied: { anonymous: tr`Anonymous users can not change perms` } },
    help: 'MFMT <sp> YYYYMMDDHHMMSS <sp> file',
    run: async (s, a) => mfmt(s, a),
  },
];
