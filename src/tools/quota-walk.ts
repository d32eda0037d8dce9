/**
 * The tree walk of `tsftpd quotacheck` (spec §5.1), counting what pure-quotacheck counts: regular
 * files (size summed) and subdirectories as files, `.ftpquota` skipped, symlinks followed, no
 * directory visited twice (dev/inode), unreadable directories not counted. Iterative with bounded
 * concurrency: any depth, any width, a fixed number of fs calls in flight.
 *
 * pure-quotacheck started as root chroots into the tree and drops to the account's uid/gid. One
 * event loop cannot switch identity (ARCHITECTURE §5), so in "confined" mode this walk emulates
 * both: symlinks resolve inside the tree as if it were `/`, and each directory is read only when
 * the account's uid/groups may read it (mode bits; ACLs are not consulted). The real ids are kept
 * for the few fs calls made; a directory is chmod'ed (u+rx, as pure-quotacheck does for owned
 * ones) only through a handle whose dev/inode matched. A user racing renames inside their own
 * tree can at worst make the counts include a directory listing from elsewhere.
 */
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, opendir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';

/** The name pure-ftpd keeps its counters in (spec §5.1), never counted. */
export const QUOTA_FILE_NAME = '.ftpquota';
const DIR_WORKERS = 8;
const STAT_SLOTS = 64;
const MAX_SYMLINK_HOPS = 40;
const R = 4;
const W = 2;
const X = 1;

/** Whose view of the tree is counted. */
export interface WalkIdentity {
  uid: number;
  /** Primary and supplementary groups (confined mode). */
  groups: number[];
  /** Root mode: emulate chroot + uid/gid (see above); else the kernel checks our own ids. */
  confined: boolean;
}

/** What was found. */
export interface WalkTotals {
  files: bigint;
  bytes: bigint;
}

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

/** A counting semaphore for fs calls. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.free++;
  }
}

/** A directory to read: its real path and, in confined mode, its symlink-free path in the tree. */
interface PendingDir {
  real: string;
  virt: string;
  /** Identity seen when it was found (undefined for the root). */
  seen?: BigIntStats;
}

/** Walks `root`; throws (with the fs error) only when the root itself cannot be read. */
export class QuotaWalk {
  private readonly visited = new Set<string>();
  private readonly queue: PendingDir[] = [];
  private readonly slots = new Slots(STAT_SLOTS);
  private active = 0;
  private files = 0n;
  private bytes = 0n;
  private finish: (() => void) | undefined;

  constructor(
    private readonly root: string,
    private readonly who: WalkIdentity,
  ) {}

  /** Counts the tree. */
  async run(): Promise<WalkTotals> {
    const rootDir = await this.enter({ real: this.root, virt: '/' });
    if (rootDir === undefined) {
      throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
    }
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    this.active++;
    let listed = false;
    void this.list({ real: this.root, virt: '/' }, rootDir.search)
      .then((ok) => (listed = ok))
      .finally(() => this.workerDone());
    await done;
    if (!listed) throw Object.assign(new Error('cannot list the directory'), { code: 'EACCES' });
    return { files: this.files, bytes: this.bytes };
  }

  /** A worker finished: start more. */
  private workerDone(): void {
    this.active--;
    this.pump();
  }

  /** Starts queued directories while workers are free; resolves run() when all is done. */
  private pump(): void {
    while (this.active < DIR_WORKERS && this.queue.length > 0) {
      const dir = this.queue.pop()!;
      this.active++;
      void this.process(dir).finally(() => this.workerDone());
    }
    if (this.active === 0 && this.queue.length === 0) this.finish?.();
  }

  /** Opens one directory (errors: not counted), counts it, lists it. */
  private async process(dir: PendingDir): Promise<void> {
    const entered = await this.enter(dir).catch(() => undefined);
    // Counted once it could be listed, as pure-quotacheck counts a subdirectory traverse() accepted.
    if (entered !== undefined && (await this.list(dir, entered.search))) this.files++;
  }

  /**
   * pure-quotacheck's checks before reading a directory: readable, not seen before (dev/inode),
   * u+rx added when the account owns it. Returns whether its entries can be stat'ed, or undefined.
   */
  private async enter(dir: PendingDir): Promise<{ search: boolean } | undefined> {
    const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK;
    // Confined paths are symlink-free (the root was realpath'ed): a symlink here is a swap, refuse it.
    const nofollow = this.who.confined && dir.seen !== undefined ? constants.O_NOFOLLOW : 0;
    const fh = await open(dir.real, flags | nofollow);
    try {
      let st = await fh.stat({ bigint: true });
      if (!st.isDirectory()) return undefined;
      if (dir.seen !== undefined && (st.dev !== dir.seen.dev || st.ino !== dir.seen.ino)) return undefined;
      if (!permits(this.who, st, R)) return undefined;
      if ((Number(st.mode) & 0o500) !== 0o500 && Number(st.uid) === this.who.uid) {
        await fh.chmod((Number(st.mode) & 0o7777) | 0o500).catch(() => undefined);
        st = await fh.stat({ bigint: true });
      }
      const key = `${st.dev}:${st.ino}`;
      if (this.visited.has(key)) return undefined;
      this.visited.add(key);
      return { search: permits(this.who, st, X) };
    } finally {
      await fh.close();
    }
  }

  /**
   * Reads the entries of a directory, stat'ing them through the shared slots; false when it cannot
   * be opened. Without search permission the entries cannot be stat'ed: none is counted.
   */
  private async list(dir: PendingDir, search: boolean): Promise<boolean> {
    let handle;
    try {
      handle = await opendir(dir.real, { bufferSize: 256 });
    } catch {
      return false;
    }
    if (!search) {
      await handle.close().catch(() => undefined);
      return true;
    }
    let inFlight = 0;
    let drained: (() => void) | undefined;
    try {
      for await (const entry of handle) {
        if (entry.name === QUOTA_FILE_NAME) continue;
        await this.slots.acquire();
        inFlight++;
        void this.inspect(dir, entry.name, entry.isSymbolicLink()).finally(() => {
          this.slots.release();
          if (--inFlight === 0) drained?.();
        });
      }
    } catch {
      // A directory that fails mid-listing ends there, as readdir() returning NULL does.
    }
    if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    return true;
  }

  /** Stats one entry (following symlinks) and counts a file or queues a directory. */
  private async inspect(dir: PendingDir, name: string, isLink: boolean): Promise<void> {
    const virt = path.posix.join(dir.virt, name);
    let found: { st: BigIntStats; virt: string } | undefined;
    try {
      if (!this.who.confined) found = { st: await stat(path.join(dir.real, name), { bigint: true }), virt };
      else if (!isLink) found = { st: await lstat(path.join(dir.real, name), { bigint: true }), virt };
      if (found?.st.isSymbolicLink() === true) found = undefined;
      if (found === undefined && this.who.confined) found = await this.resolveConfined(dir.virt, name);
    } catch {
      return;
    }
    if (found === undefined) return;
    if (found.st.isDirectory()) {
      const real = this.who.confined ? path.join(this.root, found.virt) : path.join(dir.real, name);
      this.queue.push({ real, virt: found.virt, seen: found.st });
      this.pump();
    } else if (found.st.isFile()) {
      this.files++;
      this.bytes += found.st.size;
    }
  }

  /**
   * Resolves `<dirVirt>/<name>` as the kernel would inside a chroot at the tree's root: `/` and
   * `..` never leave the tree, symlinks are expanded component by component (at most 40 hops), and
   * every directory crossed must be searchable by the account.
   */
  private async resolveConfined(
    dirVirt: string,
    name: string,
  ): Promise<{ st: BigIntStats; virt: string } | undefined> {
    let parts = dirVirt.split('/').filter((s) => s !== '');
    let pending = [name];
    let hops = 0;
    let last: BigIntStats | undefined;
    while (pending.length > 0) {
      const component = pending.shift()!;
      if (component === '' || component === '.') continue;
      if (component === '..') {
        parts.pop();
        last = undefined;
        continue;
      }
      const real = path.join(this.root, ...parts, component);
      const st = await lstat(real, { bigint: true });
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined;
        const target = await readlink(real);
        if (target.startsWith('/')) parts = [];
        pending = [...target.split('/'), ...pending];
        last = undefined;
        continue;
      }
      parts.push(component);
      last = st;
      if (pending.some((p) => p !== '' && p !== '.') && (!st.isDirectory() || !permits(this.who, st, X))) {
        return undefined;
      }
    }
    last ??= await lstat(path.join(this.root, ...parts), { bigint: true });
    return { st: last, virt: '/' + parts.join('/') };
  }
}
