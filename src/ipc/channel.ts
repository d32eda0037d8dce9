/**
 * Messages with file descriptors between tsftpd processes (security-sensitive, see SECURITY.md;
 * native/channel.c: framed messages over a UNIX stream socket, descriptors as SCM_RIGHTS). Channel
 * is the frame layer; RpcChannel adds requests and answers on top: values are sent with the
 * structured clone (v8.serialize), so Buffers, typed arrays, Dates and strings with raw-byte escapes
 * cross intact.
 * Descriptor ownership: send() duplicates what it is given (the caller closes its own copies when
 * it likes); a received frame's descriptors belong to its receiver, and RpcChannel closes the ones
 * of an answer nobody waits for any more. Every wait is bounded in count and time.
 */
import { closeSync } from 'node:fs';
import v8 from 'node:v8';
import { loadAddon } from '../native-addons.js';

interface ChannelAddon {
  socketpair(): [number, number];
  open(
    fd: number,
    onFrame: (payload: Buffer, fds: number[]) => void,
    onClose: (errno: number) => void,
  ): ChannelHandle;
  send(handle: ChannelHandle, payload: Buffer, fds: number[]): void;
  close(handle: ChannelHandle): void;
}

/** An opaque channel handle of the addon. */
type ChannelHandle = { readonly __channel: unique symbol };

let addon: Promise<ChannelAddon> | undefined;

/** The addon; rejects with what to do when it is missing. */
export function channelAddon(): Promise<ChannelAddon> {
  addon ??= loadAddon<ChannelAddon>('tsftpd_channel', 'descriptor passing needs it: run "npm rebuild"');
  return addon;
}

/** Closes descriptors nobody will use (errors ignored: they are being given up). */
export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** A frame channel over one end of a UNIX socket pair. */
export class Channel {
  private closed = false;
  private frameListener?: (payload: Buffer, fds: number[]) => void;
  private readonly closeListeners: ((errno: number) => void)[] = [];

  private constructor(
    private readonly native: ChannelAddon,
    private handle: ChannelHandle | undefined,
  ) {}

  /** A connected pair of descriptors (give one to another process, open the other). */
  static async pair(): Promise<[number, number]> {
    return (await channelAddon()).socketpair();
  }

  /** Takes `fd` over; frames and the end are reported to the listeners set with onFrame/onClose. */
  static async open(fd: number): Promise<Channel> {
    const native = await channelAddon();
    // The handle exists before any callback can run: the addon reports from the event loop only.
    const ch: Channel = new Channel(native, undefined);
    ch.handle = native.open(
      fd,
      (payload, fds) => {
        if (ch.frameListener === undefined) closeFds(fds);
        else ch.frameListener(payload, fds);
      },
      (errno) => ch.ended(errno),
    );
    return ch;
  }

  /** Where frames go (one listener); frames of no listener have their descriptors closed. */
  onFrame(fn: (payload: Buffer, fds: number[]) => void): void {
    this.frameListener = fn;
  }

  /**
   * Runs once when the peer closes or the channel breaks (errno 0: a clean end). Returns what
   * takes the listener back (a long-lived channel must not keep the listeners of ended users).
   */
  onClose(fn: (errno: number) => void): () => void {
    if (this.closed) {
      fn(0);
      return () => undefined;
    }
    this.closeListeners.push(fn);
    return () => {
      const i = this.closeListeners.indexOf(fn);
      if (i >= 0) this.closeListeners.splice(i, 1);
    };
  }

  /** True once the channel ended or was closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues a frame; `fds` are duplicated at once. Throws when closed or over the queue bound. */
  send(payload: Buffer, fds: readonly number[] = []): void {
    if (this.closed || this.handle === undefined) {
      throw Object.assign(new Error('the channel is closed'), { code: 'ERR_CHANNEL_CLOSED' });
    }
    this.native.send(this.handle, payload, [...fds]);
  }

  /** Closes the channel (idempotent); the close listeners run with errno 0. */
  close(): void {
    if (this.closed) return;
    if (this.handle !== undefined) this.native.close(this.handle);
    this.ended(0);
  }

  private ended(errno: number): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closeListeners.splice(0)) fn(errno);
  }
}

/** An answer: a value for the structured clone, and descriptors to pass along (then closed here). */
export interface RpcAnswer {
  value: unknown;
  fds?: readonly number[];
}

/** A request handler: the arguments and descriptors of a request, the answer to send. */
export type RpcHandler = (args: unknown, fds: number[]) => Promise<RpcAnswer>;

/** Every request to one function: its method too. */
export type RpcDispatcher = (method: string, args: unknown, fds: number[]) => Promise<RpcAnswer>;

/** The answer to a request nobody serves (its descriptors are closed). */
function unknownRequest(method: string, fds: readonly number[]): Promise<RpcAnswer> {
  closeFds(fds);
  return Promise.reject(Object.assign(new Error(`unknown request ${method}`), { code: 'EINVAL' }));
}

interface Pending {
  resolve(answer: { value: unknown; fds: number[] }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

type Wire =
  | { k: 'req'; id: number; method: string; args: unknown }
  | { k: 'ok'; id: number; value: unknown }
  | { k: 'err'; id: number; code: string; message: string };

/** Requests and answers over a Channel, in both directions. */
export class RpcChannel {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private dispatcher: RpcDispatcher = (method, _args, fds) => unknownRequest(method, fds);

  /**
   * @param maxPending most requests waiting at once (more are refused at once)
   * @param timeoutMs how long a request may wait for its answer
   */
  constructor(
    readonly channel: Channel,
    private readonly opts: { maxPending?: number; timeoutMs?: number } = {},
  ) {
    channel.onFrame((payload, fds) => this.frame(payload, fds));
    channel.onClose((errno) => {
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(
          Object.assign(new Error(`the channel closed${errno !== 0 ? ` (errno ${errno})` : ''}`), {
            code: 'ERR_CHANNEL_CLOSED',
          }),
        );
      }
    });
  }

  /** Answers requests with these handlers (by method name), or with this one function. */
  serve(handlers: Record<string, RpcHandler> | RpcDispatcher): void {
    if (typeof handlers === 'function') {
      this.dispatcher = handlers;
      return;
    }
    this.dispatcher = (method, args, fds) => {
      const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
      return handler !== undefined ? handler(args, fds) : unknownRequest(method, fds);
    };
  }

  /** See Channel.onClose. */
  onClose(fn: (errno: number) => void): () => void {
    return this.channel.onClose(fn);
  }

  /** Sends a request (with descriptors); resolves with the answer's value and descriptors. */
  call(
    method: string,
    args: unknown,
    fds: readonly number[] = [],
  ): Promise<{ value: unknown; fds: number[] }> {
    if (this.channel.isClosed) {
      return Promise.reject(
        Object.assign(new Error('the channel is closed'), { code: 'ERR_CHANNEL_CLOSED' }),
      );
    }
    if (this.pending.size >= (this.opts.maxPending ?? 1024)) {
      return Promise.reject(
        Object.assign(new Error('too many requests in flight'), { code: 'ERR_CHANNEL_BUSY' }),
      );
    }
    const id = ++this.seq;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          Object.assign(new Error(`no answer to ${method} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        );
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.channel.send(v8.serialize({ k: 'req', id, method, args } satisfies Wire), fds);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      }
    });
  }

  private frame(payload: Buffer, fds: number[]): void {
    let msg: Wire;
    try {
      msg = v8.deserialize(payload) as Wire;
    } catch {
      closeFds(fds);
      this.channel.close(); // a peer that sends garbage is not trusted further
      return;
    }
    if (msg.k === 'req') {
      void this.request(msg.id, msg.method, msg.args, fds);
      return;
    }
    const p = this.pending.get(msg.id);
    if (p === undefined) {
      closeFds(fds); // late (timed out) answer: its descriptors are nobody's
      return;
    }
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.k === 'ok') p.resolve({ value: msg.value, fds });
    else {
      closeFds(fds);
      p.reject(Object.assign(new Error(msg.message), { code: msg.code }));
    }
  }

  private async request(id: number, method: string, args: unknown, fds: number[]): Promise<void> {
    let answer: Wire;
    let out: readonly number[] = [];
    try {
      const r = await this.dispatcher(method, args, fds);
      answer = { k: 'ok', id, value: r.value };
      out = r.fds ?? [];
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      answer = {
        k: 'err',
        id,
        code: typeof e.code === 'string' ? e.code : 'EIO',
        message: typeof e.message === 'string' ? e.message : String(err),
      };
    }
    try {
      if (!this.channel.isClosed) this.channel.send(v8.serialize(answer), out);
    } finally {
      closeFds(out); // the channel duplicated them (or the answer cannot be sent)
    }
  }
}
