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

/** Most roots one worker channel may hold open at once. */
const MAX_ROOTS_PER_CHANNEL = 4096;

/** A request's result: a value for the structured clone, and descriptors to pass along. */
export interface Answer {
  value: unknown;
  fds?: number[];
}

/** A root the parent allowed a worker to open, for one session. */
export interface Grant {
  /** The parent's id of the session (its connection). */
  session: number;
  path: string;
  confine: boolean;
  weak: boolean;
}

/** The broker's side of one worker channel: its grants, its open roots, and the handlers. */
export class BrokerSession {
  private readonly grants = new Map<number, Grant>();
  private readonly roots = new Map<number, { root: RootFs; session: number }>();
  private nextRoot = 0;

  /** The parent allows a session's root. */
  grant(g: Grant): void {
    this.grants.set(g.session, g);
  }

  /** The session ended: its grant goes, and its roots close. */
  revoke(session: number): void {
    this.grants.delete(session);
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
    this.grants.clear();
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
        const g = this.grants.get(session);
        const request = a.request as RootRequest;
        if (g === undefined || g.path !== a.path || g.confine !== request.confine) {
          throw Object.assign(new Error('this root was not granted'), { code: 'EACCES' });
        }
        if (this.roots.size >= MAX_ROOTS_PER_CHANNEL)
          throw Object.assign(new Error('too many roots'), { code: 'EMFILE' });
        // The process is the account: no identity to switch to.
        const root = await ConfinedRoot.open(g.path, { confine: g.confine, weak: g.weak });
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
