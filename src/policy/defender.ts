/**
 * The brute-force defender (docs/bans.md; Pure-FTPd has only its per-session delay). Security-
 * sensitive, see SECURITY.md. Guarantees:
 * - every failed login scores one point for the client address (and one for the account when
 *   account lockout is on); `after` points within `window` ban the address for `ban` ms, each new
 *   ban within a day doubling the time up to `maxBan`;
 * - an address of the allow list is never banned, not even by hand;
 * - memory is bounded: at most MAX_TRACKED addresses, accounts and bans each (the oldest entry is
 *   dropped first), and at most `after` failure times per address.
 * This class is the arithmetic of one process's state; the parent of the session workers holds the
 * one copy they share, and a Redis store holds the one every node shares (cluster/redis-state.ts).
 */
import { matchCidr, parseCidrList } from '../auth/cidr.js';
import type { Cidr } from '../auth/types.js';

/** Entries of each map at most (a spray from many addresses cannot grow memory without bound). */
export const MAX_TRACKED = 100_000;
/** How long a past ban counts towards the doubling of the next one. */
export const REPEAT_MEMORY_MS = 24 * 3600 * 1000;

/** The defender's settings (Config.ban, times in seconds). */
export interface BanSettings {
  /** Failed logins from one address that ban it; 0 turns the defender off. */
  after: number;
  /** The window those failures must fall in. */
  windowSeconds: number;
  /** The first ban's length; doubled for every ban of the same address within a day. */
  seconds: number;
  /** The longest ban. */
  maxSeconds: number;
  /** Networks never banned (CIDR texts). */
  allow: string[];
  /** Failed logins for one account (from anywhere) that lock it for the ban time; 0: off. */
  accountAfter: number;
}

/** The defaults: safe for an office of many users behind one NAT address (docs/bans.md). */
export function defaultBanSettings(): BanSettings {
  return { after: 20, windowSeconds: 600, seconds: 900, maxSeconds: 86_400, allow: [], accountAfter: 0 };
}

/** One ban, as `tsftpd ban list` shows it. */
export interface Ban {
  ip: string;
  /** Milliseconds since 1970 when it ends. */
  until: number;
  /** `failures` (the defender) or `manual` (`tsftpd ban add`). */
  reason: string;
  /** Bans of this address within a day, this one included. */
  count: number;
}

/** What a failed login led to. */
export interface FailureVerdict {
  /** The address is banned now (by this failure or before). */
  ban?: Ban;
  /** The account is locked until then (ms since 1970). */
  accountLockedUntil?: number;
}

/** Deletes the oldest entries of a map beyond MAX_TRACKED. */
function bound<K, V>(map: Map<K, V>): void {
  while (map.size > MAX_TRACKED) {
    const first = map.keys().next();
    if (first.done === true) return;
    map.delete(first.value);
  }
}

/** A ban length for the `count`-th ban: the base doubled each time, at most the maximum (ms). */
export function banLengthMs(s: BanSettings, count: number): number {
  const doubled = s.seconds * 2 ** Math.min(Math.max(count - 1, 0), 30);
  return Math.min(doubled, Math.max(s.maxSeconds, s.seconds)) * 1000;
}

/** Scores and bans of one process; see the module comment. */
export class Defender {
  private settings!: BanSettings;
  private allow: Cidr[] = [];
  private readonly failures = new Map<string, number[]>();
  private readonly accountFailures = new Map<string, number[]>();
  private readonly bans = new Map<string, Ban>();
  private readonly repeats = new Map<string, { count: number; at: number }>();
  private readonly locks = new Map<string, number>();

  constructor(settings: BanSettings) {
    this.configure(settings);
  }

  /** SIGHUP: new settings; scores and bans stay. */
  configure(settings: BanSettings): void {
    this.settings = settings;
    this.allow = parseCidrList(settings.allow.join(',')).list;
  }

  /** True when the address is on the allow list. */
  allowed(ip: string): boolean {
    return matchCidr(this.allow, ip);
  }

  /** The ban in force on `ip`, if any. */
  banned(ip: string, now = Date.now()): Ban | undefined {
    const b = this.bans.get(ip);
    if (b === undefined) return undefined;
    if (b.until > now) return b;
    this.bans.delete(ip);
    return undefined;
  }

  /** When the account's lock ends, if it is locked. */
  accountLocked(login: string, now = Date.now()): number | undefined {
    const k = login.toLowerCase();
    const until = this.locks.get(k);
    if (until === undefined) return undefined;
    if (until > now) return until;
    this.locks.delete(k);
    return undefined;
  }

  /** Scores one failed login of `login` from `ip`. */
  failed(ip: string, login: string, now = Date.now()): FailureVerdict {
    const s = this.settings;
    const out: FailureVerdict = {};
    if (s.accountAfter > 0 && login !== '') {
      const k = login.toLowerCase();
      if (this.score(this.accountFailures, k, s.accountAfter, now)) {
        this.accountFailures.delete(k);
        this.locks.set(k, now + s.seconds * 1000);
        bound(this.locks);
      }
      out.accountLockedUntil = this.accountLocked(k, now);
    }
    if (s.after <= 0 || this.allowed(ip)) return out;
    const current = this.banned(ip, now);
    if (current !== undefined) return { ...out, ban: current };
    if (this.score(this.failures, ip, s.after, now)) {
      this.failures.delete(ip);
      out.ban = this.add(ip, undefined, 'failures', now);
    }
    return out;
  }

  /**
   * Bans `ip` for `seconds` (undefined: the defender's growing length); undefined when the address
   * is on the allow list.
   */
  add(ip: string, seconds: number | undefined, reason: string, now = Date.now()): Ban | undefined {
    if (this.allowed(ip)) return undefined;
    const last = this.repeats.get(ip);
    const count = last !== undefined && now - last.at < REPEAT_MEMORY_MS ? last.count + 1 : 1;
    this.repeats.delete(ip);
    this.repeats.set(ip, { count, at: now });
    bound(this.repeats);
    const length = seconds !== undefined ? seconds * 1000 : banLengthMs(this.settings, count);
    const ban: Ban = { ip, until: now + length, reason, count };
    this.bans.delete(ip);
    this.bans.set(ip, ban);
    bound(this.bans);
    return ban;
  }

  /** Lifts the ban on `ip` (and forgets its score); false when it was not banned. */
  remove(ip: string, now = Date.now()): boolean {
    const had = this.banned(ip, now) !== undefined;
    this.bans.delete(ip);
    this.failures.delete(ip);
    return had;
  }

  /** The bans in force, the longest last. */
  list(now = Date.now()): Ban[] {
    for (const [ip, b] of this.bans) if (b.until <= now) this.bans.delete(ip);
    return [...this.bans.values()].sort((a, b) => a.until - b.until);
  }

  /** Adds a failure time for `key`; true when `limit` fall within the window. */
  private score(map: Map<string, number[]>, key: string, limit: number, now: number): boolean {
    const from = now - this.settings.windowSeconds * 1000;
    const times = (map.get(key) ?? []).filter((t) => t > from);
    times.push(now);
    if (times.length > limit) times.splice(0, times.length - limit);
    map.delete(key);
    map.set(key, times);
    bound(map);
    return times.length >= limit;
  }
}
