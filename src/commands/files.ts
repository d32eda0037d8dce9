/**
 * File commands: DELE RNFR RNTO SIZE MDTM MFMT (RFC 959 §4.1.3, RFC 3659 §3-4, spec §2.3).
 */
import { errnoText } from '../errors.js';
import { reply, type Reply } from '../session/reply.js';
import type { Session } from '../session/session.js';
import type { VPath } from '../storage/types.js';
import { mdtmString } from '../storage/list-format.js';
import type { CommandSpec } from './spec.js';
import { recordQuota } from '../session/limits.js';
import { resolvePathArg } from './table.js';
import { isUploadTemp } from '../policy/names.js';

/** Parses `YYYYMMDDHHMMSS[.fff]` as UTC (RFC 3659 §2.3); undefined when invalid. */
export function parseTimeVal(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d{1,9})?$/.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return undefined;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, Math.min(sec, 59)));
  return date.getUTCDate() === d ? date : undefined;
}

async function dele(s: Session, arg: string, p: VPath): Promise<Reply> {
  if (s.anonymous) return reply(550, 'Anonymous users can not delete files');
  if (s.server.config.keepAllFiles) return reply(550, `Could not delete ${arg}: Operation not permitted`);
  let size = 0;
  try {
    const e = await s.storage!.lstat(p);
    if (e.type === 'file') size = e.size;
    await s.storage!.unlink(p);
  } catch (err) {
    return reply(550, `Could not delete ${arg}: ${errnoText(err)}`);
  }
  s.server.bus.log(s.ref, 'NOTICE', `Deleted ${s.storage!.describe(p)}`);
  // A stale upload temp file was never counted (uploads through a temp file count at commit).
  const quota = isUploadTemp(p) ? [] : await recordQuota(s, -1, -size);
  return reply(250, `Deleted ${arg}`, ...quota);
}

async function rnfr(s: Session, arg: string, p: VPath): Promise<Reply> {
  if (s.server.config.noRename) return reply(550, 'Rename/move failure');
  if (s.anonymous) return reply(550, 'Anonymous users are not allowed to move/rename files');
  try {
    const e = await s.storage!.lstat(p);
    // `RNFR file/` names a directory; lstat(2) fails with ENOTDIR on a file (Pure-FTPd: 550).
    if (arg.endsWith('/') && e.type !== 'dir') return reply(550, "Sorry, but that file doesn't exist");
  } catch {
    return reply(550, "Sorry, but that file doesn't exist");
  }
  const previous = s.renameFrom !== undefined;
  s.renameFrom = p;
  const text = 'RNFR accepted - file exists, ready for destination';
  return previous ? reply(350, 'Aborting previous rename operation', text) : reply(350, text);
}

async function rnto(s: Session, arg: string, p: VPath): Promise<Reply> {
  const from = s.renameFrom;
  s.renameFrom = undefined;
  if (from === undefined) return reply(503, 'Need RNFR before RNTO');
  if (s.server.config.noRename || s.anonymous) return reply(550, 'Rename/move failure');
  if (arg.endsWith('/') && p !== '/') {
    // rename(2) refuses a file onto `name/` with ENOTDIR; the normalised path would drop the slash.
    const e = await s.storage!.lstat(from).catch(() => undefined);
    if (e?.type !== 'dir') return reply(451, 'Rename/move failure: Not a directory');
  }
  // A rename over an existing file frees what that file used (spec §5.1).
  const replaced = s.quota === undefined ? undefined : await s.storage!.lstat(p).catch(() => undefined);
  try {
    await s.storage!.rename(from, p);
  } catch (err) {
    return reply(451, `Rename/move failure: ${errnoText(err)}`);
  }
  if (replaced !== undefined && replaced.type !== 'dir') {
    await recordQuota(s, -1, replaced.type === 'file' ? -replaced.size : 0);
  }
  s.server.bus.log(
    s.ref,
    'NOTICE',
    `File successfully renamed or moved: [${s.storage!.describe(from)}]->[${s.storage!.describe(p)}]`,
  );
  return reply(250, 'File successfully renamed or moved');
}

async function regularFile(s: Session, p: VPath): Promise<Reply | { size: number; mtime: Date }> {
  try {
    const e = await s.storage!.stat(p);
    if (e.type !== 'file') return reply(550, 'I can only retrieve regular files');
    return e;
  } catch {
    return reply(550, "Can't check for file existence");
  }
}

async function mfmt(s: Session, arg: string): Promise<Reply> {
  const space = arg.indexOf(' ');
  const when = parseTimeVal(space === -1 ? arg : arg.slice(0, space));
  const name = space === -1 ? '' : arg.slice(space + 1);
  if (when === undefined || name === '') return reply(501, "Can't get a time stamp");
  if (s.anonymous) return reply(550, 'Anonymous users can not change perms');
  const p = resolvePathArg(s, name, 'write');
  try {
    await s.storage!.setTimes(p, when);
  } catch (err) {
    return reply(550, `utime(${name}): ${errnoText(err)}`);
  }
  // RFC-style confirmation (draft-somers-ftp-mfxx §3); Pure-FTPd says "213 UTIME OK".
  return reply(213, `Modify=${mdtmString(when)}; ${name}`);
}

/** DELE RNFR RNTO SIZE MDTM MFMT. */
export const fileCommands: CommandSpec[] = [
  {
    verb: 'DELE',
    login: true,
    arg: 'required',
    path: { access: 'write', file: true, removes: true },
    help: 'DELE <sp> file',
    run: dele,
  },
  {
    verb: 'RNFR',
    login: true,
    arg: 'required',
    path: { access: 'write' },
    help: 'RNFR <sp> file',
    run: rnfr,
  },
  {
    verb: 'RNTO',
    login: true,
    arg: 'required',
    path: { access: 'write', creates: true },
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
      return 'code' in r ? r : reply(213, String(r.size));
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
      return 'code' in r ? r : reply(213, mdtmString(r.mtime));
    },
  },
  {
    verb: 'MFMT',
    login: true,
    arg: 'required',
    feat: { line: 'MFMT', order: 5 },
    help: 'MFMT <sp> YYYYMMDDHHMMSS <sp> file',
    run: async (s, a) => mfmt(s, a),
  },
];
