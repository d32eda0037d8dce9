/**
 * Turning an authenticated account into a working session (upstream §6.1, §6.2): the root directory
 * and chroot decision, home creation (-j), the start directory, the storage and the 230 reply.
 * Security note: started as root, every file operation of an account runs with its identity (uid,
 * gid, initgroups): in a storage broker process of that identity (session workers, the default), or
 * as the thread's file-system credentials when one process serves (confined.ts); the kernel judges.
 */
import { mkdir, open, stat } from 'node:fs/promises';
import type { Config } from '../config/types.js';
import { constants as C } from 'node:fs';
import path from 'node:path';
import type { Account } from '../auth/types.js';
import { FtpError } from '../errors.js';
import { LocalStorage } from '../storage/local.js';
import type { Identity } from '../storage/confined.js';
import { systemDb } from '../auth/system-db.js';
import type { RootFs, Storage } from '../storage/types.js';
import { resolveVirtual } from '../storage/jail.js';
import { reply, type Reply, type ReplyLine } from './reply.js';
import type { SessionContext } from './context.js';
import { attachLimits, limitsFor } from './account-limits.js';
import { QuotaStorage } from '../storage/quota-storage.js';
import { Code } from './codes.js';
import { isTrusted } from '../policy/login-rules.js';
import { tr } from '../i18n/msg.js';

/** Most lines of a .banner / .message file shown (upstream §6.4). */
const MESSAGE_MAX_LINES = 100;
/** Longest message line; longer lines are split (upstream §6.4: 511 bytes). */
const MESSAGE_LINE_MAX = 511;
/** Most bytes read from a message file. */
const MESSAGE_MAX_BYTES = 64 * 1024;

/** Where an account lives once logged in. */
export interface Placement {
  /** Real directory that becomes the storage root. */
  root: string;
  chroot: boolean;
  /** Virtual start directory. */
  start: string;
  /** Virtual home (`~`). */
  home: string;
  /** The 230 line variant (upstream §6.2): restricted when the chroot comes from -A. */
  restricted: boolean;
}

/** The directory that must exist for an account to log in (its root when chrooted, else its home). */
export function homeOf(account: Account, place: Pick<Placement, 'chroot' | 'root'>): string {
  return place.chroot ? place.root : account.home;
}

/** Where an account lives: its root, chroot, start and home (upstream §6.2). */
export function placement(config: Readonly<Config>, account: Account, quota: boolean): Placement {
  const cfg = config;
  if (account.anonymous)
    return { root: account.home, chroot: true, start: '/', home: '/', restricted: false };
  // Quotas force a chroot: the bookkeeping file lives at the root (upstream §5.1).
  // A root-started server no longer forces a chroot: the kernel judges every file operation with the
  // account's own identity, so an account that is not chrooted sees what its uid may see (upstream §6.2).
  // -A chroots everyone but root; -a everyone but root and the trusted group (Account.trusted).
  const forced = ((cfg.chrootEveryone || cfg.trustedGid !== undefined) && !isTrusted(account)) || quota;
  if (account.chroot || forced) {
    return {
      root: account.home,
      chroot: true,
      start: account.startDir ?? '/',
      home: '/',
      restricted: !account.chroot,
    };
  }
  return { root: '/', chroot: false, start: account.home, home: account.home, restricted: false };
}

/**
 * Checks the home exists, or creates it with -j (upstream §6.2). Run where root's rights are: in
 * this process, or, when sessions run in unprivileged workers, by the parent right after the
 * account authenticated (the worker then skips it: ServerContext.homesByParent).
 */
export async function ensureHome(config: Readonly<Config>, account: Account, dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch {
    // missing: created below with -j
  }
  if (!config.createHomeDir || account.anonymous) {
    throw new FtpError('ERR_HOME', tr`Home directory not available - aborting`, {
      detail: `home directory ${dir} of ${account.login} is missing`,
    });
  }
  // -j (upstream §6.2): parents 0755, the home 0777 & ~dir umask, owned by the account.
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
  await mkdir(dir, { mode: 0o700 }).catch((err: unknown) => {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
  });
  // Through a descriptor opened without following symlinks: a symlink swapped in for the new home
  // must never make root chmod or chown what it points to.
  const handle = await open(dir, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  try {
    await handle.chmod(0o777 & ~config.umask.dir);
    if (process.geteuid?.() === 0) await handle.chown(account.uid, account.gid);
  } finally {
    await handle.close();
  }
}

/** Who the account's file operations act as when the server runs as root (Pure-FTPd: initgroups). */
export async function identityOf(account: Account): Promise<Identity> {
  const groups = account.anonymous ? [account.gid] : await systemDb().groupIdsOf(account.login, account.gid);
  return { uid: account.uid, gid: account.gid, groups };
}

/**
 * The directory a placement opens as the session's root, and whether the kernel confines paths to
 * it (a parent process computes the same to grant it to a broker).
 */
export function rootOf(
  config: Readonly<Config>,
  place: Pick<Placement, 'root' | 'chroot'>,
): { path: string; confine: boolean } {
  return { path: place.root, confine: place.chroot && place.root !== '/' && !config.followSymlinksOut };
}

/** Opens the session's root: confined (kernel-enforced) unless the account is not chrooted. */
async function openRoot(
  s: SessionContext,
  account: Account,
  root: string,
  chroot: boolean,
  identity: Identity | undefined,
): Promise<RootFs> {
  const cfg = s.server.config;
  try {
    const opened = await s.server.roots(root, {
      confine: rootOf(cfg, { root, chroot }).confine,
      weak: cfg.weakJail,
      identity,
      connection: s.connection,
    });
    // A storage broker that dies takes the session's files with it: the session ends now (a
    // transfer in progress is aborted), as Pure-FTPd's session ends with its process.
    opened.onLost?.((reason) => {
      if (s.isClosing) return;
      s.server.bus.log(s.ref, 'WARNING', `${reason}: closing the session`);
      s.reply(Code.SERVICE_UNAVAILABLE, tr`Service not available, closing control connection`);
      s.close(reason);
    });
    return opened;
  } catch (err) {
    if (err instanceof FtpError) throw err;
    throw new FtpError('ERR_HOME', tr`Home directory not available - aborting`, {
      detail: `home directory ${root} of ${account.login} cannot be opened: ${String(err)}`,
    });
  }
}

/** Reads a .banner/.message file through the storage: bounded lines, control chars scrubbed. */
export async function readMessageFile(storage: Storage, p: string): Promise<string[]> {
  try {
    const h = await storage.openRead(p, 0);
    const chunks: Buffer[] = [];
    let total = 0;
    const stream = h.stream();
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= MESSAGE_MAX_BYTES) break;
    }
    stream.destroy();
    const text = Buffer.concat(chunks).subarray(0, MESSAGE_MAX_BYTES).toString('utf8');
    const out: string[] = [];
    for (const line of text.split('\n')) {
      for (let i = 0; i < Math.max(line.length, 1) && out.length < MESSAGE_MAX_LINES; i += MESSAGE_LINE_MAX) {
        out.push(line.slice(i, i + MESSAGE_LINE_MAX).replace(/\r$/, ''));
      }
    }
    while (out.length > 0 && out[out.length - 1] === '') out.pop();
    return out;
  } catch {
    return [];
  }
}

/**
 * Logs the account in: prepares its storage and directories and returns the 230 reply.
 * Throws FtpError 421 (and the caller closes the session) when the home is unusable.
 */
export async function establishLogin(s: SessionContext, account: Account): Promise<Reply> {
  const cfg = s.server.config;
  const limits = limitsFor(s, account);
  const place = placement(cfg, account, limits.quota !== undefined);
  if (!s.server.homesByParent) await ensureHome(cfg, account, homeOf(account, place));
  let identity = s.server.privileged ? await identityOf(account) : undefined;
  if (identity !== undefined && s.server.becomeAccount !== undefined) {
    // A process that serves this one session (inetd) becomes the account for good, as Pure-FTPd's
    // session process does: from here on the kernel judges everything with its identity.
    s.server.becomeAccount(identity);
    identity = undefined;
  }
  const confined = await openRoot(s, account, place.root, place.chroot, identity);
  const root = confined.realPath;
  let limitLines: Awaited<ReturnType<typeof attachLimits>>;
  try {
    limitLines = await attachLimits(s, account, limits, root, identity);
  } catch (err) {
    confined.close();
    throw err;
  }
  const local = new LocalStorage({
    root: confined,
    vhost: account.vhost,
    umask: cfg.umask,
    tempTag:
      Math.floor(s.startedAt / 1000)
        .toString(16)
        .padStart(8, '0') + `.${s.ref.localPort.toString(16)}`,
  });
  // Quotas (upstream §5.1) wrap the storage: every change of usage counts itself.
  const storage: Storage =
    limitLines.quota !== undefined && limits.quota !== undefined
      ? new QuotaStorage(local, limitLines.quota, limits.quota, (level, message) =>
          s.server.bus.log(s.ref, level, message),
        )
      : local;
  let start = place.chroot ? place.start : path.resolve(place.start);
  // The home itself was just checked (ensureHome); only a `/./sub` start directory needs a look.
  const startIsHome = place.chroot ? start === '/' : start === path.resolve(account.home);
  if (!startIsHome) {
    try {
      const e = await storage.stat(start);
      if (e.type !== 'dir') start = '/';
    } catch {
      start = place.chroot ? '/' : root;
    }
  }
  s.account = account;
  s.storage = storage;
  s.onClose(() => storage.close());
  s.chrooted = place.chroot;
  s.home = place.chroot ? '/' : resolveVirtual('/', place.home);
  s.cwd = start;
  s.pendingUser = undefined;
  s.ref.account = account.anonymous ? 'ftp' : account.login;
  s.server.bus.emit('login', {
    session: s.ref,
    account: s.ref.account,
    anonymous: account.anonymous,
    backend: account.backend,
    vhost: account.vhost,
  });
  const banner = await readMessageFile(storage, resolveVirtual(start, '.banner'));
  if (account.anonymous) {
    return reply(
      Code.LOGGED_IN,
      ...limitLines.bandwidth,
      ...limitLines.ratio,
      ...banner,
      tr`Anonymous user logged in`,
    );
  }
  // Upstream §2.3 PASS: bandwidth, FXP and ratio lines, the directory line, then banner and quota lines.
  const lines: ReplyLine[] = [...limitLines.bandwidth];
  if (cfg.allowUserFxp || cfg.allowAnonymousFxp) lines.push(tr`This server supports FXP transfers`);
  lines.push(...limitLines.ratio);
  lines.push(
    place.restricted
      ? tr`OK. Current restricted directory is ${start}`
      : tr`OK. Current directory is ${start}`,
  );
  return reply(Code.LOGGED_IN, ...lines, ...banner, ...limitLines.after);
}
