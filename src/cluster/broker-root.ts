/**
 * An account root seen from a session worker when the server runs as root: the RootFs operations
 * go as requests to the storage broker of the account's identity (broker-service.ts), which runs
 * them as the account; opened files come back as descriptors, so downloads keep sendfile and
 * uploads the native pump. Copies between two descriptors this worker holds need no broker.
 * Errors come back as the broker saw them (errno codes, FtpError ERR_JAIL for a path leaving the
 * root), so replies are the same as with a local root. A broker that is gone fails every request.
 */
import { close } from 'node:fs';
import { copyRange } from '../storage/confined.js';
import { FtpError, type ErrCode } from '../errors.js';
import type { Entry, OpenedFile, RawScan, RootFs, VPath } from '../storage/types.js';

/** A request/answer channel to a broker (ipc/channel.ts RpcChannel). */
export interface BrokerRpc {
  call(method: string, args: unknown): Promise<{ value: unknown; fds: number[] }>;
  /** Runs when the broker is gone; returns what takes the listener back. */
  onClose(fn: () => void): () => void;
}

/** FtpError codes a broker may answer with (the rest are errno codes, such as ENOENT). */
const FTP_CODES = new Set([
  'ERR_JAIL',
  'ERR_NOT_FILE',
  'ERR_HOME',
  'ERR_CANT_CREATE',
  'ERR_IS_DIR',
  'ERR_PERMISSION',
]);

/** The error a broker's answer stands for: its FtpError again, or an errno-shaped error. */
function fromBroker(err: unknown): Error {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'EIO';
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (FTP_CODES.has(code)) return new FtpError(code as ErrCode, message);
  if (code === 'ERR_CHANNEL_CLOSED' || code === 'ETIMEDOUT' || code === 'ERR_CHANNEL_BUSY') {
    // The broker is gone (or stuck): the session cannot reach its files any more.
    return new FtpError('ERR_UNAVAILABLE', 'Service not available', {
      detail: `the storage broker did not answer: ${message}`,
    });
  }
  return Object.assign(new Error(message), { code });
}

/** One request to the broker, its errors turned back into what a local root would have thrown. */
async function ask(
  rpc: BrokerRpc,
  method: string,
  args: unknown,
): Promise<{ value: unknown; fds: number[] }> {
  try {
    return await rpc.call(method, args);
  } catch (err) {
    throw fromBroker(err);
  }
}

/** A root held open by a broker for one session. */
export class BrokerRoot implements RootFs {
  private closed = false;
  private unwatch: (() => void) | undefined;

  private constructor(
    private readonly rpc: BrokerRpc,
    private readonly id: number,
    readonly realPath: string,
  ) {}

  /** Asks the broker to open a root the parent granted this session. */
  static async open(
    rpc: BrokerRpc,
    args: { session: number; path: string; request: { confine: boolean; weak?: boolean } },
  ): Promise<BrokerRoot> {
    const { value } = await ask(rpc, 'openRoot', args);
    const v = value as { id: number; realPath: string };
    return new BrokerRoot(rpc, v.id, v.realPath);
  }

  private async value<T>(method: string, args: Record<string, unknown>): Promise<T> {
    const { value, fds } = await ask(this.rpc, method, { root: this.id, ...args });
    for (const fd of fds) close(fd, () => undefined); // none expected
    return value as T;
  }

  /** A request that answers with one descriptor. */
  private async withFd<T>(method: string, args: Record<string, unknown>): Promise<{ value: T; fd?: number }> {
    const { value, fds } = await ask(this.rpc, method, { root: this.id, ...args });
    for (const extra of fds.slice(1)) close(extra, () => undefined);
    return { value: value as T, fd: fds[0] };
  }

  stat(p: VPath, follow: boolean): Promise<Entry> {
    return this.value('stat', { path: p, follow });
  }

  async open(p: VPath, flags: number, mode: number, follow: boolean): Promise<{ fd: number; entry: Entry }> {
    const { value, fd } = await this.withFd<{ entry: Entry }>('open', { path: p, flags, mode, follow });
    if (fd === undefined) throw Object.assign(new Error('the broker sent no descriptor'), { code: 'EIO' });
    return { fd, entry: value.entry };
  }

  async read(p: VPath, offset: number, maxInline: number): Promise<OpenedFile> {
    const { value, fd } = await this.withFd<OpenedFile>('read', { path: p, offset, maxInline });
    return { ...value, fd };
  }

  mkdir(p: VPath, mode: number): Promise<void> {
    return this.value('mkdir', { path: p, mode });
  }

  rmdir(p: VPath): Promise<void> {
    return this.value('rmdir', { path: p });
  }

  unlink(p: VPath): Promise<void> {
    return this.value('unlink', { path: p });
  }

  rename(from: VPath, to: VPath): Promise<void> {
    return this.value('rename', { from, to });
  }

  link(from: VPath, to: VPath): Promise<void> {
    return this.value('link', { from, to });
  }

  chmod(p: VPath, mode: number): Promise<void> {
    return this.value('chmod', { path: p, mode });
  }

  setTimes(p: VPath, mtime: Date): Promise<void> {
    return this.value('setTimes', { path: p, mtime });
  }

  statfs(p: VPath): Promise<{ total: number; free: number }> {
    return this.value('statfs', { path: p });
  }

  access(p: VPath, mode: number): Promise<boolean> {
    return this.value<boolean>('access', { path: p, mode }).catch(() => false);
  }

  copy(from: number, to: number, length: number): Promise<void> {
    return copyRange(from, to, length);
  }

  scan(dir: VPath, max: number, order: number): Promise<RawScan> {
    return this.value('scan', { path: dir, max, order });
  }

  lstatNames(dir: VPath, names: readonly string[]): Promise<RawScan> {
    return this.value('lstatNames', { path: dir, names: [...names] });
  }

  /** `fn` runs if the broker dies while this root is open (its session cannot go on). */
  onLost(fn: (reason: string) => void): void {
    this.unwatch?.();
    this.unwatch = this.rpc.onClose(() => {
      if (!this.closed) fn('the storage broker of this account ended');
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    this.unwatch = undefined;
    this.rpc.call('closeRoot', { root: this.id }).catch(() => undefined);
  }
}
