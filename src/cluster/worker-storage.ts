/**
 * A session worker's account roots when the server was started as root: the worker asks the parent
 * for its connection's root (over the descriptor channel the parent gave it, descriptor 4); the
 * parent grants it in the broker of the account's identity and, the first time, passes this worker
 * its end of a channel to that broker; the root is then a BrokerRoot on that channel.
 * A broker that dies takes its channel with it: the roots on it fail (the sessions end with 421),
 * and the next login of that identity gets a new broker.
 */
import { Channel, RpcChannel, closeFds } from '../ipc/channel.js';
import { FtpError } from '../errors.js';
import type { RootFs, RootOpener, RootRequest } from '../storage/types.js';
import { BrokerRoot } from './broker-root.js';

/** Descriptor of the channel to the parent (the fifth stdio entry of the fork). */
export const PARENT_CHANNEL_FD = 4;
/** How long a root request (which may start a broker) may wait. */
const ROOT_TIMEOUT_MS = 30_000;
/** How long a broker's request may wait (a slow disk included). */
const BROKER_TIMEOUT_MS = 120_000;
/** How long an answer naming a broker may wait for that broker's channel (sent with another answer). */
const CHANNEL_WAIT_MS = 10_000;

/** The worker's channels to the parent and to the brokers. */
export class BrokeredRoots {
  private readonly brokers = new Map<number, RpcChannel>();
  private readonly waiting = new Map<number, ((rpc: RpcChannel | undefined) => void)[]>();

  private constructor(private readonly parent: RpcChannel) {}

  /** Opens the parent's descriptor channel. */
  static async open(fd = PARENT_CHANNEL_FD): Promise<BrokeredRoots> {
    return new BrokeredRoots(new RpcChannel(await Channel.open(fd), { timeoutMs: ROOT_TIMEOUT_MS }));
  }

  /** The RootOpener of the worker's server. */
  readonly opener: RootOpener = (realPath, request) => this.openRoot(realPath, request);

  private async openRoot(realPath: string, request: RootRequest): Promise<RootFs> {
    if (request.connection === undefined) {
      throw new FtpError('ERR_HOME', 'Home directory not available - aborting', {
        detail: 'a root was asked without the connection it belongs to',
      });
    }
    let answer: { value: unknown; fds: number[] };
    try {
      answer = await this.parent.call('root', {
        connection: request.connection,
        path: realPath,
        confine: request.confine,
      });
    } catch (err) {
      throw asFtpError(err);
    }
    const id = (answer.value as { broker: number }).broker;
    const [fd, ...extra] = answer.fds;
    closeFds(extra);
    if (fd !== undefined) this.adopt(id, await Channel.open(fd));
    const rpc = this.brokers.get(id) ?? (await this.channelOf(id));
    return BrokerRoot.open(rpc, {
      session: request.connection,
      path: realPath,
      request: { confine: request.confine, weak: request.weak },
    });
  }

  /** Keeps a new broker channel and wakes who waits for it. */
  private adopt(id: number, ch: Channel): void {
    const rpc = new RpcChannel(ch, { timeoutMs: BROKER_TIMEOUT_MS, maxPending: 65536 });
    this.brokers.set(id, rpc);
    ch.onClose(() => {
      if (this.brokers.get(id) === rpc) this.brokers.delete(id);
    });
    for (const wake of this.waiting.get(id) ?? []) wake(rpc);
    this.waiting.delete(id);
  }

  /** The channel of broker `id`, which travels with another answer still on its way. */
  private channelOf(id: number): Promise<RpcChannel> {
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(id) ?? [];
      const timer = setTimeout(() => {
        const i = list.indexOf(wake);
        if (i >= 0) list.splice(i, 1);
        reject(
          new FtpError('ERR_HOME', 'Home directory not available - aborting', {
            detail: `no channel to storage broker ${id}`,
          }),
        );
      }, CHANNEL_WAIT_MS);
      const wake = (rpc: RpcChannel | undefined): void => {
        clearTimeout(timer);
        if (rpc !== undefined) resolve(rpc);
      };
      list.push(wake);
      this.waiting.set(id, list);
    });
  }
}

/** A parent's refusal as the session should see it (an FtpError code crosses as its code). */
function asFtpError(err: unknown): Error {
  const e = err as { code?: unknown; message?: unknown };
  if (e.code === 'ERR_HOME' || e.code === 'ERR_UNAVAILABLE' || e.code === 'ERR_PERMISSION') {
    return new FtpError(e.code, typeof e.message === 'string' ? e.message : undefined);
  }
  return new FtpError('ERR_UNAVAILABLE', 'Service not available', {
    detail: `the parent could not open the root: ${String(e.message ?? err)}`,
  });
}
