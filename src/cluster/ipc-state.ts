/**
 * A worker's StateStore (policy/state.ts): counts are asked of the parent, which holds the one exact
 * copy (state-server.ts); bandwidth shares are announced and the parent pushes this worker's
 * fraction of each shared rate.
 */
import type { StateStore } from '../policy/state.js';
import type { Ban, FailureVerdict } from '../policy/defender.js';
import type { ParentLink } from './parent-link.js';

/** The shared state, kept by the parent. */
export class IpcStateStore implements StateStore {
  private readonly listeners = new Map<string, Set<(fraction: number) => void>>();
  private readonly fractions = new Map<string, number>();

  /** The parent takes the connection counts in a shared store itself; workers never do. */
  readonly shared = false;

  constructor(private readonly link: ParentLink) {}

  async loginFailed(ip: string, login: string): Promise<FailureVerdict> {
    return (await this.link.call('defender', { op: 'failed', ip, login })) as FailureVerdict;
  }

  async banned(ip: string): Promise<Ban | undefined> {
    return ((await this.link.call('defender', { op: 'banned', ip })) ?? undefined) as Ban | undefined;
  }

  async accountLocked(login: string): Promise<number | undefined> {
    const until = await this.link.call('defender', { op: 'locked', login });
    return typeof until === 'number' ? until : undefined;
  }

  async bans(): Promise<Ban[]> {
    return (await this.link.call('defender', { op: 'list' })) as Ban[];
  }

  async addBan(ip: string, seconds: number | undefined): Promise<Ban | undefined> {
    return ((await this.link.call('defender', { op: 'add', ip, seconds })) ?? undefined) as Ban | undefined;
  }

  async removeBan(ip: string): Promise<boolean> {
    return (await this.link.call('defender', { op: 'remove', ip })) === true;
  }

  async acquire(key: string, max: number): Promise<boolean> {
    return (await this.link.call('acquire', { key, max })) === true;
  }

  release(key: string): void {
    this.link.post({ t: 'release', key });
  }

  async count(key: string): Promise<number> {
    return Number(await this.link.call('count', { key }));
  }

  joinShare(key: string, onShare: (fraction: number) => void): void {
    const set = this.listeners.get(key) ?? new Set();
    set.add(onShare);
    this.listeners.set(key, set);
    // Until the parent answers, the last known fraction (or the whole rate: corrected within a turn).
    onShare(this.fractions.get(key) ?? 1);
    this.link.post({ t: 'join', key });
  }

  leaveShare(key: string): void {
    const set = this.listeners.get(key);
    if (set !== undefined) {
      // Any one listener: they all apply the fraction to the same limiter of the key.
      const first = set.values().next();
      if (!first.done) set.delete(first.value);
      if (set.size === 0) {
        this.listeners.delete(key);
        this.fractions.delete(key);
      }
    }
    this.link.post({ t: 'leave', key });
  }

  /** The parent's new fraction for a key. */
  share(key: string, fraction: number): void {
    const set = this.listeners.get(key);
    if (set === undefined) return;
    this.fractions.set(key, fraction);
    for (const fn of set) fn(fraction);
  }
}
