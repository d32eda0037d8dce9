/**
 * Transfer commands: RETR STOR APPE STOU REST ABOR PRET, plus the data-setup group
 * (RFC 959 §4.1.3, RFC 3659 §5 REST STREAM, spec §2.3, §6.4). Uploads never destroy the previous
 * content of a file when they fail: the storage writes replacements through a temp file.
 */
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable, type Writable } from 'node:stream';
import { readFailure, sendFile, shortFile } from '../data/sendfile.js';
import { pumpDownload, pumpUpload, reservePump } from '../data/pump.js';
import { FileSink } from '../storage/file-sink.js';
import { FtpError, errnoText } from '../errors.js';
import { throttle } from '../data/throttle.js';
import { checkRatio } from '../policy/ratio.js';
import { byteBudget } from '../policy/quota.js';
import { checkQuotaRoom, recordQuota, reserveQuota, uploadBudget } from '../session/limits.js';
import { fromNetworkAscii, toNetworkAscii } from '../data/ascii.js';
import { reply, type Reply } from '../session/reply.js';
import type { LoggedIn } from '../session/context.js';
import { parentOf } from '../storage/jail.js';
import type { ReadHandle, UploadSink, VPath } from '../storage/types.js';
import type { CommandSpec } from './spec.js';
import { rateLine, runTransfer } from './transfer-run.js';
import { dataSetupCommands } from './data-setup.js';
import { resolvePathArg } from './paths.js';
import { Code } from '../session/codes.js';

/** Takes the pending REST offset: it applies to the next RETR/STOR/APPE only (spec §2.3). */
function takeRest(s: LoggedIn): number {
  const r = s.restOffset;
  s.restOffset = 0;
  return r;
}

/** Moves data through the transforms in order (none: a direct pipe, the fast path). */
async function pump(from: Readable, stages: Transform[], to: Writable, signal: AbortSignal): Promise<void> {
  if (stages.length === 0) await pipeline(from, to, { signal });
  else await pipeline([from, ...stages, to], { signal });
}

/**
 * The stream download path (ASCII conversion, throttling): the file's stream through the stages to
 * the socket. A read error of the file is a 451 (readFailure), not the socket's failure, and a file
 * that gives fewer bytes than `remaining` (it shrank) is a 451 too (shortFile): never a short 226.
 */
async function streamDownload(
  handle: ReadHandle,
  stages: Transform[],
  data: Writable & { bytesWritten: number },
  signal: AbortSignal,
  offset: number,
  remaining: number,
  opened: (source: Readable) => void,
): Promise<number> {
  const source = handle.stream();
  opened(source);
  let fileBytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      fileBytes += chunk.length;
      done(null, chunk);
    },
  });
  // The first failure tells which side broke: pipeline() then destroys every stream with it.
  let fileFault: unknown;
  let socketFault = false;
  source.once('error', (err) => {
    if (!socketFault) fileFault ??= err;
  });
  data.once('error', () => {
    if (fileFault === undefined) socketFault = true;
  });
  try {
    await pipeline([source, count, ...stages, data], { signal });
  } catch (err) {
    if (!signal.aborted && fileFault !== undefined) throw readFailure(fileFault, offset + fileBytes);
    throw err;
  }
  if (fileBytes < remaining) throw shortFile(offset + fileBytes, offset + remaining);
  return data.bytesWritten;
}

function doneLines(s: LoggedIn, bytes: number, seconds: number): string[] {
  const lines = ['File successfully transferred'];
  const rate = rateLine(bytes, seconds);
  if (rate !== undefined) lines.push(rate);
  if (s.type === 'A') lines.unshift('Warning: client is in ASCII mode - Assuming data is plain text');
  return lines;
}

async function retr(s: LoggedIn, arg: string, p: VPath): Promise<Reply | void> {
  const offset = takeRest(s);
  if (s.type === 'A' && offset > 1)
    return reply(Code.BAD_SEQUENCE, 'ASCII resume is unsafe, please delete the file first');
  let handle: ReadHandle;
  try {
    // One open gives the type and size (no separate stat: fewer thread-pool round trips per file).
    handle = await s.storage.openRead(p, offset);
  } catch (err) {
    if (err instanceof FtpError && err.code === 'ERR_NOT_FILE') return reply(Code.FILE_UNAVAILABLE, err.text);
    return reply(Code.FILE_UNAVAILABLE, `Can't open ${arg}: ${errnoText(err)}`);
  }
  const size = handle.size;
  let refusal: Reply | undefined;
  if (offset === size && offset > 0) {
    s.clearData();
    refusal = reply(Code.TRANSFER_COMPLETE, 'Nothing left to download');
  } else if (offset > size) {
    refusal = reply(
      Code.INVALID_REST,
      `Restart offset ${offset} is too large for file size ${size}.`,
      'Restart offset reset to 0',
    );
  } else if (s.data === undefined) {
    // The file is checked before the data connection, as Pure-FTPd does: a missing file is 550, not 425.
    refusal = reply(Code.CANT_OPEN_DATA, 'No data connection');
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
  let source: Readable | undefined;
  let progress: (() => number) | undefined;
  return runTransfer(s, {
    direction: 'download',
    path: p,
    offset,
    total: size,
    after150: remaining > 4096 ? [`${(remaining / 1024).toFixed(1)} kbytes to download`] : [],
    move: async (data, signal) => {
      const stages: Transform[] = [];
      if (s.type === 'A') stages.push(toNetworkAscii());
      if (s.rates.down !== undefined) stages.push(throttle(s.rates.down));
      if (stages.length === 0 && handle.data === undefined && handle.fd !== undefined) {
        // Big plain files: sendfile(2) on the thread pool (data/pump.ts), a bounded few at once.
        const slot = await reservePump(data, s.tls?.prot !== 'P');
        if (slot !== undefined) {
          try {
            return await pumpDownload(
              slot,
              data,
              handle.fd,
              offset,
              remaining,
              signal,
              s.idleSeconds * 1000,
              (sent) => {
                progress = sent;
              },
            );
          } finally {
            await handle.close();
          }
        }
      }
      if (stages.length === 0 && (handle.data !== undefined || handle.read !== undefined)) {
        return sendFile(handle, data, offset, remaining, signal);
      }
      return streamDownload(handle, stages, data, signal, offset, remaining, (stream) => {
        source = stream;
      });
    },
    progress: () => progress?.(),
    succeed: async (bytes, seconds) => {
      s.downloadedBytes += bytes;
      return reply(Code.TRANSFER_COMPLETE, ...doneLines(s, bytes, seconds));
    },
    fail: async () => {
      source?.destroy();
      await handle.close();
    },
  });
}

/** What kind of upload a command asks for. */
type UploadKind = 'stor' | 'appe' | 'stou';

async function upload(s: LoggedIn, p: VPath, kind: UploadKind): Promise<Reply | void> {
  const cfg = s.server.config;
  const offset = kind === 'stou' ? 0 : takeRest(s);
  const dir = kind === 'stou' ? p : parentOf(p);
  if (s.anonymous) {
    if (cfg.anonymousCantUpload)
      return reply(Code.FILE_UNAVAILABLE, 'Anonymous users may not overwrite existing files');
    if (!(await s.storage.canWrite(dir)))
      return reply(Code.NAME_NOT_ALLOWED, "Can't open that file: Permission denied");
  }
  if (s.data === undefined) return reply(Code.CANT_OPEN_DATA, 'No data connection');
  await checkQuotaRoom(s, p.slice(p.lastIndexOf('/') + 1) || p);
  let sink: UploadSink;
  try {
    sink = await s.storage.openWrite(p, {
      offset,
      append: kind === 'appe',
      atomic: cfg.noTruncate || cfg.autoRename,
      autoRename: cfg.autoRename && kind !== 'appe',
      unique: kind === 'stou',
      refuseNonEmpty: s.anonymous,
    });
  } catch (err) {
    const e = err as { reply?: number; text?: string };
    if (e.reply === Code.FILE_UNAVAILABLE) return reply(Code.FILE_UNAVAILABLE, e.text ?? 'Permission denied');
    return reply(Code.NAME_NOT_ALLOWED, `Can't open that file: ${errnoText(err)}`);
  }
  if (offset > 0) s.server.bus.log(s.ref, 'NOTICE', `Restarting at ${offset}`);
  const budget = await uploadBudget(s, sink.previousSize, sink.startOffset);
  const writtenBytes = (): number => (sink.stream as Writable & { bytesWritten?: number }).bytesWritten ?? 0;
  let overQuota = false;
  let progress: (() => number) | undefined;
  let counted = false;
  return runTransfer(s, {
    direction: 'upload',
    path: sink.target,
    offset,
    before150: kind === 'stou' ? [`FILE: ${sink.target.slice(sink.target.lastIndexOf('/') + 1)}`] : [],
    move: async (data, signal) => {
      const plain = s.rates.up === undefined && s.type === 'I' && s.tls?.prot !== 'P';
      try {
        const slot = await reservePump(data, plain && sink.stream instanceof FileSink);
        if (slot !== undefined) {
          // The native pump: 1 MiB recv/pwrite on the thread pool (data/pump.ts), a bounded few at once.
          return await pumpUpload(
            slot,
            data,
            sink.stream as FileSink,
            budget,
            signal,
            s.idleSeconds * 1000,
            (read) => {
              progress = read;
            },
          );
        }
        const stages: Transform[] = [];
        if (s.rates.up !== undefined) stages.push(throttle(s.rates.up));
        if (s.type === 'A') stages.push(fromNetworkAscii());
        if (budget !== undefined) stages.push(byteBudget(budget));
        await pump(data, stages, sink.stream, signal);
      } catch (err) {
        overQuota = err instanceof FtpError && err.code === 'ERR_QUOTA';
        throw err;
      }
      return data.bytesRead;
    },
    progress: () => progress?.(),
    succeed: async (bytes, seconds) => {
      const files = sink.created ? 1 : 0;
      const delta = sink.startOffset + writtenBytes() - sink.previousSize;
      // Counted before the commit (spec §5.1): when another session of the account used the room
      // meanwhile, the upload is dropped and the previous content of the file stays.
      const quotaLines = await reserveQuota(s, files, delta);
      counted = true;
      if (quotaLines === undefined) {
        await sink.abort({ discard: true });
        const name = sink.target.slice(sink.target.lastIndexOf('/') + 1);
        s.server.bus.log(s.ref, 'NOTICE', `Quota exceeded: ${s.storage.describe(sink.target)} not saved`);
        return reply(Code.EXCEEDED_STORAGE, `Quota exceeded: [${name}] won't be saved`);
      }
      let final: VPath;
      try {
        final = await sink.commit();
      } catch (err) {
        await recordQuota(s, -files, -delta);
        throw err;
      }
      s.uploadedBytes += bytes;
      s.server.bus.emit('upload-complete', {
        session: s.ref,
        path: final,
        realPath: s.storage.describe(final),
        bytes,
      });
      return reply(Code.TRANSFER_COMPLETE, ...doneLines(s, bytes, seconds), ...quotaLines);
    },
    fail: async () => {
      // Spec §5.1: an upload stopped by the quota leaves nothing behind (a partial new file would count).
      // A new file that never received a byte (no data connection, ABOR before any data) is removed
      // too: a failed upload must not leave empty files behind, as Pure-FTPd, which opens the file
      // only once the data connection is up, never does.
      const discard = overQuota || (sink.created && sink.startOffset + writtenBytes() === 0);
      await sink.abort({ discard });
      // What an interrupted in-place upload keeps for a resume uses room like a finished upload;
      // uncounted, repeated interrupted uploads would fill the disk past the quota.
      if (!discard && !counted && sink.inPlace) await recordQuota(s, sink.created ? 1 : 0, writtenBytes());
    },
  });
}

async function abor(s: LoggedIn): Promise<Reply> {
  const t = s.transfer;
  if (t === undefined) {
    s.clearData();
    return reply(Code.TRANSFER_COMPLETE, "Since you see this ABOR must've succeeded");
  }
  t.reason = 'abor';
  t.abort.abort();
  await t.done;
  return reply(Code.TRANSFER_COMPLETE, 'ABOR command successful');
}

function rest(s: LoggedIn, arg: string): Reply {
  const text = arg.trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    s.restOffset = 0;
    return reply(Code.INVALID_REST, 'REST needs a numeric parameter', 'Restart offset reset to 0');
  }
  s.restOffset = Number(text);
  return reply(
    Code.PENDING,
    s.type === 'A'
      ? `Restarting at ${s.restOffset}. But we're in ASCII mode`
      : `Restarting at ${s.restOffset}`,
  );
}

async function pret(s: LoggedIn, arg: string): Promise<Reply> {
  const [verb = '', ...rest] = arg.trim().split(' ');
  if (verb.toUpperCase() === 'RETR' && rest.length > 0) {
    const p = resolvePathArg(s, rest.join(' '), 'read');
    try {
      const e = await s.storage.stat(p);
      if (e.type !== 'file') return reply(Code.FILE_UNAVAILABLE, "Sorry, but that file doesn't exist");
    } catch {
      return reply(Code.FILE_UNAVAILABLE, "Sorry, but that file doesn't exist");
    }
  }
  return reply(Code.OK, 'Ready to proceed');
}

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
    transfer: true,
    help: 'STOR <sp> file',
    run: (s, _a, p) => upload(s, p, 'stor'),
  },
  {
    verb: 'APPE',
    login: true,
    arg: 'required',
    path: { access: 'write', creates: true, file: true },
    transfer: true,
    help: 'APPE <sp> file',
    run: (s, _a, p) => upload(s, p, 'appe'),
  },
  {
    verb: 'STOU',
    login: true,
    arg: 'optional',
    transfer: true,
    help: 'STOU',
    run: (s) => upload(s, s.cwd, 'stou'),
  },
  {
    verb: 'REST',
    login: true,
    arg: 'required',
    antiIdle: true,
    missingArg: reply(Code.BAD_ARGUMENTS, 'No restart point'),
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
