/**
 * What a storage broker does for the workers (security-sensitive, see SECURITY.md): the RootFs
 * operations (storage/types.ts) as requests, run in a process whose uid, gid and groups are the
 * account's, so the kernel judges every file access exactly as for Pure-FTPd's setuid session.
 * Guarantees:
 * - a worker opens only the roots the parent granted it for a live, authenticated session, with the
 *   confinement the parent chose (`openRoot` checks the grant); every path of a root is resolved by
 *   the kernel below it (ConfinedRoot: openat2 RESOLVE_BENEATH);
 * - opened files leave as descriptors (the worker keeps sendfile and the pumps); the broker closes
 *   its own copy once sent;
 * - bounded: roots per worker channel, and every reply fits the channel's frame limit (listings
 *   are bounded by the worker's own `max`).
 */
import { close } from 'node:fs';
import { ConfinedRoot } from '../storage/confined.js';
import type { RootFs, RootRequest } from '../storage/types.js';
import type { RpcAnswer } from '../ipc/channel.js';

/**
 * Most roots one worker channel may hold open at once: a session holds one (its home) and one
 * worker may serve every session of a big server, so the bound is well above the 10,000 sessions
 * a server is sized for; the broker's descriptor limit (Node raises the soft limit to the hard
 * one) is the other bound, and a root it cannot open refuses that login with 421.
 */
const MAX_ROOTS_PER_CHANNEL = 65_536;

/** A request's result: a value for the structured clone, and descriptors to pass along. */
export type Answer = RpcAnswer;

/** Most grants waiting to be used by one session (each root open of a session is granted once). */
const MAX_GRANTS_PER_SESSION = 8;

/**
 * A root the parent allowed a worker to open once, for one session: the directory comes as a
 * descriptor the parent opened (as Pure-FTPd enters the home as root before it drops root), so
 * directories above the home need not let the account through.
 */
export interface Grant {
  /** The parent's id of the session (its connection). */
  session: number;
  /** The path the worker names the root by. */
  path: string;
  /** Its canonical path (logs, names). */
  realPath: string;
  confine: boolean;
  weak: boolean;
  /** The root directory, opened by the parent. */
  fd: number;
}

/** The broker's side of one worker channel: its grants, its open roots, and the handlers. */
export class BrokerSession {
  private readonly grants = new Map<number, Grant[]>();
  /** Sessions granted and not revoked. */
  private readonly live = new Set<number>();
  private readonly roots = new Map<number, { root: RootFs; session: number }>();
  private nextRoot = 0;

  /** The parent allows one root open of a session (the grant owns its descriptor from here on). */
  grant(g: Grant): void {
    this.live.add(g.session);
    const list = this.grants.get(g.session) ?? [];
    list.push(g);
    while (list.length > MAX_GRANTS_PER_SESSION) close(list.shift()!.fd, () => undefined);
    this.grants.set(g.session, list);
  }

  /** The session ended: its grants go, and its roots close. */
  revoke(session: number): void {
    for (const g of this.grants.get(session) ?? []) close(g.fd, () => undefined);
    this.grants.delete(session);
    this.live.delete(session);
    for (const [id, r] of this.roots) {
      if (r.session !== session) continue;
      r.root.close();
      this.roots.delete(id);
    }
  }

  /** The worker channel closed: everything of it goes. */
  closeAll(): void {
    for (const r of this.roots.values()) r.root.close();
    this.roots.clear();
    for (const list of this.grants.values()) for (const g of list) close(g.fd, () => undefined);
    this.grants.clear();
    this.live.clear();
  }

  /** Takes the session's grant for `path` (at least as confined as `confine` allows). */
  private take(session: number, path: unknown, confine: boolean): Grant | undefined {
    const list = this.grants.get(session);
    // A worker may ask for more confinement than granted (the quota file's root), never less.
    const i = list?.findIndex((g) => g.path === path && (confine || !g.confine)) ?? -1;
    if (list === undefined || i < 0) return undefined;
    const [g] = list.splice(i, 1);
    if (list.length === 0) this.grants.delete(session);
    return g;
  }

  private root(id: unknown): RootFs {
    const r = this.roots.get(Number(id));
    if (r === undefined) throw Object.assign(new Error('unknown root'), { code: 'EBADF' });
    return r.root;
  }

  /** Runs one request of the worker (no request carries descriptors: any that came are closed). */
  async handle(method: string, a: Record<string, unknown>, fds: readonly number[]): Promise<Answer> {
    for (const fd of fds) close(fd, () => undefined);
    return this.dispatch(method, a);
  }

  private async dispatch(method: string, a: Record<string, unknown>): Promise<Answer> {
    switch (method) {
      case 'openRoot': {
        const session = Number(a.session);
        const request = (a.request ?? {}) as Partial<RootRequest>;
        const g = this.take(session, a.path, request.confine === true);
        if (g === undefined) throw Object.assign(new Error('this root was not granted'), { code: 'EACCES' });
        if (this.roots.size >= MAX_ROOTS_PER_CHANNEL) {
          close(g.fd, () => undefined);
          throw Object.assign(new Error('too many roots'), { code: 'EMFILE' });
        }
        // The process is the account: no identity to switch to.
        const confine = g.confine || request.confine === true;
        const root = await ConfinedRoot.fromDescriptor(g.fd, g.realPath, { confine, weak: g.weak });
        // The session may have ended while the root opened.
        if (!this.live.has(session)) {
          root.close();
          throw Object.assign(new Error('the session ended'), { code: 'EACCES' });
        }
        const id = ++this.nextRoot;
        this.roots.set(id, { root, session });
        return { value: { id, realPath: root.realPath } };
      }
      case 'closeRoot': {
        const r = this.roots.get(Number(a.root));
        r?.root.close();
        this.roots.delete(Number(a.root));
        return { value: true };
      }
      case 'stat':
        return { value: await this.root(a.root).stat(String(a.path), a.follow === true) };
      case 'open': {
        const r = await this.root(a.root).open(
          String(a.path),
          Number(a.flags),
          Number(a.mode),
          a.follow === true,
        );
        return sendingFd({ entry: r.entry }, r.fd);
      }
      case 'read': {
        const r = await this.root(a.root).read(String(a.path), Number(a.offset), Number(a.maxInline));
        return r.fd === undefined ? { value: r } : sendingFd({ data: r.data, entry: r.entry }, r.fd);
      }
      case 'mkdir':
        return { value: await this.root(a.root).mkdir(String(a.path), Number(a.mode)) };
      case 'rmdir':
        return { value: await this.root(a.root).rmdir(String(a.path)) };
      case 'unlink':
        return { value: await this.root(a.root).unlink(String(a.path)) };
      case 'rename':
        return { value: await this.root(a.root).rename(String(a.from), String(a.to)) };
      case 'link':
        return { value: await this.root(a.root).link(String(a.from), String(a.to)) };
      case 'chmod':
        return { value: await this.root(a.root).chmod(String(a.path), Number(a.mode)) };
      case 'setTimes':
        return { value: await this.root(a.root).setTimes(String(a.path), a.mtime as Date) };
      case 'statfs':
        return { value: await this.root(a.root).statfs(String(a.path)) };
      case 'access':
        return { value: await this.root(a.root).access(String(a.path), Number(a.mode)) };
      case 'scan':
        return { value: await this.root(a.root).scan(String(a.path), Number(a.max), Number(a.order)) };
      case 'lstatNames':
        return { value: await this.root(a.root).lstatNames(String(a.path), a.names as string[]) };
      default:
        throw Object.assign(new Error(`unknown request ${method}`), { code: 'EINVAL' });
    }
  }
}

/** An answer that passes `fd` along; the broker's copy is closed once the channel has taken it. */
function sendingFd(value: unknown, fd: number): Answer {
  return { value, fds: [fd] };
}
