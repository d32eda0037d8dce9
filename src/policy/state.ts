/**
 * Shared session state (docs/architecture.md): how many sessions each account and anonymous hold, so
 * per-user caps (-y, per-account max sessions) are exact. In one process this is a map; the same
 * interface will be backed by IPC for workers and by Redis across machines.
 */

/** Counts sessions per account; a slot is held from login to the end of the session. */
export interface StateStore {
  /** Takes a slot for `key` unless `max` are already held; true when taken. */
  acquire(key: string, max: number): boolean;
  /** Gives a slot back. */
  release(key: string): void;
  /** Slots currently held for `key`. */
  count(key: string): number;
}

/** The in-process StateStore. Keys are compared case-insensitively, as Pure-FTPd compares logins. */
export class MemoryStateStore implements StateStore {
  private readonly slots = new Map<string, number>();

  acquire(key: string, max: number): boolean {
    const k = key.toLowerCase();
    const n = this.slots.get(k) ?? 0;
    if (n >= max) return false;
    this.slots.set(k, n + 1);
    return true;
  }

  release(key: string): void {
    const k = key.toLowerCase();
    const n = (this.slots.get(k) ?? 0) - 1;
    if (n <= 0) this.slots.delete(k);
    else this.slots.set(k, n);
  }

  count(key: string): number {
    return this.slots.get(key.toLowerCase()) ?? 0;
  }
}
