/**
 * Shared session state (docs/architecture.md): what must stay exact across every process serving
 * sessions — how many sessions each account and anonymous hold (-y, per-account max sessions), and
 * how an account's bandwidth is shared between the processes its sessions run in. One process uses
 * MemoryStateStore; session workers use an IPC store whose answers come from the parent's memory
 * store (src/cluster/ipc-state.ts); a store shared by several machines can implement the same
 * interface. Calls are asynchronous for that reason; keys compare case-insensitively (Pure-FTPd
 * compares logins so).
 */

/** Counts sessions per key and shares bandwidth per key; see the module comment. */
export interface StateStore {
  /** Takes a slot for `key` unless `max` are already held; resolves true when taken. */
  acquire(key: string, max: number): Promise<boolean>;
  /** Gives a slot back. */
  release(key: string): void;
  /** Slots currently held for `key`, in every process. */
  count(key: string): Promise<number>;
  /**
   * This process has one more session limited by the shared rate `key`; `onShare` receives the
   * fraction of the rate this process may use (1 when it holds every session of the key), now and
   * whenever it changes.
   */
  joinShare(key: string, onShare: (fraction: number) => void): void;
  /** One session of this process no longer uses the shared rate `key`. */
  leaveShare(key: string): void;
}

/** Session counts per key: the arithmetic every StateStore implementation shares. */
export class SlotCounter {
  private readonly slots = new Map<string, number>();

  /** Takes a slot unless `max` are held. */
  acquire(key: string, max: number): boolean {
    const k = key.toLowerCase();
    const n = this.slots.get(k) ?? 0;
    if (n >= max) return false;
    this.slots.set(k, n + 1);
    return true;
  }

  /** Gives `n` slots back. */
  release(key: string, n = 1): void {
    const k = key.toLowerCase();
    const left = (this.slots.get(k) ?? 0) - n;
    if (left <= 0) this.slots.delete(k);
    else this.slots.set(k, left);
  }

  /** Slots held. */
  count(key: string): number {
    return this.slots.get(key.toLowerCase()) ?? 0;
  }
}

/** The in-process StateStore: one process holds every session, so every share is whole. */
export class MemoryStateStore implements StateStore {
  private readonly counter = new SlotCounter();

  acquire(key: string, max: number): Promise<boolean> {
    return Promise.resolve(this.counter.acquire(key, max));
  }

  release(key: string): void {
    this.counter.release(key);
  }

  count(key: string): Promise<number> {
    return Promise.resolve(this.counter.count(key));
  }

  joinShare(_key: string, onShare: (fraction: number) => void): void {
    onShare(1);
  }

  leaveShare(): void {
    // One process: nothing to rebalance.
  }
}
