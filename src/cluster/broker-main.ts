#!/usr/bin/env node
/**
 * Entry point of a storage broker (security-sensitive, see SECURITY.md): started by the parent as
 * root with the identity it must take as its only argument, it becomes that identity (groups, gid,
 * then uid: the order that cannot fail half-way with root left) before it opens anything, checks
 * that nothing of root is left, and then serves: descriptor 3 is its channel to the parent, which
 * attaches one channel per session worker and grants each session its root (broker-service.ts).
 * It exits when the parent's channel closes, and never outlives it.
 */
import '../threadpool.js';
import { Channel, RpcChannel, closeFds } from '../ipc/channel.js';
import { BrokerSession } from './broker-service.js';
import { setBrokerTitle } from './titles.js';
import { preloadAddons } from '../native-addons.js';

/** Descriptor of the channel to the parent (the fourth stdio entry of the spawn). */
const PARENT_FD = 3;
/** Most worker channels at once (one per worker process; restarts replace theirs). */
const MAX_WORKER_CHANNELS = 1024;
/** How long a worker's request may wait for its answer (the broker answers, it never asks). */
const WORKER_TIMEOUT_MS = 120_000;

interface Identity {
  uid: number;
  gid: number;
  groups: number[];
}

/** The identity of the command line; exits when it is not one (the parent always passes one). */
function parseIdentity(text: string | undefined): Identity {
  const id = (() => {
    try {
      return JSON.parse(text ?? '') as Partial<Identity>;
    } catch {
      return {};
    }
  })();
  const isId = (n: unknown): n is number =>
    Number.isInteger(n) && (n as number) >= 0 && (n as number) < 2 ** 32;
  if (!isId(id.uid) || !isId(id.gid) || !Array.isArray(id.groups) || !id.groups.every(isId)) {
    process.stderr.write('tsftpd broker: no valid identity given\n');
    process.exit(2);
  }
  return { uid: id.uid, gid: id.gid, groups: id.groups.slice(0, 65536) };
}

/** Takes the identity for good; exits if any of it did not hold. */
function become(id: Identity): void {
  try {
    process.setgroups!(id.groups.length > 0 ? id.groups : [id.gid]);
    process.setgid!(id.gid);
    process.setuid!(id.uid);
  } catch (err) {
    process.stderr.write(`tsftpd broker: cannot become uid ${id.uid}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const ok =
    process.getuid!() === id.uid &&
    process.geteuid!() === id.uid &&
    process.getgid!() === id.gid &&
    process.getegid!() === id.gid &&
    // Back to root must be impossible (setuid(0) succeeds only while some root id is left).
    (id.uid === 0 ||
      (() => {
        try {
          process.setuid!(0);
          return false;
        } catch {
          return true;
        }
      })());
  if (!ok) {
    process.stderr.write(`tsftpd broker: the identity uid ${id.uid} gid ${id.gid} did not hold\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const identity = parseIdentity(process.argv[2]);
  // The code first, while root may read it wherever tsftpd is installed.
  preloadAddons(['tsftpd_fs', 'tsftpd_channel']);
  become(identity);
  setBrokerTitle(identity.uid, identity.gid);
  const parent = new RpcChannel(await Channel.open(PARENT_FD), { timeoutMs: WORKER_TIMEOUT_MS });
  const workers = new Map<number, { rpc: RpcChannel; session: BrokerSession }>();
  const session = (channel: unknown): BrokerSession => {
    const w = workers.get(Number(channel));
    if (w === undefined) throw Object.assign(new Error('no such worker channel'), { code: 'ENOENT' });
    return w.session;
  };
  parent.serve({
    hello: () =>
      Promise.resolve({ value: { pid: process.pid, uid: process.geteuid!(), gid: process.getegid!() } }),
    /** A session worker's channel: its requests are served with the grants the parent gives it. */
    attach: async (args, fds) => {
      const id = Number((args as { channel?: unknown }).channel);
      const [fd, ...extra] = fds;
      closeFds(extra);
      if (fd === undefined || workers.has(id) || workers.size >= MAX_WORKER_CHANNELS) {
        if (fd !== undefined) closeFds([fd]);
        throw Object.assign(new Error('cannot attach this worker channel'), { code: 'EINVAL' });
      }
      const rpc = new RpcChannel(await Channel.open(fd), { timeoutMs: WORKER_TIMEOUT_MS, maxPending: 65536 });
      const s = new BrokerSession();
      rpc.serve((method, a, f) => s.handle(method, (a ?? {}) as Record<string, unknown>, f));
      rpc.channel.onClose(() => {
        s.closeAll();
        if (workers.get(id)?.rpc === rpc) workers.delete(id);
      });
      workers.set(id, { rpc, session: s });
      return { value: true };
    },
    /** One root open of a session, with the root directory the parent opened. */
    grant: (args, fds) => {
      const [fd, ...extra] = fds;
      closeFds(extra);
      const a = (args ?? {}) as Record<string, unknown>;
      try {
        if (fd === undefined || typeof a.path !== 'string' || typeof a.realPath !== 'string') {
          throw Object.assign(new Error('a root directory and its paths are expected'), { code: 'EINVAL' });
        }
        session(a.channel).grant({
          session: Number(a.session),
          path: a.path,
          realPath: a.realPath,
          confine: a.confine === true,
          weak: a.weak === true,
          fd,
        });
      } catch (err) {
        if (fd !== undefined) closeFds([fd]);
        throw err;
      }
      return Promise.resolve({ value: true });
    },
    revoke: (args) => {
      const a = args as { channel?: unknown; session?: unknown };
      workers.get(Number(a.channel))?.session.revoke(Number(a.session));
      return Promise.resolve({ value: true });
    },
  });
  // Without the parent nothing is granted any more: stop at once.
  parent.channel.onClose(() => process.exit(0));
  // The parent coordinates shutdown (a terminal's Ctrl-C reaches the whole process group).
  process.on('SIGINT', () => undefined);
}

main().catch((err: unknown) => {
  process.stderr.write(`tsftpd broker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
