/**
 * The tree walk of `tsftpd quotacheck` (upstream §5.1). It counts exactly what pure-quotacheck counts
 * (checked against it on the same trees, test/e2e/quotacheck.test.ts):
 * - regular files, their st_size summed; a hard link counts once per name;
 * - subdirectories as files, when they could be opened (their own contents counted only if the
 *   account may search them); a directory reached twice (dev/inode) counts once; the root itself
 *   is not counted;
 * - `.ftpquota` is skipped at every level; dot files count; fifos, sockets and devices never;
 * - a symlink counts as what it leads to (a file again, or a directory not yet seen). Run as
 *   root, pure-quotacheck chroots into the tree: symlinks resolve inside it (`/`, `..` and
 *   absolute targets never leave it). Run as a user, they resolve on the whole system;
 * - the account's own directories lacking u+rx are given them (as pure-quotacheck does);
 * - nothing whose path, as pure-quotacheck spells it (`//a/b` chrooted, `.//a/b` otherwise, so
 *   depending on the route that first reached the directory), is PATH_MAX (4096) bytes or longer;
 * - other filesystems mounted inside the tree are walked too.
 * The walk is depth first in readdir order, as pure-quotacheck's, so the first route to a
 * directory is the same.
 *
 * Guarantees: run as root, the walk acts with the account's own rights (uid, gid and groups are
 * switched for the whole process while it runs: this is a short-lived single-purpose CLI, and
 * every permission is then the kernel's, ACLs included) and restores root's afterwards. The
 * native walk (native/quotawalk.c) opens every directory relative to its parent's descriptor
 * without following symlinks, and resolves a symlink only through openat2(RESOLVE_IN_ROOT) from
 * the root: nothing outside the tree is ever counted. The JavaScript fallback (addon not built,
 * or Linux < 5.6) resolves symlinks component by component inside the tree; a user renaming
 * things in their own tree while it runs could at worst make it count what that user may read
 * elsewhere; and as it opens directories by their real path from the root, a directory that a
 * short symlink reaches first but whose real path is close to PATH_MAX may be counted short.
 * Both are single-pass and synchronous per entry (one job, or one synchronous loop): no promise
 * per file. Running out of descriptors (one per level of depth) or memory fails the walk rather
 * than giving a short count (pure-quotacheck silently counts less).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  opendirSync,
  openSync,
  readlinkSync,
  statSync,
  type BigIntStats,
  type Dir,
  type Dirent,
  type Stats,
} from 'node:fs';
import { loadAddon } from '../native-addons.js';

/** The name pure-ftpd keeps its counters in (upstream §5.1), never counted. */
export const QUOTA_FILE_NAME = '.ftpquota';
/** Longest path pure-quotacheck can stat: PATH_MAX - 1 bytes. */
export const PATH_LIMIT = 4095;
const MAX_SYMLINK_HOPS = 40;
/** Progress is reported (to the throttled display) every this many entries. */
const PROGRESS_EVERY = 4096;
const W = 2;
const X = 1;
const QUOTA_NAME = Buffer.from(QUOTA_FILE_NAME);
const SLASH = Buffer.from('/');
const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');
/** Errors that end the whole walk: a count missing what could not be opened would be wrong. */
const FATAL = new Set(['EMFILE', 'ENFILE', 'ENOMEM']);

/** Whose view of the tree is counted. */
export interface WalkIdentity {
  uid: number;
  /** The account's gid (egid while walking, confined mode). */
  gid: number;
  /** Primary and supplementary groups (confined mode). */
  groups: number[];
  /** Root mode: chroot semantics and the account's ids (see above); else our own ids. */
  confined: boolean;
}

/** What was found. */
export interface WalkTotals {
  files: bigint;
  bytes: bigint;
}

/** Called now and then during a walk with the counts so far. */
export type ProgressFn = (files: number, bytes: number) => void;

/** True when `who` may access `st` for the mode bits `want` (owner, then group, then other). */
export function permits(who: WalkIdentity, st: BigIntStats, want: number): boolean {
  if (!who.confined) return true;
  const mode = Number(st.mode);
  if (Number(st.uid) === who.uid) return ((mode >> 6) & want) === want;
  if (who.groups.includes(Number(st.gid))) return ((mode >> 3) & want) === want;
  return (mode & want) === want;
}

/** Write + search permission on a directory, for the quota file. */
export function canWriteIn(who: WalkIdentity, st: BigIntStats): boolean {
  return permits(who, st, W | X);
}

/** The native walker's exports (native/quotawalk.c). */
export interface QuotaAddon {
  /** An O_PATH descriptor of the tree's root (to be closed by the caller). */
  openRoot(path: string): number;
  /** Counts the tree below `rootFd` in one thread-pool job. */
  walk(rootFd: number, uid: number, confined: boolean, onProgress?: ProgressFn): Promise<WalkTotals>;
}

/** The native walker, or undefined when it was not built (the JavaScript walk is used then). */
export function quotaAddon(): Promise<QuotaAddon | undefined> {
  return loadAddon<QuotaAddon>('tsftpd_quota', 'run "npm install"').catch(() => undefined);
}

/** Node's errno code of an error, if any. */
function codeOf(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}

/** Runs `fn` with the account's uid, gid and groups (confined mode), then restores ours. */
async function asAccount<T>(who: WalkIdentity, fn: () => Promise<T> | T): Promise<T> {
  if (!who.confined) return fn();
  const saved = { groups: process.getgroups!(), egid: process.getegid!(), euid: process.geteuid!() };
  try {
    process.setgroups!(who.groups);
    process.setegid!(who.gid);
    process.seteuid!(who.uid);
    return await fn();
  } finally {
    // Back to root first: only root may set the groups and gid again.
    process.seteuid!(saved.euid);
    process.setegid!(saved.egid);
    process.setgroups!(saved.groups);
  }
}

/**
 * Counts the tree at `top` (an absolute, and in confined mode symlink-free, path) as `who`.
 * Throws the fs error when the root itself cannot be read (pure-quotacheck's "Unable to traverse").
 */
export async function countTree(
  top: string,
  who: WalkIdentity,
  onProgress?: ProgressFn,
  addon?: QuotaAddon,
): Promise<WalkTotals> {
  if (addon !== undefined) {
    const rootFd = addon.openRoot(top);
    try {
      return await asAccount(who, () => addon.walk(rootFd, who.uid, who.confined, onProgress));
    } catch (err) {
      if (codeOf(err) !== 'ENOSYS') throw err;
      // No openat2 (Linux < 5.6): the JavaScript walk below resolves symlinks itself.
    } finally {
      closeSync(rootFd);
    }
  }
  // The walk uses paths relative to the tree's root: as root, the account need not be able to
  // reach it from `/` (pure-quotacheck chdir's and chroot's there before switching, too).
  const cwd = process.cwd();
  process.chdir(top);
  try {
    return await asAccount(who, () => new SyncWalk(who, onProgress).run());
  } finally {
    process.chdir(cwd);
  }
}

/** An open directory of the JavaScript walk. */
interface Level {
  dir: Dir;
  /** Its path relative to the tree's root: physical (confined), or the route taken (else). */
  rel: Buffer;
  /** Confined: its physical path's components. */
  parts: Buffer[];
  /** Length of its path as pure-quotacheck spells it. */
  vlen: number;
}

/**
 * The JavaScript walk (when the addon is missing): one synchronous pass from the current working
 * directory, the tree's root, same rules and order as the native one.
 */
export class SyncWalk {
  private readonly visited = new Set<string>();
  private readonly stack: Level[] = [];
  private files = 0;
  /** Bytes are summed in a number and carried into `bigBytes` before they could lose precision. */
  private bytes = 0;
  private bigBytes = 0n;
  private ticks = 0;

  constructor(
    private readonly who: WalkIdentity,
    private readonly onProgress?: ProgressFn,
  ) {}

  /** Counts the tree; throws when its root cannot be listed. */
  run(): WalkTotals {
    const rootFd = openSync('.', constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
    closeSync(rootFd);
    if (!this.enter(Buffer.from('.'), [], this.who.confined ? 1 : 2, false)) {
      throw Object.assign(new Error('Not a directory'), { code: 'ENOTDIR' });
    }
    try {
      while (this.stack.length > 0) {
        const level = this.stack[this.stack.length - 1];
        let entry: Dirent<Buffer> | null;
        try {
          entry = level.dir.readSync() as Dirent<Buffer> | null;
        } catch {
          entry = null; // an error ends this listing, as readdir() returning NULL does
        }
        if (entry === null) {
          level.dir.closeSync();
          this.stack.pop();
          continue;
        }
        this.visit(level, entry);
      }
    } finally {
      for (const level of this.stack) level.dir.closeSync();
      this.stack.length = 0;
    }
    return { files: BigInt(this.files), bytes: this.bigBytes + BigInt(this.bytes) };
  }

  /** One entry, in readdir order. */
  private visit(level: Level, entry: Dirent<Buffer>): void {
    const name = entry.name;
    if (name.equals(QUOTA_NAME)) return;
    const vlen = level.vlen + 1 + name.length;
    if (vlen > PATH_LIMIT) return; // ENAMETOOLONG for pure-quotacheck
    if (++this.ticks % PROGRESS_EVERY === 0)
      this.onProgress?.(this.files, Number(this.bigBytes) + this.bytes);
    const rel = Buffer.concat([level.rel, SLASH, name]);
    const parts = this.who.confined ? [...level.parts, name] : level.parts;
    if (entry.isDirectory()) {
      if (this.enter(rel, parts, vlen, true)) this.files++;
      return;
    }
    let st: Stats | undefined;
    if (entry.isSymbolicLink()) {
      st = undefined;
    } else if (
      entry.isFile() ||
      !(entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice())
    ) {
      st = this.guard(() => lstatSync(rel));
      if (st === undefined) return;
      if (st.isFile()) return this.count(st.size);
      if (st.isDirectory()) {
        if (this.enter(rel, parts, vlen, true)) this.files++;
        return;
      }
      if (!st.isSymbolicLink()) return;
    } else {
      return; // fifos, sockets, devices: never counted
    }
    this.follow(level, name, rel, vlen);
  }

  /** A symlink: counted as what it leads to (inside the tree when confined). */
  private follow(level: Level, name: Buffer, rel: Buffer, vlen: number): void {
    if (this.who.confined) {
      const found = this.guard(() => this.resolveConfined(level.parts, name));
      if (found === undefined) return;
      if (found.st.isFile()) return this.count(found.st.size);
      if (found.st.isDirectory() && this.enter(physical(found.parts), found.parts, vlen, false)) this.files++;
      return;
    }
    const st = this.guard(() => statSync(rel));
    if (st === undefined) return;
    if (st.isFile()) return this.count(st.size);
    if (st.isDirectory() && this.enter(rel, [], vlen, false)) this.files++;
  }

  private count(size: number): void {
    this.files++;
    this.bytes += size;
    if (this.bytes > Number.MAX_SAFE_INTEGER / 2) {
      this.bigBytes += BigInt(this.bytes);
      this.bytes = 0;
    }
  }

  /** Runs an fs call: undefined when it fails (not counted), rethrown when the walk must end. */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (FATAL.has(codeOf(err) ?? '')) throw err;
      return undefined;
    }
  }

  /**
   * pure-quotacheck's checks before listing a directory: it opens, is a directory, gets u+rx
   * when owned by the account, was not seen before (dev/inode). Pushes it and returns true when
   * it can be listed.
   */
  private enter(rel: Buffer, parts: Buffer[], vlen: number, nofollow: boolean): boolean {
    const flags =
      constants.O_RDONLY |
      constants.O_DIRECTORY |
      constants.O_NONBLOCK |
      (nofollow ? constants.O_NOFOLLOW : 0);
    const fd = this.guard(() => openSync(rel, flags));
    if (fd === undefined) return false;
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!st.isDirectory()) return false;
      const mode = Number(st.mode);
      if ((mode & 0o500) !== 0o500 && Number(st.uid) === this.who.uid) {
        this.guard(() => fchmodSync(fd, (mode & 0o7777) | 0o500));
      }
      const key = `${st.dev}:${st.ino}`;
      if (this.visited.has(key)) return false;
      this.visited.add(key);
    } finally {
      closeSync(fd);
    }
    // Listed through a second open by the same path, as pure-quotacheck does. Names as bytes (any
    // encoding); @types/node's OpenDirOptions omits 'buffer', which Node accepts.
    const dir = this.guard(() => opendirSync(rel, { encoding: 'buffer' as BufferEncoding, bufferSize: 128 }));
    if (dir === undefined) return false;
    this.stack.push({ dir, rel, parts, vlen });
    return true;
  }

  /**
   * Resolves `<dir>/<name>` as the kernel would inside a chroot at the tree's root: `/` and `..`
   * never leave the tree, symlinks are expanded component by component (at most 40 hops). The
   * kernel checks search permission on every directory crossed (we run with the account's ids).
   */
  private resolveConfined(dirParts: Buffer[], name: Buffer): { st: Stats; parts: Buffer[] } | undefined {
    let parts = [...dirParts];
    let pending: Buffer[] = [name];
    let hops = 0;
    let last: Stats | undefined;
    while (pending.length > 0) {
      const component = pending.shift()!;
      if (component.length === 0 || component.equals(DOT)) continue;
      if (component.equals(DOTDOT)) {
        parts.pop();
        last = undefined;
        continue;
      }
      const here = physical([...parts, component]);
      const st = lstatSync(here);
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined;
        const target = readlinkSync(here, { encoding: 'buffer' });
        if (target[0] === SLASH[0]) parts = [];
        pending = [...splitPath(target), ...pending];
        last = undefined;
        continue;
      }
      parts.push(component);
      last = st;
      if (pending.some((p) => p.length > 0 && !p.equals(DOT)) && !st.isDirectory()) return undefined;
    }
    last ??= lstatSync(physical(parts));
    return { st: last, parts };
  }
}

/** `./a/b` from the components of a path below the tree's root. */
function physical(parts: Buffer[]): Buffer {
  const out: Buffer[] = [DOT];
  for (const p of parts) out.push(SLASH, p);
  return Buffer.concat(out);
}

/** The components of a symlink's target. */
function splitPath(target: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= target.length; i++) {
    if (i === target.length || target[i] === SLASH[0]) {
      out.push(target.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}
