/**
 * The parent's side of the shared state (policy/state.ts): the one SlotCounter every worker's
 * sessions count in, what each worker holds (given back at once if the worker dies), and the
 * bandwidth shares: a rate shared by an account's sessions is divided between the workers in
 * proportion to the sessions each holds, and every change is pushed to the workers concerned.
 */
import { SlotCounter } from '../policy/state.js';

/** A worker as the state server sees it: an id and a way to tell it its share of a rate. */
export interface ShareHolder {
  readonly id: number;
  share(key: string, fraction: number): void;
}

/** Exact counts across workers. */
export class StateServer {
  private readonly counter = new SlotCounter();
  /** Slots each worker holds, by key (to give them back when the worker dies). */
  private readonly held = new Map<ShareHolder, Map<string, number>>();
  /** Sessions using each shared rate, per worker. */
  private readonly shares = new Map<string, Map<ShareHolder, number>>();

  /** Takes a slot for a worker's session. */
  acquire(w: ShareHolder, key: string, max: number): boolean {
    if (!this.counter.acquire(key, max)) return false;
    const mine = this.held.get(w) ?? new Map<string, number>();
    const k = key.toLowerCase();
    mine.set(k, (mine.get(k) ?? 0) + 1);
    this.held.set(w, mine);
    return true;
  }

  /** Gives a worker's slot back. */
  release(w: ShareHolder, key: string): void {
    const mine = this.held.get(w);
    const k = key.toLowerCase();
    const n = mine?.get(k) ?? 0;
    if (n <= 0) return; // never more than the worker took
    if (n === 1) mine!.delete(k);
    else mine!.set(k, n - 1);
    this.counter.release(k);
  }

  /** Slots held for a key, in every worker. */
  count(key: string): number {
    return this.counter.count(key);
  }

  /** A worker has one more session using the shared rate `key`. */
  join(w: ShareHolder, key: string): void {
    const per = this.shares.get(key) ?? new Map<ShareHolder, number>();
    per.set(w, (per.get(w) ?? 0) + 1);
    this.shares.set(key, per);
    this.rebalance(key);
  }

  /** A worker has one session less using `key`. */
  leave(w: ShareHolder, key: string): void {
    const per = this.shares.get(key);
    const n = per?.get(w) ?? 0;
    if (n <= 0) return;
    if (n === 1) per!.delete(w);
    else per!.set(w, n - 1);
    if (per!.size === 0) this.shares.delete(key);
    else this.rebalance(key);
  }

  /** A worker is gone: everything it held is given back and the shares it had are redistributed. */
  dropWorker(w: ShareHolder): void {
    for (const [key, n] of this.held.get(w) ?? []) this.counter.release(key, n);
    this.held.delete(w);
    for (const [key, per] of [...this.shares]) {
      if (!per.delete(w)) continue;
      if (per.size === 0) this.shares.delete(key);
      else this.rebalance(key);
    }
  }

  private rebalance(key: string): void {
    const per = this.shares.get(key);
    if (per === undefined) return;
    let total = 0;
    for (const n of per.values()) total += n;
    for (const [w, n] of per) w.share(key, n / total);
  }
}
