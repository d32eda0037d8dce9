/**
 * The parent's storage brokers (security-sensitive, see SECURITY.md): one process per distinct
 * account identity (uid, gid, supplementary groups), started on demand as root and turned into that
 * identity at once (broker-main.ts), stopped when it has had no session for a while, started again
 * when needed after it died.
 * Guarantees:
 * - a worker gets a root only for a connection of its own that authenticated here (or that may log
 *   in anonymously), only that account's root, and confined as the parent decides (`grantRoot`);
 *   the identity comes from the parent's own view of the account, never from a worker;
 * - each worker process has one channel to each broker it uses; the parent hands both ends out and
 *   keeps none; a grant is revoked when its connection ends;
 * - bounded: brokers (MAX_BROKERS), and each request waits a bounded time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as C, open } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Channel, RpcChannel, closeFds } from '../ipc/channel.js';
import type { RpcAnswer } from '../ipc/channel.js';
import type { Identity } from '../storage/confined.js';
import { FtpError } from '../errors.js';

/** open(2)'s O_PATH on Linux (fs.constants does not name it): a handle to a place, not its data. */
const O_PATH = 0o10000000;

/** The compiled broker entry point (broker-main.ts, next to this file). */
const BROKER_MAIN = fileURLToPath(new URL('./broker-main.js', import.meta.url));
/** Most brokers at once: a login that would need one more is refused (421) until one stops. */
const MAX_BROKERS = 256;
/** A broker with no session this long is stopped. */
const IDLE_MS = 30_000;
/** How long a broker may take to start and answer. */
const START_TIMEOUT_MS = 15_000;
/** How long the parent waits for a broker's answer to a grant. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Node options of a broker: a small heap (it holds roots and requests, no data). */
const BROKER_EXEC_ARGV = ['--max-semi-space-size=1', '--max-old-space-size=128'];

/** What the parent knows of a connection that may have a root. */
export interface RootGrant {
  path: string;
  confine: boolean;
  /** --weak-jail: the userland walk where the kernel has no openat2. */
  weak: boolean;
  identity: Identity;
}

/** Opens a root directory (symlinks on the way followed, as a chdir would) and names it. */
async function openDirectory(dir: string): Promise<{ fd: number; realPath: string }> {
  let fd: number;
  try {
    // libuv adds O_CLOEXEC itself.
    fd = await new Promise<number>((resolve, reject) =>
      open(dir, O_PATH | C.O_DIRECTORY, (err, fd) => (err ? reject(err) : resolve(fd))),
    );
  } catch (err) {
    throw new FtpError('ERR_HOME', 'Home directory not available - aborting', {
      detail: `home directory ${dir} cannot be opened: ${(err as Error).message}`,
    });
  }
  try {
    return { fd, realPath: await realpath(`/proc/self/fd/${fd}`) };
  } catch (err) {
    closeFds([fd]);
    throw err;
  }
}

/** A worker process, as the brokers know it. */
export interface BrokerClient {
  /** Unique per worker process (a restarted worker is a new client). */
  readonly key: number;
}

class Broker {
  readonly grants = new Map<number, number>(); // connection → worker channel id
  /** Worker channels, by worker process key. */
  readonly channels = new Map<number, Promise<number>>();
  idleTimer?: NodeJS.Timeout;
  gone = false;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly child: ChildProcess,
    readonly rpc: RpcChannel,
  ) {}
}

/** Starts, hands out and stops the storage brokers. */
export class Brokers {
  private readonly byKey = new Map<string, Promise<Broker>>();
  /** The brokers of byKey that started (to forget them synchronously). */
  private readonly started = new Map<string, Broker>();
  private readonly byConnection = new Map<number, Broker>();
  private nextBroker = 0;
  private nextChannel = 0;
  private closing = false;

  constructor(private readonly log: (level: 'INFO' | 'ERROR', message: string) => void) {}

  /** How many brokers run (or start). */
  get count(): number {
    return this.byKey.size;
  }

  /**
   * Gives `connection` of `worker` its root in the broker of `grant.identity`; resolves with the
   * broker's id and, the first time this worker process uses that broker, its end of a new channel.
   */
  async grantRoot(
    worker: BrokerClient,
    connection: number,
    grant: RootGrant,
    isOpen: () => boolean,
  ): Promise<RpcAnswer> {
    if (this.closing) throw new FtpError('ERR_UNAVAILABLE', 'Server shutting down');
    const broker = await this.brokerFor(grant.identity);
    let fds: number[] = [];
    let channel = broker.channels.get(worker.key);
    if (channel === undefined) {
      // The pending channel is recorded before anything is awaited: concurrent logins of one worker
      // must share it (two channels would leave one grant on a channel the worker no longer uses).
      const id = ++this.nextChannel;
      const created = (async (): Promise<number> => {
        const [mine, theirs] = await Channel.pair();
        try {
          await broker.rpc.call('attach', { channel: id }, [mine]);
        } catch (err) {
          closeFds([theirs]);
          throw err;
        } finally {
          closeFds([mine]);
        }
        return theirs;
      })();
      const pending = created.then(() => id);
      channel = pending;
      broker.channels.set(worker.key, pending);
      pending.catch(() => {
        if (broker.channels.get(worker.key) === pending) broker.channels.delete(worker.key);
      });
      fds = [await created];
    }
    try {
      const channelId = await channel;
      // The root directory is opened here, with root's rights, as Pure-FTPd enters the home before
      // it drops root; below it the broker resolves every path as the account.
      const { fd, realPath } = await openDirectory(grant.path);
      try {
        await broker.rpc.call(
          'grant',
          {
            channel: channelId,
            session: connection,
            path: grant.path,
            realPath,
            confine: grant.confine,
            weak: grant.weak,
          },
          [fd],
        );
      } finally {
        closeFds([fd]);
      }
      broker.grants.set(connection, channelId);
      this.byConnection.set(connection, broker);
      clearTimeout(broker.idleTimer);
      broker.idleTimer = undefined;
      // The connection ended while it was being granted: the grant goes at once.
      if (!isOpen()) this.connectionClosed(connection);
    } catch (err) {
      closeFds(fds);
      throw err;
    }
    return { value: { broker: broker.id }, fds };
  }

  /** A connection ended: its grant goes (and its roots close in the broker). */
  connectionClosed(connection: number): void {
    const broker = this.byConnection.get(connection);
    if (broker === undefined) return;
    this.byConnection.delete(connection);
    const channel = broker.grants.get(connection);
    broker.grants.delete(connection);
    if (!broker.gone) {
      broker.rpc.call('revoke', { channel, session: connection }).catch(() => undefined);
      this.idleCheck(broker);
    }
  }

  /** A worker process is gone: the brokers forget its channel (they see it close themselves). */
  workerGone(worker: BrokerClient): void {
    for (const pending of this.byKey.values()) {
      void pending.then(
        (b) => b.channels.delete(worker.key),
        () => undefined,
      );
    }
  }

  /** Stops every broker. */
  async close(): Promise<void> {
    this.closing = true;
    const all = await Promise.allSettled([...this.byKey.values()]);
    await Promise.all(all.map((r) => (r.status === 'fulfilled' ? this.stop(r.value) : Promise.resolve())));
  }

  private brokerFor(identity: Identity): Promise<Broker> {
    const groups = [...new Set(identity.groups)].sort((a, b) => a - b);
    const key = `${identity.uid}:${identity.gid}:${groups.join(',')}`;
    let pending = this.byKey.get(key);
    if (pending === undefined) {
      if (this.byKey.size >= MAX_BROKERS) {
        return Promise.reject(
          new FtpError('ERR_UNAVAILABLE', 'Too many accounts are busy, try again later', {
            detail: `no storage broker for uid ${identity.uid}: ${MAX_BROKERS} brokers already run`,
          }),
        );
      }
      pending = this.start(key, { uid: identity.uid, gid: identity.gid, groups });
      this.byKey.set(key, pending);
      pending.catch(() => {
        if (this.byKey.get(key) === pending) this.byKey.delete(key);
      });
    }
    return pending;
  }

  private async start(key: string, identity: Identity): Promise<Broker> {
    const [mine, theirs] = await Channel.pair();
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...BROKER_EXEC_ARGV, BROKER_MAIN, JSON.stringify(identity)], {
        stdio: ['ignore', 'inherit', 'inherit', theirs],
      });
    } catch (err) {
      closeFds([mine]);
      throw err;
    } finally {
      closeFds([theirs]); // the child has its own copy
    }
    const rpc = new RpcChannel(await Channel.open(mine), { timeoutMs: REQUEST_TIMEOUT_MS });
    const broker = new Broker(++this.nextBroker, key, child, rpc);
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ?? `status ${code}`));
      child.once('error', (err) => resolve(err.message));
    });
    void exited.then((how) => this.gone(broker, how));
    const hello = rpc.call('hello', {}).then(({ value }) => value as { uid: number; gid: number });
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      timer.unref();
    });
    try {
      const who = await Promise.race([hello, timeout, exited.then((how) => Promise.reject(new Error(how)))]);
      if (who.uid !== identity.uid || who.gid !== identity.gid)
        throw new Error(`it runs as uid ${who.uid} gid ${who.gid}`);
    } catch (err) {
      child.kill('SIGKILL');
      rpc.channel.close();
      throw new FtpError('ERR_HOME', 'Home directory not available - aborting', {
        detail: `the storage broker for uid ${identity.uid} gid ${identity.gid} did not start: ${(err as Error).message}`,
      });
    }
    this.log(
      'INFO',
      `storage broker ${broker.id} for uid ${identity.uid} gid ${identity.gid} started (pid ${child.pid})`,
    );
    this.idleCheck(broker);
    if (!broker.gone) this.started.set(key, broker);
    return broker;
  }

  /** A broker that lost its last session is stopped after IDLE_MS without a new one. */
  private idleCheck(b: Broker): void {
    if (b.grants.size > 0 || b.idleTimer !== undefined || b.gone) return;
    b.idleTimer = setTimeout(() => {
      b.idleTimer = undefined;
      if (b.grants.size === 0 && !b.gone) void this.stop(b);
    }, IDLE_MS);
    b.idleTimer.unref();
  }

  /** Closes the broker's channel (it exits at once), killing it if it lingers. */
  private stop(b: Broker): Promise<void> {
    this.forget(b);
    if (b.child.exitCode !== null || b.child.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      b.child.once('exit', () => resolve());
      b.rpc.channel.close();
      const timer = setTimeout(() => b.child.kill('SIGKILL'), 2000);
      timer.unref();
    });
  }

  /** The next identity of `b` gets a new broker. */
  private forget(b: Broker): void {
    if (this.started.get(b.key) !== b) return;
    this.started.delete(b.key);
    this.byKey.delete(b.key);
  }

  /** A broker exited: its sessions lose their roots (their workers see the channels close). */
  private gone(b: Broker, how: string): void {
    b.gone = true;
    clearTimeout(b.idleTimer);
    b.rpc.channel.close();
    this.forget(b);
    for (const connection of b.grants.keys()) {
      if (this.byConnection.get(connection) === b) this.byConnection.delete(connection);
    }
    if (b.grants.size > 0 && !this.closing) {
      this.log(
        'ERROR',
        `storage broker ${b.id} exited (${how}); its ${b.grants.size} session(s) lose their files`,
      );
    }
    b.grants.clear();
  }
}
