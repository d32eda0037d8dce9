/**
 * Reading and rewriting `pureftpd.passwd` the way pure-pw does (upstream §3.2): lines are parsed with
 * pure-pw's leniency (numbers read like strtoul), invalid lines are reported by their first field,
 * and a change rewrites the whole file through `<file>.tmp` (O_EXCL, 0600, fsync, rename) with
 * every other line copied byte-for-byte and the changed account appended at the end.
 */
import { splitPasswdFields, type PasswdRecord } from '../../auth/passwd-line.js';
import { AtomicWriter, TempFileBusyError, hasCode } from '../atomic-file.js';
import { readLineBatches, stripCarriageReturn } from '../line-reader.js';
import { errorLine, strerror, toBinary } from '../output.js';
import { cUnsigned } from '../c-number.js';

/** The temp name pure-pw uses, so that both tools exclude each other (upstream §3.2). */
export function tempNameOf(file: string): string {
  return `${file}.tmp`;
}

/**
 * Parses one line (binary string, end of line already cut) as pure-pw's parse_pw_line: login, hash,
 * uid, gid (> 0), gecos and an absolute home are required; the rest is optional. Bandwidths and
 * quotas count when their field is non-empty, ratios and max sessions only when > 0.
 */
function parsePwLine(line: string): PasswdRecord | undefined {
  const f = splitPasswdFields(line);
  if (f.length < 6 || f[0] === '' || f[1] === '' || f[2] === '' || f[3] === '') return undefined;
  const uid = Number(cUnsigned(f[2], 32));
  const gid = Number(cUnsigned(f[3], 32));
  if (uid <= 0 || gid <= 0 || !f[5].startsWith('/')) return undefined;
  const u64 = (i: number): number | undefined =>
    f[i] === undefined || f[i] === '' ? undefined : Number(cUnsigned(f[i], 64));
  const positive = (i: number): number | undefined => {
    const v = f[i] === undefined || f[i] === '' ? 0 : Number(cUnsigned(f[i], 32));
    return v > 0 ? v : undefined;
  };
  return {
    login: f[0],
    hash: f[1],
    uid,
    gid,
    gecos: f[4],
    home: f[5],
    bandwidthUp: u64(6),
    bandwidthDown: u64(7),
    ratioUp: positive(8),
    ratioDown: positive(9),
    maxSessions: positive(10),
    quotaFiles: u64(11),
    quotaBytes: u64(12),
    allowLocal: f[13],
    denyLocal: f[14],
    allowClient: f[15],
    denyClient: f[16],
    timeWindow: f[17],
  };
}

/** Warns about a line pure-pw would skip, naming it by its first field as pure-pw does. */
function warnInvalid(line: string): void {
  const colon = line.indexOf(':');
  errorLine(`Warning: invalid line [${colon === -1 ? line : line.slice(0, colon)}]`);
}

/**
 * Calls `visit` with every valid account of the file in order (invalid lines are warned about);
 * `visit` returns true to stop. Throws the open/read error.
 */
export async function forEachAccount(
  file: string,
  visit: (record: PasswdRecord) => boolean | Promise<boolean>,
): Promise<void> {
  for await (const batch of readLineBatches(file)) {
    for (const raw of batch.lines) {
      const line = stripCarriageReturn(raw).toString('latin1');
      if (line === '' || line.startsWith('#')) continue;
      const record = parsePwLine(line);
      if (record === undefined) {
        warnInvalid(line);
        continue;
      }
      if (await visit(record)) return;
    }
  }
}

/** The first valid account named `login` (binary string), or why there is none. */
export async function fetchAccount(
  file: string,
  login: string,
): Promise<{ record: PasswdRecord } | { missing: true }> {
  let found: PasswdRecord | undefined;
  try {
    await forEachAccount(file, (r) => {
      if (r.login !== login) return false;
      found = r;
      return true;
    });
  } catch (err) {
    errorLine(`Unable to open the passwd file: ${strerror(err)}`);
  }
  return found === undefined ? { missing: true } : { record: found };
}

/** How a rewrite treats lines of the account: adding refuses them, the others drop them. */
export type RewriteMode = 'add' | 'replace' | 'delete';

/**
 * Outcome of a rewrite: done; or refused with nothing changed (the account exists / does not, the
 * temp file is busy or the files cannot be read: pure-pw's status 4); or failed while writing or
 * renaming (status 255). Causes other than exists/not-found were already printed.
 */
export type RewriteResult = 'ok' | 'exists' | 'not-found' | 'refused' | 'failed';

/**
 * Rewrites `file` through `<file>.tmp`: every line is copied except those of `login` (which make
 * 'add' fail with 'exists'), then `newLine` (binary string, without `\n`) is appended. 'replace'
 * and 'delete' fail with 'not-found' when the account has no line. A missing file counts as empty;
 * any other read error aborts (pure-pw would silently start a new, empty file).
 */
export async function rewritePasswd(
  file: string,
  login: string,
  mode: RewriteMode,
  newLine?: string,
): Promise<RewriteResult> {
  let writer: AtomicWriter;
  try {
    writer = await AtomicWriter.create(file, { tempPath: tempNameOf(file), mode: 0o600 });
  } catch (err) {
    if (err instanceof TempFileBusyError) errorLine(toBinary(err.message));
    else errorLine(toBinary(`Unable to create [${tempNameOf(file)}]: ${strerror(err)}`));
    return 'refused';
  }
  const prefix = Buffer.from(`${login}:`, 'latin1');
  let found = false;
  let endsWithNewline = true;
  try {
    try {
      for await (const batch of readLineBatches(file)) {
        for (const line of batch.lines) {
          if (line.length >= prefix.length && line.subarray(0, prefix.length).equals(prefix)) {
            if (mode === 'add') {
              await writer.discard();
              return 'exists';
            }
            found = true;
            continue;
          }
          const a = writer.write(line);
          const b = batch.unterminated ? undefined : writer.write(NEWLINE);
          if (a !== undefined || b !== undefined) await Promise.all([a, b]);
          endsWithNewline = !batch.unterminated;
        }
      }
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) {
        errorLine(`Unable to open the passwd file: ${strerror(err)}`);
        await writer.discard();
        return 'refused';
      }
    }
    if (mode !== 'add' && !found) {
      await writer.discard();
      return 'not-found';
    }
    // pure-pw would glue the new account onto an unterminated last line; end that line first.
    if (!endsWithNewline && newLine !== undefined) await writer.write(NEWLINE);
    if (newLine !== undefined) await writer.write(Buffer.from(newLine + '\n', 'latin1'));
    await writer.commit();
    return 'ok';
  } catch (err) {
    await writer.discard();
    errorLine(toBinary(`Unable to rewrite [${file}]: ${strerror(err)}`));
    return 'failed';
  }
}

const NEWLINE = Buffer.from('\n');
