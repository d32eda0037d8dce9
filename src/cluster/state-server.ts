/**
 * The parent's side of the shared state (policy/state.ts): what each worker holds (given back at
 * once if the worker dies) over the node's store (memory, or Redis shared by every node), and the
 * bandwidth shares: a rate shared by an account's sessions is divided between the workers in
 * proportion to the sessions each holds — times this node's share of the rate across the nodes,
 * when the store is shared — and every change is pushed to the workers concerned.
 */
import type { StateStore } from '../policy/state.js';

/** A worker as the state server sees it: an id and a way to tell it its share of a rate. */
export interface ShareHolder {
  readonly id: number;
  share(key: string, fraction: number): void;
}

/** Exact counts across workers. */
export class StateServer {
  /** Slots each worker holds, by key (to give them back when the worker dies). */
  private readonly held = new Map<ShareHolder, Map<string, number>>();
  /** Sessions using each shared rate, per worker. */
  private readonly shares = new Map<string, Map<ShareHolder, number>>();
  /** This node's fraction of each shared rate (1 unless the store is shared). */
  private readonly nodeShare = new Map<string, number>();

  constructor(readonly store: StateStore) {}

  /** Takes a slot for a worker's session. */
  async acquire(w: ShareHolder, key: string, max: number): Promise<boolean> {
    if (!(await this.store.acquire(key, max))) return false;
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
    this.store.release(k);
  }

  /** Slots held for a key, in every worker (and node). */
  count(key: string): Promise<number> {
    return this.store.count(key);
  }

  /** A worker has one more session using the shared rate `key`. */
  join(w: ShareHolder, key: string): void {
    const per = this.shares.get(key) ?? new Map<ShareHolder, number>();
    per.set(w, (per.get(w) ?? 0) + 1);
    this.shares.set(key, per);
    this.store.joinShare(key, (fraction) => {
      this.nodeShare.set(key, fraction);
      this.rebalance(key);
    });
    this.rebalance(key);
  }

  /** A worker has one session less using `key`. */
  leave(w: ShareHolder, key: string): void {
    const per = this.shares.get(key);
    const n = per?.get(w) ?? 0;
    if (n <= 0) return;
    if (n === 1) per!.delete(w);
    else per!.set(w, n - 1);
    this.store.leaveShare(key);
    if (per!.size === 0) {
      this.shares.delete(key);
      this.nodeShare.delete(key);
    } else this.rebalance(key);
  }

  /** A worker is gone: everything it held is given back and the shares it had are redistributed. */
  dropWorker(w: ShareHolder): void {
    for (const [key, n] of this.held.get(w) ?? []) for (let i = 0; i < n; i++) this.store.release(key);
    this.held.delete(w);
    for (const [key, per] of [...this.shares]) {
      const n = per.get(w);
      if (n === undefined) continue;
      per.delete(w);
      for (let i = 0; i < n; i++) this.store.leaveShare(key);
      if (per.size === 0) {
        this.shares.delete(key);
        this.nodeShare.delete(key);
      } else this.rebalance(key);
    }
  }

  private rebalance(key: string): void {
    const per = this.shares.get(key);
    if (per === undefined) return;
    let total = 0;
    for (const n of per.values()) total += n;
    const node = this.nodeShare.get(key) ?? 1;
    for (const [w, n] of per) w.share(key, (n / total) * node);
  }
}
