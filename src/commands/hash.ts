/**
 * File digests: HASH and OPTS HASH (draft-bryan-ftpext-hash-02), and the XMD5, XSHA1, XSHA256,
 * XSHA512 and XCRC commands FileZilla, rclone-style scripts and older clients use to check a
 * transfer. Digests run in worker threads (src/hash/hasher.ts), one job per session at a time,
 * cancellable by ABOR or QUIT like a transfer; each session may hash at most --hash-limit MB per
 * minute (a digest costs the server CPU for each byte: an amplifier if unbounded).
 */
import { reply, type Reply } from '../session/reply.js';
import type { LoggedIn, SessionContext } from '../session/context.js';
import type { CommandSpec } from './spec.js';
import { Code } from '../session/codes.js';
import { tr } from '../i18n/msg.js';
import { resolvePathArg } from './paths.js';
import type { VPath } from '../storage/types.js';
import { DEFAULT_HASH, HASH_ALGORITHMS, hashAlgorithm, type HashAlgorithm } from '../hash/algorithms.js';
import { HashError, hashFile } from '../hash/hasher.js';
import type { Transfer } from '../data/types.js';

/** A session's hash state: the OPTS HASH selection and its byte budget of the current minute. */
interface HashState {
  algorithm: HashAlgorithm;
  windowStart: number;
  used: number;
}

const states = new WeakMap<SessionContext, HashState>();
const WINDOW_MS = 60_000;

function stateOf(s: SessionContext): HashState {
  let st = states.get(s);
  if (st === undefined) {
    st = { algorithm: DEFAULT_HASH, windowStart: Date.now(), used: 0 };
    states.set(s, st);
  }
  return st;
}

/** The digest commands (off with --hash-limit 0). */
export const HASH_VERBS = new Set(['HASH', 'XCRC', 'XMD5', 'XSHA1', 'XSHA256', 'XSHA512']);

/** FEAT's HASH line: every algorithm, the session's selection marked. */
export function featHashLine(s: SessionContext): string {
  const selected = stateOf(s).algorithm;
  return `HASH ${HASH_ALGORITHMS.map((a) => (a === selected ? `${a}*` : a)).join(';')}`;
}

/** OPTS HASH [algorithm]: shows or changes the session's selection. */
export function optsHash(s: SessionContext, name: string | undefined): Reply {
  const st = stateOf(s);
  if (name === undefined || name === '') return reply(Code.OK, st.algorithm);
  const a = hashAlgorithm(name);
  if (a === undefined) return reply(Code.BAD_ARGUMENTS, tr`Unknown algorithm ${name}, selection not changed`);
  st.algorithm = a;
  return reply(Code.OK, a);
}

/** The reply refusing a job beyond the session's budget, or undefined (and the bytes are counted). */
function overBudget(s: LoggedIn, bytes: number): Reply | undefined {
  const limitMb = s.server.config.hashLimitMb ?? DEFAULT_HASH_LIMIT_MB;
  const st = stateOf(s);
  const now = Date.now();
  if (now - st.windowStart >= WINDOW_MS) {
    st.windowStart = now;
    st.used = 0;
  }
  const limit = limitMb * 1024 * 1024;
  // One file larger than the whole budget may still be hashed once, at the start of a window.
  if (st.used > 0 && st.used + bytes > limit) {
    const wait = Math.ceil((st.windowStart + WINDOW_MS - now) / 1000);
    return reply(
      Code.FILE_BUSY,
      tr`Hash limit of ${limitMb} MB per minute reached, try again in ${wait} seconds`,
    );
  }
  st.used += bytes;
  return undefined;
}

/** Default --hash-limit, in MB per session per minute. */
export const DEFAULT_HASH_LIMIT_MB = 2048;

/**
 * Hashes [start, end) of a file as a transfer (ABOR and QUIT stop it; STAT and `who` show it), then
 * sends `done(hex, size)` or the refusal. Returns nothing: the reply is sent here.
 */
async function runHash(
  s: LoggedIn,
  p: VPath,
  range: { start: number; end?: number },
  algorithm: HashAlgorithm,
  done: (hex: string, start: number, end: number) => Reply,
): Promise<Reply | void> {
  if (s.server.config.hashLimitMb === 0) return reply(Code.NOT_IMPLEMENTED, tr`Unknown command`);
  let handle;
  try {
    const e = await s.storage.stat(p);
    if (e.type !== 'file') return reply(Code.FILE_UNAVAILABLE, tr`I can only retrieve regular files`);
    handle = await s.storage.openRead(p, 0);
  } catch {
    return reply(Code.FILE_UNAVAILABLE, tr`Can't check for file existence`);
  }
  const end = Math.min(range.end ?? handle.size, handle.size);
  const start = Math.min(range.start, end);
  const refused = overBudget(s, end - start);
  if (refused !== undefined) {
    await handle.close();
    return refused;
  }
  const abort = new AbortController();
  let finished!: () => void;
  const t: Transfer = {
    direction: 'download',
    listing: false,
    path: p,
    abort,
    done: new Promise<void>((resolve) => (finished = resolve)),
    startedAt: Date.now(),
    offset: start,
    total: end - start,
    bytes: () => 0,
  };
  s.transfer = t;
  let answer: Reply;
  try {
    answer = done(await hashFile(handle, start, end, algorithm, abort.signal), start, end);
  } catch (err) {
    const kind = err instanceof HashError ? err.kind : 'io';
    if (kind !== 'aborted')
      s.server.bus.log(s.ref, 'WARNING', `${algorithm} of ${s.storage.describe(p)} failed: ${kind}`);
    answer =
      kind === 'busy'
        ? reply(Code.FILE_BUSY, tr`Too many hashes at once, try again later`)
        : kind === 'aborted'
          ? reply(Code.TRANSFER_ABORTED, tr`Transfer aborted`)
          : reply(Code.LOCAL_ERROR, tr`Input/output error`);
  } finally {
    s.transfer = undefined;
  }
  s.send(answer);
  finished();
}

/** `name [start [end]]` of the X* commands: the whole argument when it names a file, else the trailing numbers are the range. */
async function xTarget(s: LoggedIn, arg: string): Promise<{ p: VPath; start: number; end?: number }> {
  const whole = resolvePathArg(s, arg, 'read');
  const m = /^(.*?)[\s,]+(\d{1,15})(?:[\s,]+(\d{1,15}))?$/.exec(arg);
  if (m === null) return { p: whole, start: 0 };
  const isFile = await s.storage.stat(whole).then(
    (e) => e.type === 'file',
    () => false,
  );
  if (isFile) return { p: whole, start: 0 };
  const p = resolvePathArg(s, m[1], 'read');
  return m[3] === undefined
    ? { p, start: 0, end: Number(m[2]) }
    : { p, start: Number(m[2]), end: Number(m[3]) };
}

function xCommand(verb: string, algorithm: HashAlgorithm, order: number): CommandSpec {
  return {
    verb,
    login: true,
    arg: 'required',
    feat: { line: verb, order },
    help: `${verb} <sp> file [<sp> start <sp> end]`,
    run: async (s, a) => {
      const { p, start, end } = await xTarget(s, a);
      return runHash(s, p, { start, end }, algorithm, (hex) => reply(Code.FILE_ACTION_OK, hex));
    },
  };
}

/** HASH and the X* digest commands. */
export const hashCommands: CommandSpec[] = [
  {
    verb: 'HASH',
    login: true,
    arg: 'required',
    path: { access: 'read', file: true },
    feat: { line: 'HASH', order: 18 },
    help: 'HASH <sp> file',
    run: async (s, a, p) => {
      const algorithm = stateOf(s).algorithm;
      return runHash(s, p, { start: 0 }, algorithm, (hex, start, end) =>
        reply(Code.FILE_STATUS, `${algorithm} ${start}-${end} ${hex} ${a}`),
      );
    },
  },
  xCommand('XCRC', 'CRC32', 19),
  xCommand('XMD5', 'MD5', 20),
  xCommand('XSHA1', 'SHA-1', 21),
  xCommand('XSHA256', 'SHA-256', 22),
  xCommand('XSHA512', 'SHA-512', 23),
];
