/**
 * Leak check for in-process test servers: what a server scope leaves behind once it is closed.
 * A snapshot records the libuv handles keeping the process alive (process.getActiveResourcesInfo():
 * TCP sockets and listeners, ref'd timers, pipes, child processes, ...) and the open file
 * descriptors (/proc/self/fd); the check compares a later snapshot with it after letting
 * asynchronous closes settle, and lists what is still above it.
 *
 * Guarantees: a handle kind or the fd count above the baseline for the whole settle period is
 * reported (a leaked listener, socket, timer or file descriptor is caught); one-shot requests
 * (connect, write, close, fs and DNS requests) are not counted, as they end by themselves; a
 * resource that closes within the settle period is not a leak.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';

/** What the process holds at one moment. */
export interface ResourceSnapshot {
  /** Count of each active handle kind (requests left out). */
  handles: Map<string, number>;
  /** Open file descriptors: number → what it points to. */
  fds: Map<number, string>;
  /** The live sockets and listeners, described (for the message only). */
  sockets: string[];
}

/** Options of waitForNoLeaks(). */
export interface LeakCheckOptions {
  /** How long closes may take to settle before what is left counts as leaked (default 2000 ms). */
  settleMs?: number;
  /** Extra file descriptors tolerated above the baseline (default 0). */
  fdTolerance?: number;
}

/** Thrown when a scope left resources behind; the message lists them. */
export class LeakError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeakError';
  }
}

/** Requests: in-flight operations that end by themselves, not resources that can leak. */
const REQUEST = /(Req|ReqWrap|ReqCallback|ReqPromise)$|^(ConnectWrap|WriteWrap|ShutdownWrap|Immediate)$/;

let warm: Promise<void> | undefined;

/**
 * Makes the process open what Node opens once, lazily, and keeps for its lifetime, so that it is
 * in the first baseline rather than counted as a leak: the first child process makes libuv open
 * /dev/null (kept open). Runs once per process.
 */
export function warmUp(): Promise<void> {
  warm ??= new Promise<void>((resolve) => execFile('true', () => resolve()));
  return warm;
}

/** Takes a snapshot of the process's handles and file descriptors. */
export function snapshot(): ResourceSnapshot {
  const handles = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (!REQUEST.test(kind)) handles.set(kind, (handles.get(kind) ?? 0) + 1);
  }
  const fds = new Map<number, string>();
  const dir = '/proc/self/fd';
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    // not Linux: handles only
  }
  for (const name of names) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${name}`);
    } catch {
      continue; // the descriptor readdirSync itself used, closed by now
    }
    fds.set(Number(name), target);
  }
  return { handles, fds, sockets: describeSockets() };
}

/** What `now` holds above `base`, one line per kind; empty when nothing is. */
export function excess(base: ResourceSnapshot, now: ResourceSnapshot, fdTolerance = 0): string[] {
  const out: string[] = [];
  for (const [kind, n] of now.handles) {
    const extra = n - (base.handles.get(kind) ?? 0);
    if (extra > 0) out.push(`${kind} +${extra}`);
  }
  const extraFds = now.fds.size - base.fds.size;
  if (extraFds > fdTolerance) {
    const baseTargets = new Set([...base.fds].map(([fd, t]) => `${fd}=${t}`));
    const added = [...now.fds]
      .filter(([fd, t]) => !baseTargets.has(`${fd}=${t}`))
      .map(([fd, t]) => `${fd} → ${t}`);
    out.push(`file descriptors +${extraFds} (new: ${added.join(', ') || 'renumbered'})`);
  }
  return out;
}

/**
 * Details of the live sockets and listeners, to say which ones leaked. Uses Node's undocumented
 * process._getActiveHandles() (present since Node 0.x); only for the message, never for the verdict.
 */
export function describeSockets(): string[] {
  const get = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  if (typeof get !== 'function') return [];
  const out: string[] = [];
  for (const h of get.call(process)) {
    if (h instanceof net.Server) {
      const a = h.address();
      out.push(`listener ${typeof a === 'object' && a !== null ? `${a.address}:${a.port}` : String(a)}`);
    } else if (h instanceof net.Socket && !h.destroyed && h.remotePort !== undefined) {
      out.push(`socket ${h.localAddress}:${h.localPort} ⇄ ${h.remoteAddress}:${h.remotePort}`);
    }
  }
  return out;
}

/**
 * Waits until nothing is above `base` (polling every 25 ms, at most settleMs); throws LeakError
 * naming `what` and listing what is left.
 */
export async function waitForNoLeaks(
  base: ResourceSnapshot,
  what: string,
  opts: LeakCheckOptions = {},
): Promise<void> {
  const deadline = Date.now() + (opts.settleMs ?? 2000);
  for (;;) {
    const left = excess(base, snapshot(), opts.fdTolerance ?? 0);
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      const sockets = describeSockets().filter((d) => !base.sockets.includes(d));
      throw new LeakError(
        `${what} left resources behind: ${left.join('; ')}` +
          (sockets.length > 0 ? ` [new since: ${sockets.join(', ')}]` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The leak check of the in-process test servers of one test process. Servers may overlap (a test
 * with two servers, or tests run concurrently), so the baseline is taken when the first of a group
 * of overlapping servers starts and the check runs when the last of them closes: a server's
 * resources are never counted against another's baseline. A group with a server that opted out is
 * not checked. TSFTPD_LEAK_CHECK=0 turns the check off.
 */
export class LeakWindow {
  private live = 0;
  private base: ResourceSnapshot | undefined;
  private optedOut = false;

  /** True unless TSFTPD_LEAK_CHECK=0. */
  static get enabled(): boolean {
    return process.env.TSFTPD_LEAK_CHECK !== '0';
  }

  /** A server started; `base` was taken before it opened anything. */
  opened(base: ResourceSnapshot, checked: boolean): void {
    if (this.live++ === 0) {
      this.base = base;
      this.optedOut = false;
    }
    if (!checked || !LeakWindow.enabled) this.optedOut = true;
  }

  /** A server whose close failed: it leaves the group, which is then not checked. */
  closedUnchecked(): void {
    this.optedOut = true;
    if (this.live > 0 && --this.live === 0) this.base = undefined;
  }

  /** A server closed: when it was the last one open, checks that nothing is left above the baseline. */
  async closed(what: string, opts: LeakCheckOptions = {}): Promise<void> {
    if (this.live === 0) return; // closed twice
    if (--this.live > 0) return;
    const base = this.base;
    this.base = undefined;
    if (base !== undefined && !this.optedOut) await waitForNoLeaks(base, what, opts);
  }
}

/** The window shared by every startServer() of this process. */
export const serverWindow = new LeakWindow();
