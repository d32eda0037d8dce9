/**
 * Listing commands: LIST NLST MLSD MLST and STAT <path> (RFC 959, RFC 3659 §7, upstream §2.4).
 * A directory is read and lstat'ed in one background job (storage/scan.ts, bounded), then lines are
 * formatted in batches and written with backpressure, so a 100,000-entry directory never sits in
 * memory as lines and never stalls other sessions. Every listing stops at -L's file limit and depth.
 */
import { raw, reply, type Reply, type ReplyLine } from '../session/reply.js';
import type { LoggedIn } from '../session/context.js';
import { joinVirtual, parentOf, baseName, resolveVirtual } from '../storage/jail.js';
import type { Entry, ScanOrder, VPath } from '../storage/types.js';
import { parseListArgs, optionsLine, type ListFlags } from '../storage/list-options.js';
import { globToMatcher, globTooComplex, hasGlob, unescapeGlob } from '../storage/glob.js';
import {
  formatColumns,
  formatLongLine,
  mlsxFacts,
  mlsxKindForName,
  mlsxLine,
} from '../storage/list-format.js';
import { entryComparator, sortEntries, sortNames } from '../storage/order.js';
import { FtpError } from '../errors.js';
import type { CommandSpec } from './spec.js';
import { namePolicy, resolvePathArg } from './paths.js';
import { dotNamesReadable } from '../policy/names.js';
import { runTransfer } from '../data/transfer.js';
import { socketLineSink, type LineSink } from '../data/line-sink.js';
import { yieldIfBusy } from '../session/yield.js';
import { ownerResolver, type OwnerResolver } from './owners.js';
import { Code } from '../session/codes.js';
import { tr } from '../i18n/msg.js';

/** Most names one directory scan keeps in memory for sorting (a hard bound whatever -L says). */
const MAX_SCAN = 1_000_000;
/** Entries stat'ed per batch. */
const BATCH = 256;
/** Names with control characters are never listed (upstream §2.4): they could forge listing lines. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;

/** Bookkeeping shared by one listing command. */
interface ListState {
  s: LoggedIn;
  flags: ListFlags;
  limit: number;
  count: number;
  truncated: boolean;
  now: Date;
  showDots: boolean;
  owners: OwnerResolver;
}

function visibleName(st: ListState, name: string): boolean {
  // Names with control characters are skipped (upstream §2.4) so they cannot corrupt a listing.
  if (CONTROL_CHARS.test(name)) return false;
  return st.showDots || !name.startsWith('.');
}

function lineFor(st: ListState, e: Entry): string | undefined {
  if (e.type === 'other') return undefined;
  const { flags } = st;
  if (!flags.long) return flags.classify ? e.name + classifySuffix(e) : e.name;
  const names = st.owners(e.uid, e.gid);
  return formatLongLine(e, { now: st.now, owner: names.owner, group: names.group, classify: flags.classify });
}

function classifySuffix(e: Entry): string {
  if (e.type === 'dir') return '/';
  if (e.type === 'symlink') return '@';
  return (e.mode & 0o111) !== 0 ? '*' : '';
}

/** Emits entries (already in display order) as lines, up to the limit. */
async function emitEntries(st: ListState, entries: Entry[], out: LineSink): Promise<void> {
  if (st.flags.columns && !st.flags.long) {
    const names: string[] = [];
    for (const e of entries) {
      if (st.count >= st.limit) {
        st.truncated = true;
        break;
      }
      if (e.type === 'other') continue;
      names.push(st.flags.classify ? e.name + classifySuffix(e) : e.name);
      st.count++;
    }
    for (const line of formatColumns(names)) await out.write(line);
    return;
  }
  for (const e of entries) {
    if (st.count >= st.limit) {
      st.truncated = true;
      return;
    }
    const line = lineFor(st, e);
    if (line === undefined) continue;
    await out.write(line);
    st.count++;
  }
}

/** Writes the `\r\n\r\n<path>:\r\n\r\n` header Pure-FTPd puts before a directory section (upstream §2.4). */
async function sectionHeader(out: LineSink, shown: string): Promise<void> {
  await out.write('');
  await out.write('');
  await out.write(`${shown}:`);
  await out.write('');
}

/**
 * Lists one directory (sorted, bounded), recursing with -R. `shown` is the directory as the client
 * named it (`.`, `dir`): sub-sections are headed `./dir/sub:`, relative like Pure-FTPd's ls [obs].
 */
async function listDirectory(
  st: ListState,
  dir: VPath,
  shown: string,
  out: LineSink,
  depth: number,
): Promise<void> {
  const storage = st.s.storage;
  const { flags } = st;
  const order: ScanOrder = flags.sortTime ? 'mtime' : flags.sortSize ? 'size' : 'name';
  // One background job reads, lstat's and sorts the whole directory (storage/scan.ts); entries
  // become objects only batch by batch below.
  const scanned = await storage.scan(dir, MAX_SCAN, order);
  if (scanned.truncated) st.truncated = true;
  // -a's `.` and `..` join the sorted sequence where they belong.
  let extras: Entry[] = [];
  if (flags.all) {
    for (const e of await storage.statMany(dir, ['.', '..'])) if (e) extras.push(e);
    extras = sortEntries(extras, { reverse: false, sortTime: flags.sortTime, sortSize: flags.sortSize });
  }
  // The scan comes sorted (unreversed) from native/dirscan.c; `.`/`..` merge in by the same rule.
  const compare = entryComparator<Entry>({
    reverse: false,
    sortTime: flags.sortTime,
    sortSize: flags.sortSize,
  });
  const before = (a: Entry, b: Entry): boolean => compare(a, b) < 0;
  const subdirs: string[] = [];
  const descends = flags.recursive && (flags.long || flags.classify);
  let batch: Entry[] = [];
  // -C lays the whole listing out in columns at once (bounded by -L); other formats go by batches.
  const batchSize = flags.columns && !flags.long ? Infinity : BATCH;
  const take = async (e: Entry): Promise<void> => {
    batch.push(e);
    if (descends && e.type === 'dir' && e.name !== '.' && e.name !== '..') subdirs.push(e.name);
    if (batch.length >= batchSize) {
      await emitEntries(st, batch, out);
      batch = [];
      await yieldIfBusy();
    }
  };
  const n = scanned.count;
  let k = 0;
  for (; k < n && st.count + batch.length < st.limit; k++) {
    const i = flags.reverse ? n - 1 - k : k;
    if (!visibleName(st, scanned.name(i))) continue;
    const e = await asBrokenClientsSee(st, dir, scanned.entry(i));
    while (
      extras.length > 0 &&
      (flags.reverse ? !before(extras[extras.length - 1], e) : before(extras[0], e))
    ) {
      await take(flags.reverse ? extras.pop()! : extras.shift()!);
    }
    await take(e);
  }
  while (extras.length > 0 && st.count + batch.length < st.limit) {
    await take(flags.reverse ? extras.pop()! : extras.shift()!);
  }
  await emitEntries(st, batch, out);
  // -L cut the listing if anything visible is left (upstream §2.4: "Output truncated to N matches").
  if (st.count >= st.limit) {
    for (; k < n && !st.truncated; k++) {
      if (visibleName(st, scanned.name(flags.reverse ? n - 1 - k : k))) st.truncated = true;
    }
    if (extras.length > 0) st.truncated = true;
  }
  // Pure-FTPd's ls only descends with -l or -F (upstream §2.4, observed).
  const maxDepth = st.s.server.config.limitRecursion.depth;
  if (!descends || depth >= maxDepth) return;
  for (const name of subdirs) {
    if (st.count >= st.limit) return;
    const sub = `${shown.endsWith('/') ? shown : `${shown}/`}${name}`;
    // Past -L's depth Pure-FTPd still prints the section header, with nothing under it [obs].
    await sectionHeader(out, sub);
    if (depth + 1 >= maxDepth) continue;
    await listDirectory(st, joinVirtual(dir, name), sub, out, depth + 1).catch(() => undefined);
  }
}

/**
 * -b (upstream §6.4): a symlink that leads somewhere is listed as what it leads to (old clients do
 * not understand `l` lines); a dangling one stays a symlink. Resolved inside the account's root.
 */
async function asBrokenClientsSee(st: ListState, dir: VPath, e: Entry): Promise<Entry> {
  if (!st.s.server.config.brokenClients || e.type !== 'symlink') return e;
  const target = await st.s.storage.stat(joinVirtual(dir, e.name)).catch(() => undefined);
  return target === undefined || target.type === 'symlink' ? e : { ...target, name: e.name };
}

/** One thing a LIST argument named: its virtual path, the text shown for it, and its entry. */
interface ListMatch {
  path: VPath;
  shown: string;
  entry: Entry;
}

/** The matches of a glob argument: names of one directory, shown with the argument's directory part. */
async function globMatches(st: ListState, arg: string, last: string): Promise<ListMatch[]> {
  const storage = st.s.storage;
  const prefix = unescapeGlob(arg.slice(0, arg.lastIndexOf('/') + 1));
  const dir = resolvePathArg(st.s, prefix === '' ? '.' : prefix, 'read');
  const match = globToMatcher(last);
  // The glob sees what readdir sees, `.` and `..` included (a `.*` pattern matches them); a pattern
  // that starts with a literal dot shows dot-names without -a, as Pure-FTPd's glob does [obs].
  const readable = dotNamesReadable(namePolicy(st.s));
  const names = ['.', '..'].filter((n) => match(n));
  for await (const name of storage.names(dir)) {
    if (CONTROL_CHARS.test(name) || (name.startsWith('.') && !readable) || !match(name)) continue;
    names.push(name);
    if (names.length > st.limit + 2) break; // upstream §6.4: glob limit = files + 2
  }
  const entries = await storage.statMany(dir, sortNames(names));
  return entries
    .filter((e): e is Entry => e !== undefined)
    .map((e) => ({ path: resolveVirtual(dir, e.name), shown: prefix + e.name, entry: e }));
}

/**
 * Lists one LIST argument: a directory, a file, or a glob. As Pure-FTPd's ls does [obs]: the files
 * an argument names come first (sorted, shown as named, `dir/a.txt`), then each directory's contents;
 * a directory section gets a `dir:` header when the argument matched several things or when there
 * are several arguments (`multiple`).
 */
async function listTarget(st: ListState, arg: string, out: LineSink, multiple: boolean): Promise<void> {
  const storage = st.s.storage;
  const last = arg.slice(arg.lastIndexOf('/') + 1);
  let matches: ListMatch[];
  if (hasGlob(last)) {
    if (globTooComplex(arg)) return; // upstream §2.4: more than 3 stars is refused; nothing matches
    matches = await globMatches(st, arg, last);
  } else {
    const shown = unescapeGlob(arg);
    const p = resolvePathArg(st.s, shown, 'read');
    const e = await storage.stat(p);
    const entry = e.type === 'dir' ? { ...e, name: p === '/' ? '/' : baseName(p) } : await storage.lstat(p);
    matches = [{ path: p, shown, entry }];
  }
  const isSection = (m: ListMatch): boolean => m.entry.type === 'dir' && !st.flags.directory;
  const files = matches.filter((m) => !isSection(m)).map((m) => ({ ...m.entry, name: m.shown }));
  await emitEntries(st, sortEntries(files, st.flags), out);
  const headed = multiple || matches.length > 1;
  for (const m of matches.filter(isSection)) {
    if (st.count >= st.limit) return;
    if (headed) await sectionHeader(out, m.shown);
    await listDirectory(st, m.path, m.shown, out, 0);
  }
}

async function newState(s: LoggedIn, flags: ListFlags): Promise<ListState> {
  const cfg = s.server.config;
  const dotsAllowed = dotNamesReadable(namePolicy(s));
  return {
    s,
    flags,
    limit: cfg.limitRecursion.files,
    count: 0,
    truncated: false,
    now: new Date(),
    showDots: dotsAllowed && (flags.all || cfg.displayDotFiles),
    owners: await ownerResolver(s),
  };
}

function finalLines(st: ListState): ReplyLine[] {
  const opts = optionsLine(st.flags);
  const last = st.truncated ? tr`Output truncated to ${st.limit} matches` : tr`${st.count} matches total`;
  return opts === undefined ? [last] : [opts, last];
}

async function list(s: LoggedIn, arg: string): Promise<Reply | void> {
  const { flags, patterns, multiple } = parseListArgs(arg);
  if (s.server.config.displayDotFiles) flags.all = true;
  const st = await newState(s, flags);
  return runTransfer(s, {
    direction: 'download',
    listing: true,
    path: s.cwd,
    offset: 0,
    move: async (data) => {
      const out = socketLineSink(data);
      for (const pattern of patterns.length > 0 ? patterns : ['.']) {
        await listTarget(st, pattern, out, multiple).catch((err: unknown) => {
          if (err instanceof FtpError && err.code === 'ERR_DATA_CLOSED') throw err;
        });
      }
      await out.flush();
      await new Promise<void>((resolve) => data.end(resolve));
      return data.bytesWritten;
    },
    succeed: async () => reply(Code.TRANSFER_COMPLETE, ...finalLines(st)),
    fail: async () => undefined,
  });
}

async function nlst(s: LoggedIn, arg: string): Promise<Reply | void> {
  // Options some clients send (`NLST -a`) are ignored; the rest is a directory or a glob.
  const target = arg.replace(/^(-\S+\s*)+/, '').trim();
  const showDots = dotNamesReadable(namePolicy(s));
  const limit = s.server.config.limitRecursion.files;
  const glob = hasGlob(target.slice(target.lastIndexOf('/') + 1));
  const dirArg = glob ? target.slice(0, target.lastIndexOf('/') + 1) || '.' : target || '.';
  const dir = resolvePathArg(s, dirArg, 'read');
  const e = await s.storage.stat(dir).catch(() => undefined);
  if (e === undefined || e.type !== 'dir')
    return reply(Code.FILE_UNAVAILABLE, tr`Can't check for file existence`);
  const match = glob ? globToMatcher(target.slice(target.lastIndexOf('/') + 1)) : undefined;
  const prefix = glob
    ? target.slice(0, target.lastIndexOf('/') + 1)
    : target === ''
      ? ''
      : `${target.replace(/\/+$/, '')}/`;
  let count = 0;
  let truncated = false;
  return runTransfer(s, {
    direction: 'download',
    listing: true,
    path: dir,
    offset: 0,
    move: async (data) => {
      const out = socketLineSink(data);
      for await (const name of s.storage.names(dir)) {
        if (CONTROL_CHARS.test(name) || (!showDots && name.startsWith('.'))) continue;
        if (match && !match(name)) continue;
        if (count >= limit) {
          truncated = true;
          break;
        }
        await out.write(prefix + name);
        count++;
      }
      await out.flush();
      await new Promise<void>((resolve) => data.end(resolve));
      return data.bytesWritten;
    },
    succeed: async () =>
      reply(
        Code.TRANSFER_COMPLETE,
        truncated ? tr`Output truncated to ${limit} matches` : tr`${count} matches total`,
      ),
    fail: async () => undefined,
  });
}

async function mlsd(s: LoggedIn, _arg: string, p: VPath): Promise<Reply | void> {
  const storage = s.storage;
  const e = await storage.stat(p).catch(() => undefined);
  if (e === undefined) return reply(Code.FILE_UNAVAILABLE, tr`Can't check for file existence`);
  // Upstream §2.4: the argument must be a directory; a file gets the same 550 as a missing path [obs].
  if (e.type !== 'dir') return reply(Code.FILE_UNAVAILABLE, tr`Can't check for file existence`);
  const showDots = dotNamesReadable(namePolicy(s));
  const limit = s.server.config.limitRecursion.files;
  let count = 0;
  let truncated = false;
  return runTransfer(s, {
    direction: 'download',
    listing: true,
    path: p,
    offset: 0,
    move: async (data) => {
      const out = socketLineSink(data);
      // `.` and `..` are lines like the others (and count toward -L); `..` of the root is the root,
      // as in Pure-FTPd's chroot (upstream §2.4).
      const self = await storage.stat(p);
      await out.write(mlsxLine(mlsxFacts(self, { kind: 'cdir', anonymous: s.anonymous }), '.'));
      count++;
      const up = await storage.stat(parentOf(p)).catch(() => undefined);
      if (up) {
        await out.write(mlsxLine(mlsxFacts(up, { kind: 'pdir', anonymous: s.anonymous }), '..'));
        count++;
      }
      // One background scan, bounded by -L (+1 to tell "exactly the limit" from "more") unless hidden
      // dot-names may be skipped, then by the hard scan bound.
      const scanned = await storage.scan(p, showDots ? Math.max(0, limit - count) + 1 : MAX_SCAN);
      for (let i = 0; i < scanned.count; i++) {
        const name = scanned.name(i);
        if (CONTROL_CHARS.test(name) || (!showDots && name.startsWith('.'))) continue;
        if (count >= limit) {
          truncated = true;
          break;
        }
        const entry = scanned.entry(i);
        const facts = mlsxFacts(entry, { anonymous: s.anonymous, symlinkTarget: entry.linkTarget });
        await out.write(mlsxLine(facts, entry.name));
        count++;
        if ((count & 255) === 0) await yieldIfBusy();
      }
      await out.flush();
      await new Promise<void>((resolve) => data.end(resolve));
      return data.bytesWritten;
    },
    succeed: async () =>
      reply(
        Code.TRANSFER_COMPLETE,
        truncated ? tr`Output truncated to ${limit} matches` : tr`${count} matches total`,
      ),
    fail: async () => undefined,
  });
}

async function mlst(s: LoggedIn, arg: string, p: VPath): Promise<Reply> {
  const storage = s.storage;
  let e: Entry;
  try {
    // A symlink is reported as itself (`type=OS.unix=slink:`), as MLSD does and Pure-FTPd does [obs].
    e = await storage.lstat(p);
  } catch {
    return reply(Code.FILE_UNAVAILABLE, tr`Can't check for file existence`);
  }
  const name = arg === '' ? '.' : arg;
  const kind = e.type === 'dir' ? mlsxKindForName(name) : undefined; // `.` is cdir, `/` and `..` pdir
  const facts = mlsxFacts(e, { kind, anonymous: s.anonymous, symlinkTarget: e.linkTarget });
  return reply(Code.FILE_ACTION_OK, 'Begin', raw(mlsxLine(facts, name)), 'End.');
}

/** STAT <path>: the LIST output on the control connection (upstream §2.3). */
export async function statListing(s: LoggedIn, arg: string): Promise<Reply> {
  const { flags, patterns, multiple } = parseListArgs(arg);
  const st = await newState(s, flags);
  const lines: ReplyLine[] = [];
  const out: LineSink = { write: async (line) => void lines.push(raw(line)) };
  for (const pattern of patterns.length > 0 ? patterns : ['.']) {
    await listTarget(st, pattern, out, multiple).catch(() => undefined);
  }
  return reply(Code.FILE_STATUS, 'STAT', ...lines, 'End.');
}

/** LIST NLST MLSD MLST. */
export const listingCommands: CommandSpec[] = [
  { verb: 'LIST', login: true, arg: 'optional', transfer: true, help: 'LIST [<sp> path]', run: list },
  { verb: 'NLST', login: true, arg: 'optional', transfer: true, help: 'NLST [<sp> path]', run: nlst },
  {
    verb: 'MLSD',
    login: true,
    arg: 'optional',
    path: { access: 'read', default: '.' },
    transfer: true,
    feat: { line: 'MLSD', order: 8 },
    help: 'MLSD [<sp> directory]',
    run: mlsd,
  },
  {
    verb: 'MLST',
    login: true,
    arg: 'optional',
    path: { access: 'read', default: '.' },
    feat: { line: 'MLST type*;size*;sizd*;modify*;UNIX.mode*;UNIX.uid*;UNIX.gid*;unique*;', order: 7 },
    help: 'MLST [<sp> path]',
    run: mlst,
  },
];
