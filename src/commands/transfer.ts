/**
 * Transfer commands: RETR STOR APPE STOU REST ABOR PRET, plus the data-setup group
 * (RFC 959 §4.1.3, RFC 3659 §5 REST STREAM, upstream §2.3, §6.4). Uploads never destroy the previous
 * content of a file when they fail: the storage writes replacements through a temp file.
 */
import { FtpError, errnoText } from '../errors.js';
import { checkRatio } from '../policy/ratio.js';
import { Code } from '../session/codes.js';
import { reply, type Reply } from '../session/reply.js';
import type { LoggedIn } from '../session/context.js';
import { parentOf } from '../storage/jail.js';
import type { ReadHandle, UploadSink, VPath } from '../storage/types.js';
import { isQuotaFailure, moveDownload, moveUpload, type MoveOptions } from '../data/movers.js';
import { rateLine, runTransfer } from '../data/transfer.js';
import type { RateLimiter } from '../data/throttle.js';
import type { CommandSpec } from './spec.js';
import { dataSetupCommands } from './data-setup.js';
import { resolvePathArg } from './paths.js';
import { tr } from '../i18n/msg.js';
import type { ReplyLine } from '../session/reply.js';

/** Takes the pending REST offset: it applies to the next RETR/STOR/APPE only (upstream §2.3). */
function takeRest(s: LoggedIn): number {
  const r = s.restOffset;
  s.restOffset = 0;
  return r;
}

/** How this session's transfers in one direction move their bytes (data/movers.ts). */
function moveOptions(
  s: LoggedIn,
  rate: RateLimiter | undefined,
  onProgress: MoveOptions['onProgress'],
): MoveOptions {
  return { ascii: s.type === 'A', rate, tls: s.tls?.prot === 'P', idleMs: s.idleSeconds * 1000, onProgress };
}

function doneLines(s: LoggedIn, bytes: number, seconds: number): ReplyLine[] {
  const lines: ReplyLine[] = [tr`File successfully transferred`];
  const rate = rateLine(bytes, seconds);
  if (rate !== undefined) lines.push(rate);
  if (s.type === 'A') lines.unshift(tr`Warning: client is in ASCII mode - Assuming data is plain text`);
  return lines;
}

async function retr(s: LoggedIn, arg: string, p: VPath): Promise<Reply | void> {
  const cfg = s.server.config;
  // -m (upstream §5.3): the load when this client connected decides, for anonymous downloads only.
  if (
    s.anonymous &&
    cfg.maxLoad !== undefined &&
    s.connectLoad !== undefined &&
    s.connectLoad >= cfg.maxLoad
  ) {
    takeRest(s);
    return reply(
      Code.FILE_UNAVAILABLE,
      tr`The load was ${s.connectLoad.toFixed(2)} when you connected. We do not allow downloads`,
      tr`by anonymous users when the load is that high. Uploads are always`,
      tr`allowed.`,
    );
  }
  const offset = takeRest(s);
  if (s.type === 'A' && offset > 1)
    return reply(Code.BAD_SEQUENCE, tr`ASCII resume is unsafe, please delete the file first`);
  let handle: ReadHandle;
  try {
    // One open gives the type and size (no separate stat: fewer thread-pool round trips per file).
    handle = await s.storage.openRead(p, offset);
  } catch (err) {
    if (err instanceof FtpError && err.code === 'ERR_NOT_FILE') return reply(Code.FILE_UNAVAILABLE, err.text);
    return reply(Code.FILE_UNAVAILABLE, tr`Can't open ${arg}: ${errnoText(err)}`);
  }
  const size = handle.size;
  let refusal: Reply | undefined;
  const ftpUid = s.server.anonymous?.uid;
  if (cfg.antiWarez && s.anonymous && ftpUid !== undefined && handle.uid === ftpUid) {
    // -s (upstream §6.1): an anonymous upload waits for an admin to chown it before anyone downloads it.
    refusal = reply(
      Code.FILE_UNAVAILABLE,
      tr`This file has been uploaded by an anonymous user. It has not`,
      tr`yet been approved for downloading by the site administrators.`,
    );
  } else if (offset === size && offset > 0) {
    s.clearData();
    refusal = reply(Code.TRANSFER_COMPLETE, tr`Nothing left to download`);
  } else if (offset > size) {
    refusal = reply(
      Code.INVALID_REST,
      tr`Restart offset ${offset} is too large for file size ${size}.`,
      tr`Restart offset reset to 0`,
    );
  } else if (s.data === undefined) {
    // The file is checked before the data connection, as Pure-FTPd does: a missing file is 550, not 425.
    refusal = reply(Code.CANT_OPEN_DATA, tr`No data connection`);
  }
  try {
    if (s.limits.ratio !== undefined && refusal === undefined) {
      checkRatio(s.limits.ratio, s.uploadedBytes, s.downloadedBytes, size - offset);
    }
  } catch (err) {
    await handle.close();
    throw err;
  }
  if (refusal !== undefined) {
    await handle.close();
    return refusal;
  }
  const remaining = size - offset;
  let progress: (() => number) | undefined;
  return runTransfer(s, {
    direction: 'download',
    path: p,
    offset,
    total: size,
    after150: remaining > 4096 ? [tr`${(remaining / 1024).toFixed(1)} kbytes to download`] : [],
    move: (data, signal) =>
      moveDownload(
        handle,
        data,
        signal,
        offset,
        remaining,
        moveOptions(s, s.rates.down, (p) => (progress = p)),
      ),
    progress: () => progress?.(),
    succeed: async (bytes, seconds) => {
      s.downloadedBytes += bytes;
      return reply(Code.TRANSFER_COMPLETE, ...doneLines(s, bytes, seconds));
    },
    fail: () => handle.close(),
  });
}

/** What kind of upload a command asks for. */
type UploadKind = 'stor' | 'appe' | 'stou';

/** -k (upstream §5.3): the file system of `dir` has less than (100 - pct)% of its blocks free. */
async function diskTooFull(s: LoggedIn, dir: VPath, pct: number): Promise<boolean> {
  try {
    const { total, free } = await s.storage.statfs(dir);
    return total > 0 && free / total < (100 - pct) / 100;
  } catch {
    return false; // a file system that cannot say is not refused on that account
  }
}

async function upload(s: LoggedIn, p: VPath, kind: UploadKind): Promise<Reply | void> {
  const cfg = s.server.config;
  const offset = kind === 'stou' ? 0 : takeRest(s);
  const dir = kind === 'stou' ? p : parentOf(p);
  if (s.anonymous && !(await s.storage.canWrite(dir))) {
    return reply(Code.NAME_NOT_ALLOWED, tr`Can't open that file: Permission denied`);
  }
  if (s.data === undefined) return reply(Code.CANT_OPEN_DATA, tr`No data connection`);
  if (cfg.maxDiskUsage !== undefined && (await diskTooFull(s, dir, cfg.maxDiskUsage))) {
    return reply(Code.EXCEEDED_STORAGE, tr`Disk full - please upload later`);
  }
  let sink: UploadSink;
  try {
    // With a quota, the storage checks the room here and counts the upload at commit (quota-storage.ts).
    sink = await s.storage.openWrite(p, {
      offset,
      append: kind === 'appe',
      atomic: cfg.noTruncate || cfg.autoRename,
      autoRename: cfg.autoRename && kind !== 'appe',
      unique: kind === 'stou',
      refuseNonEmpty: s.anonymous,
    });
  } catch (err) {
    if (isQuotaFailure(err)) throw err;
    if (err instanceof FtpError && err.reply === Code.FILE_UNAVAILABLE) return reply(err.reply, err.text);
    return reply(Code.NAME_NOT_ALLOWED, tr`Can't open that file: ${errnoText(err)}`);
  }
  if (offset > 0) s.server.bus.log(s.ref, 'NOTICE', `Restarting at ${offset}`);
  let overQuota = false;
  let progress: (() => number) | undefined;
  return runTransfer(s, {
    direction: 'upload',
    path: sink.target,
    offset,
    before150: kind === 'stou' ? [`FILE: ${sink.target.slice(sink.target.lastIndexOf('/') + 1)}`] : [],
    move: async (data, signal) => {
      try {
        return await moveUpload(
          sink,
          data,
          signal,
          moveOptions(s, s.rates.up, (p) => (progress = p)),
        );
      } catch (err) {
        overQuota = isQuotaFailure(err);
        throw err;
      }
    },
    progress: () => progress?.(),
    succeed: async (bytes, seconds) => {
      const final = await sink.commit();
      s.uploadedBytes += bytes;
      s.server.bus.emit('upload-complete', {
        session: s.ref,
        path: final,
        realPath: s.storage.describe(final),
        bytes,
      });
      return reply(Code.TRANSFER_COMPLETE, ...doneLines(s, bytes, seconds), ...s.storage.usageLines());
    },
    fail: async () => {
      // Upstream §5.1: an upload stopped by the quota leaves nothing behind (a partial new file would count).
      // A new file that never received a byte (no data connection, ABOR before any data) is removed
      // too: a failed upload must not leave empty files behind, as Pure-FTPd, which opens the file
      // only once the data connection is up, never does.
      await sink.abort({ discard: overQuota || (sink.created && sink.startOffset + sink.written() === 0) });
    },
  });
}

async function abor(s: LoggedIn): Promise<Reply> {
  const t = s.transfer;
  if (t === undefined) {
    s.clearData();
    return reply(Code.TRANSFER_COMPLETE, tr`Since you see this ABOR must've succeeded`);
  }
  t.reason = 'abor';
  t.abort.abort();
  await t.done;
  return reply(Code.TRANSFER_COMPLETE, tr`ABOR command successful`);
}

function rest(s: LoggedIn, arg: string): Reply {
  const text = arg.trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    s.restOffset = 0;
    return reply(Code.INVALID_REST, tr`REST needs a numeric parameter`, tr`Restart offset reset to 0`);
  }
  s.restOffset = Number(text);
  return reply(
    Code.PENDING,
    s.type === 'A'
      ? tr`Restarting at ${s.restOffset}. But we're in ASCII mode`
      : tr`Restarting at ${s.restOffset}`,
  );
}

async function pret(s: LoggedIn, arg: string): Promise<Reply> {
  const [verb = '', ...rest] = arg.trim().split(' ');
  if (verb.toUpperCase() === 'RETR' && rest.length > 0) {
    const p = resolvePathArg(s, rest.join(' '), 'read');
    try {
      const e = await s.storage.stat(p);
      if (e.type !== 'file') return reply(Code.FILE_UNAVAILABLE, tr`Sorry, but that file doesn't exist`);
    } catch {
      return reply(Code.FILE_UNAVAILABLE, tr`Sorry, but that file doesn't exist`);
    }
  }
  return reply(Code.OK, tr`Ready to proceed`);
}

/** Uploads: anonymous refused with -i (upstream §1.2). */
const UPLOAD_PERMISSION = {
  need: 'upload',
  denied: { anonymous: tr`Anonymous users may not overwrite existing files` },
} as const;

/** RETR STOR APPE STOU REST ABOR PRET and the data-setup commands. */
export const transferCommands: CommandSpec[] = [
  ...dataSetupCommands,
  {
    verb: 'RETR',
    login: true,
    arg: 'required',
    path: { access: 'read', file: true },
    transfer: true,
    help: 'RETR <sp> file',
    run: retr,
  },
  {
    verb: 'STOR',
    login: true,
    arg: 'required',
    path: { access: 'write', creates: true, file: true },
    perm: UPLOAD_PERMISSION,
    transfer: true,
    help: 'STOR <sp> file',
    run: (s, _a, p) => upload(s, p, 'stor'),
  },
  {
    verb: 'APPE',
    login: true,
    arg: 'required',
    path: { access: 'write', creates: true, file: true },
    perm: UPLOAD_PERMISSION,
    transfer: true,
    help: 'APPE <sp> file',
    run: (s, _a, p) => upload(s, p, 'appe'),
  },
  {
    verb: 'STOU',
    login: true,
    arg: 'optional',
    perm: UPLOAD_PERMISSION,
    transfer: true,
    help: 'STOU',
    run: (s) => upload(s, s.cwd, 'stou'),
  },
  {
    verb: 'REST',
    login: true,
    arg: 'required',
    antiIdle: true,
    missingArg: reply(Code.BAD_ARGUMENTS, tr`No restart point`),
    feat: { line: 'REST STREAM', order: 6 },
    help: 'REST <sp> offset',
    run: async (s, a) => rest(s, a),
  },
  {
    verb: 'ABOR',
    login: true,
    arg: 'optional',
    duringTransfer: true,
    help: 'ABOR',
    run: (s) => abor(s),
  },
  {
    verb: 'PRET',
    login: true,
    arg: 'required',
    feat: { line: 'PRET', order: 9 },
    help: 'PRET <sp> command',
    run: (s, a) => pret(s, a),
  },
];
