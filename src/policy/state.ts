/**
 * Shared session state (docs/architecture.md): what must stay exact across every process serving
 * sessions — how many sessions each account and anonymous hold (-y, per-account max sessions), and
 * how an account's bandwidth is shared between the processes its sessions run in. One process uses
 * MemoryStateStore; session workers use an IPC store whose answers come from the parent's memory
 * store (src/cluster/ipc-state.ts); a store shared by several machines can implement the same
 * interface. Calls are asynchronous for that reason; keys compare case-insensitively (Pure-FTPd
 * compares logins so). The same stores hold the brute-force defender's scores and bans
 * (policy/defender.ts), and, when `shared` (Redis), the cluster-wide -c/-C counts.
 */
import { Defender, defaultBanSettings, type Ban, type BanSettings, type FailureVerdict } from './defender.js';

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
  /** Scores a failed login of `login` from `ip`: says whether the address is banned now. */
  loginFailed(ip: string, login: string): Promise<FailureVerdict>;
  /** The ban in force on an address, if any. */
  banned(ip: string): Promise<Ban | undefined>;
  /** When an account's lockout ends, if it is locked (account lockout, off by default). */
  accountLocked(login: string): Promise<number | undefined>;
  /** `tsftpd ban`: the bans in force, a ban by hand (undefined: allow-listed), a ban lifted. */
  bans(): Promise<Ban[]>;
  addBan(ip: string, seconds: number | undefined): Promise<Ban | undefined>;
  removeBan(ip: string): Promise<boolean>;
  /**
   * True when the store is shared by several nodes (Redis): the connection counts (-c, -C) are then
   * also taken in it, under CLIENTS_KEY and ipKey(ip).
   */
  readonly shared: boolean;
}

/** The shared-store key counting every node's connections (-c). */
export const CLIENTS_KEY = '\0clients';
/** The shared-store key counting one address's connections on every node (-C). */
export function ipKey(ip: string): string {
  return `\0ip:${ip}`;
}

/** The defender's part of a StateStore, for the stores that keep it in this process. */
export class LocalBans {
  readonly defender: Defender;

  constructor(settings: BanSettings = defaultBanSettings()) {
    this.defender = new Defender(settings);
  }

  loginFailed(ip: string, login: string): Promise<FailureVerdict> {
    return Promise.resolve(this.defender.failed(ip, login));
  }

  banned(ip: string): Promise<Ban | undefined> {
    return Promise.resolve(this.defender.banned(ip));
  }

  accountLocked(login: string): Promise<number | undefined> {
    return Promise.resolve(this.defender.accountLocked(login));
  }

  bans(): Promise<Ban[]> {
    return Promise.resolve(this.defender.list());
  }

  addBan(ip: string, seconds: number | undefined): Promise<Ban | undefined> {
    return Promise.resolve(this.defender.add(ip, seconds, 'manual'));
  }

  removeBan(ip: string): Promise<boolean> {
    return Promise.resolve(this.defender.remove(ip));
  }
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
export class MemoryStateStore extends LocalBans implements StateStore {
  private readonly counter = new SlotCounter();
  readonly shared = false;

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
