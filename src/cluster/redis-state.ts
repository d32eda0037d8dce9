/**
 * The StateStore of several nodes (policy/state.ts, docs/cluster.md): session counts (-c, -C, -y and
 * per-account caps), bandwidth shares, the defender's scores and bans, and the session list live in
 * one Redis server that every node uses. Guarantees:
 * - counts are exact while Redis answers: each check-and-take is one Lua script (atomic in Redis);
 * - a node that dies stops its heartbeat; NODE_TTL_MS later its slots and shares no longer count
 *   (every script drops the fields of nodes whose heartbeat expired) and its sessions leave the list;
 * - Redis unreachable (or slower than COMMAND_TIMEOUT_MS): the node serves on with its own exact
 *   counts and its own defender (limits are then per node), logs it once, and when Redis is back
 *   writes its counts again (they were kept) before it counts on Redis again;
 * - times come from Redis (TIME), so the nodes' clocks need not agree.
 * Every key starts with `tsftpd:`; one Redis (or Sentinel-managed primary), not Redis Cluster.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Redis } from 'ioredis';
import { LocalBans, type StateStore } from '../policy/state.js';
import type { Ban, BanSettings, FailureVerdict } from '../policy/defender.js';
import type { WhoEntry } from '../telemetry/who.js';

/** How often a node says it is alive (and publishes its sessions and reads the shares). */
export const HEARTBEAT_MS = 2000;
/** A node silent this long is dead: its slots, shares and sessions stop counting. */
export const NODE_TTL_MS = 10_000;
/** A command that takes longer fails (the node then counts alone until Redis answers again). */
const COMMAND_TIMEOUT_MS = 1000;
/** Sessions a node publishes at most, and bans listed at most. */
const MAX_PUBLISHED = 5000;
const MAX_BANS_LISTED = 10_000;
const P = 'tsftpd:';

/** Redis's clock in ms, in scripts. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Drops fields of dead nodes from hash KEYS[2]; sums the rest. KEYS[1] nodes zset; ARGV[1] node. */
const LIVE_SUM = `
${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local h = redis.call('HGETALL', KEYS[2])
local total = 0
local mine = 0
for i = 1, #h, 2 do
  if h[i] == ARGV[1] or redis.call('ZSCORE', KEYS[1], h[i]) then
    total = total + tonumber(h[i + 1])
    if h[i] == ARGV[1] then mine = tonumber(h[i + 1]) end
  else
    redis.call('HDEL', KEYS[2], h[i])
  end
end`;

/** acquire: KEYS nodes, slots:key, nodekeys:node; ARGV node, max (negative: only count). */
const ACQUIRE = `${LIVE_SUM}
local max = tonumber(ARGV[2])
if max < 0 then return total end
if total >= max then return -1 end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('SADD', KEYS[3], KEYS[2])
return total + 1`;

/** Share of a rate: KEYS nodes, share:key; ARGV node → {mine, total}. */
const SHARE = `${LIVE_SUM}
return {mine, total}`;

/** Decrement: KEYS hash; ARGV node. */
const DECREMENT = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n`;

/** Heartbeat: KEYS nodes, who:node; ARGV node, ttl, sessions JSON. */
const HEARTBEAT = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
return now`;

/**
 * A failure (or a ban by hand, ARGV[1] = 0): KEYS fail:ip, ban:ip, banrep:ip; ARGV after, window ms,
 * base ms, max ms, unique member, ip, reason, fixed ms (0: growing) → {ban JSON or '', now}.
 */
const FAIL = `${NOW}
local b = redis.call('GET', KEYS[2])
if b and ARGV[7] ~= 'manual' then return {b, now} end
if ARGV[7] ~= 'manual' then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then return {'', now} end
end
redis.call('DEL', KEYS[1])
local c = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], 86400000)
local len = tonumber(ARGV[8])
if len <= 0 then
  len = math.min(tonumber(ARGV[3]) * math.pow(2, math.min(c - 1, 30)), math.max(tonumber(ARGV[4]), tonumber(ARGV[3])))
end
local ban = cjson.encode({ip = ARGV[6], ['until'] = now + len, reason = ARGV[7], count = c})
redis.call('SET', KEYS[2], ban, 'PX', math.floor(len))
return {ban, now}`;

/** Account failure: KEYS afail:login, lock:login; ARGV after, window ms, lock ms, member → lock ttl ms or -1. */
const ACCOUNT_FAIL = `${NOW}
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then return ttl end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then return -1 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return tonumber(ARGV[3])`;

/**
 * A StateStore key as it appears in Redis: lower case (logins compare so), the internal
 * connection-count keys (`\0clients`, `\0ip:...`) as `#clients`, `#ip:...`.
 */
function readable(key: string): string {
  return key.toLowerCase().replace(/\0/g, '#');
}

/** How the store reports what happens to it. */
export type StateLog = (level: 'NOTICE' | 'WARNING' | 'ERROR', message: string) => void;

/** One rate shared by this node's sessions. */
interface ShareEntry {
  sessions: number;
  listeners: ((fraction: number) => void)[];
  fraction: number;
}

/** The shared StateStore; see the module comment. */
export class RedisStateStore extends LocalBans implements StateStore {
  readonly shared = true;
  private readonly redis: Redis;
  /** Redis answers and this node's counts are written there. */
  private up = false;
  /** This node's slots per key: the truth it writes back after an outage. */
  private readonly held = new Map<string, number>();
  /** Keys whose field in Redis may be wrong (changed while Redis was away). */
  private readonly dirty = new Set<string>();
  private readonly shares = new Map<string, ShareEntry>();
  private timer?: NodeJS.Timeout;
  private sessions: () => Promise<WhoEntry[]> = () => Promise.resolve([]);
  private closed = false;
  /** Set once Redis was first found down or up (the first warning is always logged). */
  private syncing?: Promise<void>;
  /** The fields of this node's previous life (same name) were removed. */
  private cleaned = false;
  /** The next write-back attempt while the connection stays open. */
  private retry?: NodeJS.Timeout;
  /** The write-back in progress. */
  private resyncing?: Promise<void>;
  private clockOffset = 0;

  private constructor(
    readonly url: string,
    readonly node: string,
    private settings: BanSettings,
    private readonly log: StateLog,
  ) {
    super(settings);
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 2000,
      // Reconnect forever, at most every 2 s: the node serves alone meanwhile.
      retryStrategy: (times) => Math.min(times * 200, 2000),
      connectionName: `tsftpd:${node}`,
    });
    this.redis.on('error', () => undefined); // reported through 'close' and the failing calls
    this.redis.on('close', () => this.down('the connection closed'));
    this.redis.on('ready', () => void this.resync());
  }

  /**
   * Connects (at most a few seconds) and starts the heartbeat. A Redis that does not answer yet is
   * no error: the node starts with its own limits and joins when Redis answers.
   */
  static async open(
    url: string,
    node: string,
    settings: BanSettings,
    log: StateLog,
  ): Promise<RedisStateStore> {
    const store = new RedisStateStore(url, node, settings, log);
    try {
      await store.redis.connect();
      // Counting on Redis from the first connection on.
      await store.resync();
    } catch (err) {
      store.down((err as Error).message);
    }
    store.timer = setInterval(() => void store.heartbeat(), HEARTBEAT_MS);
    store.timer.unref();
    return store;
  }

  /** The default node name: the host name and the process id. */
  static defaultNodeName(): string {
    return `${os
      .hostname()
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 48)}-${process.pid}`;
  }

  /** Where the node's session list comes from (published with each heartbeat). */
  publishSessions(source: () => Promise<WhoEntry[]>): void {
    this.sessions = source;
  }

  /** SIGHUP: the defender's new settings. */
  configureBans(settings: BanSettings): void {
    this.settings = settings;
    this.defender.configure(settings);
  }

  /** True while Redis answers (false: limits are this node's own). */
  get connected(): boolean {
    return this.up;
  }

  private down(why: string): void {
    if (this.closed) return;
    if (this.up || this.syncing === undefined) {
      this.log(
        'WARNING',
        `shared state: Redis at ${this.redactedUrl} is unreachable (${why}); serving with this node's own limits and bans until it returns`,
      );
    }
    this.up = false;
    this.syncing = Promise.resolve();
    for (const key of this.held.keys()) this.dirty.add(key);
    for (const key of this.shares.keys()) this.dirty.add(`share\0${key}`);
    // A connection still open (a slow answer, a failed write-back) brings no new 'ready': try again.
    if (this.retry === undefined && this.redis.status === 'ready') {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        void this.resync();
      }, HEARTBEAT_MS);
      this.retry.unref();
    }
  }

  private get redactedUrl(): string {
    try {
      const u = new URL(this.url);
      if (u.password !== '') u.password = '***';
      return u.toString();
    } catch {
      return 'redis';
    }
  }

  /** Redis (back): this node's truth is written again, then Redis counts again (one at a time). */
  private resync(): Promise<void> {
    this.resyncing ??= this.writeBack().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private async writeBack(): Promise<void> {
    if (this.closed) return;
    const first = this.syncing === undefined;
    try {
      // A node that restarts under the same name forgets what its previous life held.
      if (!this.cleaned) {
        const keys = await this.redis.smembers(`${P}nodekeys:${this.node}`);
        const m = this.redis.multi();
        for (const k of keys.slice(0, 100_000)) m.hdel(k, this.node);
        m.del(`${P}nodekeys:${this.node}`);
        await m.exec();
        this.cleaned = true;
      }
      await this.heartbeat(true);
      // Counts that change while they are written (this node still counts alone until `up`) are
      // written in the next round; the last round and `up = true` happen with no await between.
      for (let round = 0; round < 5 && this.dirty.size > 0; round++) {
        const keys = [...this.dirty];
        this.dirty.clear();
        const m = this.redis.multi();
        for (const key of keys) {
          if (key.startsWith('share\0')) {
            const k = key.slice(6);
            const n = this.shares.get(k)?.sessions ?? 0;
            if (n > 0) m.hset(`${P}share:${k}`, this.node, n);
            else m.hdel(`${P}share:${k}`, this.node);
          } else {
            const n = this.held.get(key) ?? 0;
            if (n > 0)
              m.hset(`${P}slots:${key}`, this.node, n).sadd(`${P}nodekeys:${this.node}`, `${P}slots:${key}`);
            else m.hdel(`${P}slots:${key}`, this.node);
          }
        }
        try {
          await m.exec();
        } catch (err) {
          for (const k of keys) this.dirty.add(k);
          throw err;
        }
      }
      if (this.dirty.size > 0) throw new Error('the counts kept changing while they were written');
      this.up = true;
      this.syncing = Promise.resolve();
      if (!first)
        this.log('NOTICE', `shared state: Redis at ${this.redactedUrl} answers again; counts written back`);
    } catch (err) {
      this.down((err as Error).message);
    }
  }

  /** Says this node is alive, publishes its sessions, and refreshes the shares of its rates. */
  private async heartbeat(force = false): Promise<void> {
    if (this.closed || (!this.up && !force)) return;
    try {
      const list = (await this.sessions()).slice(0, MAX_PUBLISHED).map((e) => ({ ...e, node: this.node }));
      const now = (await this.redis.eval(
        HEARTBEAT,
        2,
        `${P}nodes`,
        `${P}who:${this.node}`,
        this.node,
        NODE_TTL_MS,
        JSON.stringify(list),
      )) as number;
      this.clockOffset = now - Date.now();
      for (const key of this.shares.keys()) await this.refreshShare(key);
    } catch (err) {
      if (!force) this.down((err as Error).message);
      else throw err;
    }
  }

  async acquire(key: string, max: number): Promise<boolean> {
    const k = readable(key);
    const mine = this.held.get(k) ?? 0;
    let ok: boolean;
    if (this.up) {
      try {
        const n = (await this.redis.eval(
          ACQUIRE,
          3,
          `${P}nodes`,
          `${P}slots:${k}`,
          `${P}nodekeys:${this.node}`,
          this.node,
          max,
        )) as number;
        ok = n > 0;
        if (ok) this.held.set(k, (this.held.get(k) ?? 0) + 1);
        return ok;
      } catch (err) {
        this.down((err as Error).message);
      }
    }
    // Alone: this node's own count.
    ok = mine < max;
    if (ok) {
      this.held.set(k, mine + 1);
      this.dirty.add(k);
    }
    return ok;
  }

  release(key: string): void {
    const k = readable(key);
    const n = (this.held.get(k) ?? 0) - 1;
    if (n < 0) return;
    if (n === 0) this.held.delete(k);
    else this.held.set(k, n);
    if (!this.up) {
      this.dirty.add(k);
      return;
    }
    this.redis.eval(DECREMENT, 1, `${P}slots:${k}`, this.node).catch(() => this.dirty.add(k));
  }

  async count(key: string): Promise<number> {
    const k = readable(key);
    if (this.up) {
      try {
        return (await this.redis.eval(
          ACQUIRE,
          3,
          `${P}nodes`,
          `${P}slots:${k}`,
          `${P}nodekeys:${this.node}`,
          this.node,
          -1,
        )) as number;
      } catch (err) {
        this.down((err as Error).message);
      }
    }
    return this.held.get(k) ?? 0;
  }

  joinShare(key: string, onShare: (fraction: number) => void): void {
    const e = this.shares.get(key) ?? { sessions: 0, listeners: [], fraction: 1 };
    e.sessions++;
    e.listeners.push(onShare);
    this.shares.set(key, e);
    onShare(e.fraction);
    if (!this.up) {
      this.dirty.add(`share\0${key}`);
      return;
    }
    this.redis
      .hincrby(`${P}share:${key}`, this.node, 1)
      .then(() => this.refreshShare(key))
      .catch(() => this.dirty.add(`share\0${key}`));
  }

  leaveShare(key: string): void {
    const e = this.shares.get(key);
    if (e === undefined) return;
    e.sessions--;
    e.listeners.shift();
    if (e.sessions <= 0) this.shares.delete(key);
    if (!this.up) {
      this.dirty.add(`share\0${key}`);
      return;
    }
    this.redis
      .eval(DECREMENT, 1, `${P}share:${key}`, this.node)
      .then(() => this.refreshShare(key))
      .catch(() => this.dirty.add(`share\0${key}`));
  }

  /** This node's sessions over every live node's, for one rate. */
  private async refreshShare(key: string): Promise<void> {
    const e = this.shares.get(key);
    if (e === undefined) return;
    const [mine, total] = (await this.redis.eval(SHARE, 2, `${P}nodes`, `${P}share:${key}`, this.node)) as [
      number,
      number,
    ];
    const fraction = total > 0 && mine > 0 ? Math.min(1, mine / total) : 1;
    if (fraction === e.fraction) return;
    e.fraction = fraction;
    for (const fn of e.listeners) fn(fraction);
  }

  override async loginFailed(ip: string, login: string): Promise<FailureVerdict> {
    if (!this.up) return super.loginFailed(ip, login);
    const s = this.settings;
    const out: FailureVerdict = {};
    try {
      const member = randomBytes(6).toString('hex');
      if (s.accountAfter > 0 && login !== '') {
        const k = login.toLowerCase();
        const ttl = (await this.redis.eval(
          ACCOUNT_FAIL,
          2,
          `${P}afail:${k}`,
          `${P}lock:${k}`,
          s.accountAfter,
          s.windowSeconds * 1000,
          s.seconds * 1000,
          member,
        )) as number;
        if (ttl > 0) out.accountLockedUntil = Date.now() + ttl;
      }
      if (s.after <= 0 || this.defender.allowed(ip)) return out;
      const ban = await this.ban(ip, 'failures', 0, member);
      if (ban !== undefined) out.ban = ban;
      return out;
    } catch (err) {
      this.down((err as Error).message);
      return super.loginFailed(ip, login);
    }
  }

  /** Runs the FAIL script; the ban in node time, if there is one. */
  private async ban(ip: string, reason: string, fixedMs: number, member: string): Promise<Ban | undefined> {
    const s = this.settings;
    const [json, now] = (await this.redis.eval(
      FAIL,
      3,
      `${P}fail:${ip}`,
      `${P}ban:${ip}`,
      `${P}banrep:${ip}`,
      s.after,
      s.windowSeconds * 1000,
      s.seconds * 1000,
      s.maxSeconds * 1000,
      member,
      ip,
      reason,
      fixedMs,
    )) as [string, number];
    this.clockOffset = now - Date.now();
    return json === '' ? undefined : this.fromRedis(json);
  }

  /** A ban as Redis stores it, in this node's clock. */
  private fromRedis(json: string): Ban | undefined {
    try {
      const b = JSON.parse(json) as Ban;
      return {
        ip: String(b.ip),
        until: Number(b.until) - this.clockOffset,
        reason: String(b.reason),
        count: Number(b.count),
      };
    } catch {
      return undefined;
    }
  }

  override async banned(ip: string): Promise<Ban | undefined> {
    const local = this.defender.banned(ip);
    if (local !== undefined || !this.up) return local;
    try {
      const json = await this.redis.get(`${P}ban:${ip}`);
      return json === null ? undefined : this.fromRedis(json);
    } catch (err) {
      this.down((err as Error).message);
      return undefined;
    }
  }

  override async accountLocked(login: string): Promise<number | undefined> {
    const local = this.defender.accountLocked(login);
    if (local !== undefined || !this.up) return local;
    try {
      const ttl = await this.redis.pttl(`${P}lock:${login.toLowerCase()}`);
      return ttl > 0 ? Date.now() + ttl : undefined;
    } catch (err) {
      this.down((err as Error).message);
      return undefined;
    }
  }

  override async bans(): Promise<Ban[]> {
    const all = new Map((await super.bans()).map((b) => [b.ip, b]));
    if (this.up) {
      try {
        let cursor = '0';
        const keys: string[] = [];
        for (let i = 0; i < 1000 && keys.length < MAX_BANS_LISTED; i++) {
          const [next, found] = await this.redis.scan(cursor, 'MATCH', `${P}ban:*`, 'COUNT', 1000);
          keys.push(...found);
          cursor = next;
          if (cursor === '0') break;
        }
        const values = keys.length === 0 ? [] : await this.redis.mget(keys);
        for (const v of values) {
          const b = v === null ? undefined : this.fromRedis(v);
          if (b !== undefined) all.set(b.ip, b);
        }
      } catch (err) {
        this.down((err as Error).message);
      }
    }
    return [...all.values()].sort((a, b) => a.until - b.until);
  }

  override async addBan(ip: string, seconds: number | undefined): Promise<Ban | undefined> {
    if (this.defender.allowed(ip)) return undefined;
    if (this.up) {
      try {
        return await this.ban(ip, 'manual', (seconds ?? 0) * 1000, randomBytes(6).toString('hex'));
      } catch (err) {
        this.down((err as Error).message);
      }
    }
    return super.addBan(ip, seconds);
  }

  override async removeBan(ip: string): Promise<boolean> {
    let had = await super.removeBan(ip);
    if (this.up) {
      try {
        had = (await this.redis.del(`${P}ban:${ip}`, `${P}fail:${ip}`)) > 0 || had;
      } catch (err) {
        this.down((err as Error).message);
      }
    }
    return had;
  }

  /** The sessions of the other live nodes (each entry with its `node`). */
  async otherSessions(): Promise<WhoEntry[]> {
    if (!this.up) return [];
    try {
      const now = Date.now() + this.clockOffset;
      const nodes = (await this.redis.zrangebyscore(`${P}nodes`, now, '+inf')).filter((n) => n !== this.node);
      if (nodes.length === 0) return [];
      const lists = await this.redis.mget(nodes.map((n) => `${P}who:${n}`));
      return lists.flatMap((l) => {
        if (l === null) return [];
        try {
          const parsed = JSON.parse(l) as unknown;
          return Array.isArray(parsed) ? (parsed as WhoEntry[]) : [];
        } catch {
          return [];
        }
      });
    } catch (err) {
      this.down((err as Error).message);
      return [];
    }
  }

  /** Leaves the cluster: this node's slots, shares and sessions are removed at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    if (this.up) {
      try {
        const m = this.redis.multi();
        for (const k of this.held.keys()) m.hdel(`${P}slots:${k}`, this.node);
        for (const k of this.shares.keys()) m.hdel(`${P}share:${k}`, this.node);
        m.zrem(`${P}nodes`, this.node).del(`${P}who:${this.node}`);
        await m.exec();
      } catch {
        // the TTL cleans up
      }
    }
    this.closed = true;
    this.up = false;
    this.redis.disconnect();
  }
}
