/**
 * The Redis StateStore against the machine's Redis (issue 15), two stores standing for two nodes:
 * caps hold across them, an account's rate is shared in proportion to each node's sessions, bans and
 * account locks are seen by both, and a node that stops its heartbeat stops counting after the TTL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { NODE_TTL_MS, RedisStateStore } from '../../src/cluster/redis-state.js';
import { defaultBanSettings } from '../../src/policy/defender.js';
import { ciSkip } from '../helpers/ci.js';

const URL = 'redis://127.0.0.1:6379/10';
const settings = { ...defaultBanSettings(), after: 3, seconds: 60, accountAfter: 2 };

async function reachable(): Promise<string | undefined> {
  const r = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return undefined;
  } catch (err) {
    return `Redis not reachable at ${URL} (${(err as Error).message})`;
  } finally {
    r.disconnect();
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('RedisStateStore (two nodes)', { skip: ciSkip(await reachable()) }, () => {
  let admin: Redis;
  const logs: string[] = [];
  const log = (level: string, message: string): void => void logs.push(`${level} ${message}`);
  let a: RedisStateStore;
  let b: RedisStateStore;

  before(async () => {
    admin = new Redis(URL);
    const stale = await admin.keys('tsftpd:*');
    if (stale.length > 0) await admin.del(...stale);
    a = await RedisStateStore.open(URL, `a-${process.pid}`, settings, log);
    b = await RedisStateStore.open(URL, `b-${process.pid}`, settings, log);
  });
  after(async () => {
    await a.close();
    await b.close();
    admin.disconnect();
  });

  it('caps hold across nodes; counts, shares, bans and locks are common', async () => {
    assert.equal(await a.acquire('user:joe', 2), true);
    assert.equal(await b.acquire('user:JOE', 2), true);
    assert.equal(await a.acquire('user:joe', 2), false);
    assert.equal(await b.count('user:joe'), 2);
    b.release('user:joe');
    await until('the release reaches Redis', async () => (await a.count('user:joe')) === 1, 2000);
    assert.equal(await a.acquire('user:joe', 2), true);

    // Two sessions on a, one on b: a may use 2/3 of the rate, b 1/3.
    let fa = 0;
    let fb = 0;
    a.joinShare('user:joe:down', (f) => (fa = f));
    a.joinShare('user:joe:down', (f) => (fa = f));
    b.joinShare('user:joe:down', (f) => (fb = f));
    await until('shares settle', () => Math.abs(fa - 2 / 3) < 1e-9 && Math.abs(fb - 1 / 3) < 1e-9, 5000);
    b.leaveShare('user:joe:down');
    await until('a has the whole rate again', () => fa === 1, 5000);
    a.leaveShare('user:joe:down');
    a.leaveShare('user:joe:down');

    for (let i = 0; i < 2; i++) assert.equal((await a.loginFailed('192.0.2.50', 'joe')).ban, undefined);
    const verdict = await b.loginFailed('192.0.2.50', 'joe');
    assert.equal(verdict.ban?.reason, 'failures');
    assert.ok(verdict.accountLockedUntil !== undefined, 'joe is locked after 2 failures');
    assert.equal((await a.banned('192.0.2.50'))?.count, 1);
    assert.ok((await b.accountLocked('JOE')) !== undefined);
    assert.deepEqual(
      (await a.bans()).map((x) => x.ip),
      ['192.0.2.50'],
    );
    assert.equal((await a.addBan('192.0.2.51', 30))?.reason, 'manual');
    assert.ok((await b.banned('192.0.2.51')) !== undefined);
    assert.equal(await b.removeBan('192.0.2.51'), true);
    assert.equal(await a.banned('192.0.2.51'), undefined);
  });

  it('a node that stops its heartbeat stops counting after the TTL', async () => {
    const c = await RedisStateStore.open(URL, `c-${process.pid}`, settings, log);
    assert.equal(await c.acquire('user:ann', 1), true);
    assert.equal(await a.acquire('user:ann', 1), false);
    // As if the process died: no heartbeat, no clean-up.
    (c as unknown as { timer: NodeJS.Timeout }).timer.close();
    (c as unknown as { redis: Redis }).redis.disconnect();
    const started = Date.now();
    await until('the dead node expires', () => a.acquire('user:ann', 1), NODE_TTL_MS + 4000);
    assert.ok(Date.now() - started <= NODE_TTL_MS + 3000);
    a.release('user:ann');
    await c.close();
  });
});
