/**
 * The pure parts of the per-account rules (upstream §4.2, §5.1, §5.2): login rules (address lists with
 * IPv4 and IPv6 networks, time windows wrapping past midnight, expiry), the bandwidth limiter's
 * schedule, quota status lines, room checks and the `.ftpquota` file, ratios, the precedence of
 * account values over switches, and the bracketed IPv6 form of passwd IP fields.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkLoginRules, inTimeWindow } from '../../src/policy/login-rules.js';
import { RateLimiter, RateLimiters, throttle } from '../../src/data/throttle.js';
import { byteBudget, checkRoom, QuotaFile, quotaStatusLines } from '../../src/policy/quota.js';
import { ConfinedRoot } from '../../src/storage/confined.js';
import { checkRatio } from '../../src/policy/ratio.js';
import { effectiveLimits } from '../../src/policy/limits.js';
import { parseCidr, parseCidrList } from '../../src/auth/cidr.js';
import {
  formatPasswdLine,
  parsePasswdLine,
  recordToAccount,
  splitPasswdFields,
} from '../../src/auth/passwd-line.js';
import type { Account, Cidr } from '../../src/auth/types.js';
import { FtpError } from '../../src/errors.js';
import { validConfig } from '../helpers/config.js';

function account(over: Partial<Account> = {}): Account {
  return {
    login: 'joe',
    uid: 1000,
    gid: 1000,
    home: '/srv/joe',
    chroot: true,
    anonymous: false,
    backend: 'test',
    ...over,
  };
}

function cidrs(text: string): Cidr[] {
  const { list, invalid } = parseCidrList(text);
  assert.deepEqual(invalid, []);
  return list;
}

/** A local Date at hh:mm today. */
function at(hh: number, mm: number): Date {
  const d = new Date();
  d.setHours(hh, mm, 30, 0);
  return d;
}

const origin = { remoteIp: '127.0.0.1', localIp: '127.0.0.1', now: at(12, 0) };

describe('checkLoginRules: address lists (upstream §4.2)', () => {
  it('allow only, deny only, both; the refusal names the rule', () => {
    assert.equal(checkLoginRules(account(), origin), undefined);
    assert.equal(checkLoginRules(account({ allowClient: cidrs('127.0.0.0/8') }), origin), undefined);
    assert.deepEqual(checkLoginRules(account({ allowClient: cidrs('10.0.0.0/8,192.168.1.1') }), origin), {
      rule: 'client address 127.0.0.1 is not in the allowed list',
    });
    assert.deepEqual(checkLoginRules(account({ denyClient: cidrs('127.0.0.0/8') }), origin), {
      rule: 'client address 127.0.0.1 is in the denied list',
    });
    assert.equal(checkLoginRules(account({ denyClient: cidrs('127.0.0.2/32') }), origin), undefined);
    const both = account({ allowClient: cidrs('127.0.0.0/8'), denyClient: cidrs('127.0.0.1') });
    assert.deepEqual(checkLoginRules(both, origin), {
      rule: 'client address 127.0.0.1 is in the denied list',
    });
    assert.equal(checkLoginRules(both, { ...origin, remoteIp: '127.0.0.9' }), undefined);
    // An empty list is no restriction.
    assert.equal(checkLoginRules(account({ allowClient: [], denyClient: [] }), origin), undefined);
  });

  it('local lists are matched against the server address', () => {
    const a = account({ allowLocal: cidrs('10.0.0.1'), denyLocal: cidrs('192.0.2.0/24') });
    assert.deepEqual(checkLoginRules(a, origin), {
      rule: 'local address 127.0.0.1 is not in the allowed list',
    });
    assert.equal(checkLoginRules(a, { ...origin, localIp: '10.0.0.1' }), undefined);
    const d = account({ denyLocal: cidrs('192.0.2.0/24') });
    assert.deepEqual(checkLoginRules(d, { ...origin, localIp: '192.0.2.77' }), {
      rule: 'local address 192.0.2.77 is in the denied list',
    });
    // Client rules come first.
    const c = account({ denyClient: cidrs('127.0.0.1'), denyLocal: cidrs('127.0.0.1') });
    assert.match(checkLoginRules(c, origin)!.rule, /^client address/);
  });

  it('IPv6 clients match IPv6 networks (Pure-FTPd never matches them); mapped IPv4 is IPv4', () => {
    const v6 = { ...origin, remoteIp: '2001:db8::5' };
    assert.equal(checkLoginRules(account({ allowClient: cidrs('[2001:db8::]/32') }), v6), undefined);
    assert.equal(checkLoginRules(account({ allowClient: cidrs('2001:db8::/32') }), v6), undefined);
    assert.deepEqual(checkLoginRules(account({ allowClient: cidrs('[2001:db9::]/32') }), v6), {
      rule: 'client address 2001:db8::5 is not in the allowed list',
    });
    assert.deepEqual(checkLoginRules(account({ denyClient: cidrs('[::/0]') }), v6), {
      rule: 'client address 2001:db8::5 is in the denied list',
    });
    // An IPv4 list says nothing about an IPv6 client: an allow list keeps it out, a deny list lets it in.
    assert.ok(
      checkLoginRules(account({ allowClient: cidrs('127.0.0.0/8') }), { ...origin, remoteIp: '::1' }),
    );
    assert.equal(
      checkLoginRules(account({ denyClient: cidrs('127.0.0.0/8') }), { ...origin, remoteIp: '::1' }),
      undefined,
    );
    assert.ok(checkLoginRules(account({ denyClient: cidrs('[::1]') }), { ...origin, remoteIp: '::1' }));
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    const mapped = { ...origin, remoteIp: '::ffff:127.0.0.1' };
    assert.ok(checkLoginRules(account({ denyClient: cidrs('127.0.0.0/8') }), mapped));
    assert.equal(checkLoginRules(account({ allowClient: cidrs('127.0.0.1') }), mapped), undefined);
    // Bits beyond a byte boundary.
    const odd = account({ allowClient: cidrs('[2001:db8:80::]/41') });
    assert.equal(checkLoginRules(odd, { ...origin, remoteIp: '2001:db8:ff::1' }), undefined);
    assert.ok(checkLoginRules(odd, { ...origin, remoteIp: '2001:db8:7f::1' }));
  });
});

describe('time windows (upstream §4.2: local time, both ends inclusive, wrapping)', () => {
  it('inTimeWindow', () => {
    const day = { from: 9 * 60, to: 18 * 60 };
    assert.equal(inTimeWindow(day, 9 * 60), true);
    assert.equal(inTimeWindow(day, 18 * 60), true);
    assert.equal(inTimeWindow(day, 8 * 60 + 59), false);
    assert.equal(inTimeWindow(day, 18 * 60 + 1), false);
    const night = { from: 22 * 60, to: 2 * 60 };
    for (const m of [22 * 60, 23 * 60 + 59, 0, 60, 2 * 60])
      assert.equal(inTimeWindow(night, m), true, String(m));
    for (const m of [2 * 60 + 1, 12 * 60, 21 * 60 + 59])
      assert.equal(inTimeWindow(night, m), false, String(m));
    assert.equal(inTimeWindow({ from: 600, to: 600 }, 600), true);
    assert.equal(inTimeWindow({ from: 600, to: 600 }, 601), false);
  });

  it('checkLoginRules with a window, wrapping past midnight', () => {
    const night = account({ timeWindow: { from: 22 * 60, to: 2 * 60 } });
    assert.equal(checkLoginRules(night, { ...origin, now: at(23, 30) }), undefined);
    assert.equal(checkLoginRules(night, { ...origin, now: at(1, 59) }), undefined);
    assert.equal(checkLoginRules(night, { ...origin, now: at(2, 0) }), undefined);
    assert.deepEqual(checkLoginRules(night, { ...origin, now: at(2, 1) }), {
      rule: 'outside the allowed time window 2200-0200',
    });
    const day = account({ timeWindow: { from: 9 * 60, to: 18 * 60 } });
    assert.deepEqual(checkLoginRules(day, { ...origin, now: at(8, 59) }), {
      rule: 'outside the allowed time window 0900-1800',
    });
  });

  it('a passwd window without leading zeros (pure-pw writes 900-1800) becomes minutes', () => {
    const hash = '$6$salt$hash';
    const line = `joe:${hash}:1000:1000::/srv/joe/./::::::::::::900-1800`;
    const r = recordToAccount(parsePasswdLine(line)!, 'test');
    assert.ok('account' in r);
    assert.deepEqual(r.account.timeWindow, { from: 540, to: 1080 });
  });
});

describe('account expiry (Account.expires; spec: backends such as unix shadow)', () => {
  it('refuses from the expiry instant on, naming the date', () => {
    const expires = new Date('2024-05-01T00:00:00Z');
    const a = account({ expires });
    assert.equal(checkLoginRules(a, { ...origin, now: new Date('2024-04-30T23:59:59Z') }), undefined);
    assert.deepEqual(checkLoginRules(a, { ...origin, now: expires }), {
      rule: 'account expired on 2024-05-01T00:00:00.000Z',
    });
    assert.ok(checkLoginRules(a, { ...origin, now: new Date('2030-01-01T00:00:00Z') }));
  });
});

describe('RateLimiter (GCRA shared per account and direction)', () => {
  it('schedules slices at the rate, ahead by at most the 0.1 s burst', () => {
    const rate = 204800;
    const limiter = new RateLimiter(rate);
    assert.equal(limiter.slice, 25600, 'slices of 1/8 s');
    // Reserving 40 slices at once: slice k may go at k/8 s minus the burst.
    const waits = Array.from({ length: 40 }, () => limiter.reserve(limiter.slice, 1000));
    assert.equal(waits[0], 0);
    assert.equal(waits[1], 25);
    waits.forEach((w, k) => assert.ok(Math.abs(w - Math.max(0, k * 125 - 100)) < 1e-6, `slice ${k}: ${w}`));
    // 5 s worth of data ends 5 s after the start (the last slice's own 1/8 s included).
    assert.ok(Math.abs(waits[39] + 125 + 100 - 5000) < 1e-6);
  });

  it('does not save up unused time beyond the burst', () => {
    const limiter = new RateLimiter(1000);
    assert.equal(limiter.reserve(100, 0), 0); // tat = 100 ms
    // Idle for 10 s: the next reservation starts from now, not from the old schedule.
    assert.equal(limiter.reserve(1000, 10_000), 0);
    assert.equal(limiter.reserve(1000, 10_000), 900); // 1 s later, minus the 0.1 s burst
  });

  it('back-to-back reservations keep the long-run rate exact', () => {
    const limiter = new RateLimiter(100_000);
    let t = 0;
    let sent = 0;
    // Each slice is sent when its wait is over; the clock only moves by the waits.
    for (let i = 0; i < 100; i++) {
      t += limiter.reserve(10_000, t);
      sent += 10_000;
    }
    assert.ok(Math.abs(sent / ((t + 100 + 100) / 1000) - 100_000) < 1, `${sent} bytes in ${t} ms`);
  });

  it('slices are clamped to [1 KiB, 256 KiB]', () => {
    assert.equal(new RateLimiter(100).slice, 1024);
    assert.equal(new RateLimiter(100 * 1024 * 1024).slice, 256 * 1024);
  });

  it('RateLimiters: one limiter per key while in use, reference counted', () => {
    const pool = new RateLimiters();
    const a = pool.acquire('user:joe:down', 1000);
    const b = pool.acquire('user:joe:down', 1000);
    assert.equal(a, b);
    assert.notEqual(pool.acquire('user:joe:up', 1000), a);
    pool.release('user:joe:down');
    assert.equal(pool.acquire('user:joe:down', 1000), a, 'still held by one session');
    pool.release('user:joe:down');
    pool.release('user:joe:down');
    assert.notEqual(pool.acquire('user:joe:down', 1000), a, 'a fresh limiter once nobody holds it');
  });

  it('the throttle stream delivers every byte at the rate', async () => {
    const data = Buffer.alloc(100 * 1024, 7);
    const chunks: Buffer[] = [];
    const started = performance.now();
    await pipeline(
      Readable.from([data.subarray(0, 60_000), data.subarray(60_000)]),
      throttle(new RateLimiter(200 * 1024)),
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    const ms = performance.now() - started;
    assert.deepEqual(Buffer.concat(chunks), data);
    // Four 25 KiB slices, the last one scheduled 0.375 s - 0.1 s burst after the first.
    assert.ok(ms >= 260 && ms < 600, `took ${ms.toFixed(0)} ms`);
  });
});

/** Texts as English strings (they are translatable Msg values). */
const strings = (texts: readonly unknown[]): string[] => texts.map(String);

describe('quota bookkeeping (upstream §5.1)', () => {
  it('status lines: floor percentages, Kbytes, only the limits that are set', () => {
    assert.deepEqual(
      strings(quotaStatusLines({ files: 3, bytes: 200 }, { files: 1000, bytes: 10 * 1024 * 1024 })),
      ['3 files used (0%) - authorized: 1000 files', '0 Kbytes used (0%) - authorized: 10240 Kb'],
    );
    assert.deepEqual(strings(quotaStatusLines({ files: 2, bytes: 3000 }, { files: 3, bytes: 10_000 })), [
      '2 files used (66%) - authorized: 3 files',
      '2 Kbytes used (30%) - authorized: 9 Kb',
    ]);
    assert.deepEqual(strings(quotaStatusLines({ files: 5, bytes: 0 }, { files: 10 })), [
      '5 files used (50%) - authorized: 10 files',
    ]);
    assert.deepEqual(strings(quotaStatusLines({ files: 5, bytes: 2048 }, { bytes: 1024 * 1024 })), [
      '2 Kbytes used (0%) - authorized: 1024 Kb',
    ]);
    assert.deepEqual(strings(quotaStatusLines({ files: 0, bytes: 0 }, {})), []);
  });

  it('checkRoom: files >= max or bytes > max is 552', () => {
    const refused = (fn: () => void): void =>
      assert.throws(
        fn,
        (e: unknown) =>
          e instanceof FtpError && e.reply === 552 && String(e.text) === "Quota exceeded: [f] won't be saved",
      );
    refused(() => checkRoom({ files: 3, bytes: 0 }, { files: 3 }, 'f'));
    refused(() => checkRoom({ files: 0, bytes: 101 }, { bytes: 100 }, 'f'));
    checkRoom({ files: 2, bytes: 100 }, { files: 3, bytes: 100 }, 'f');
  });

  it('byteBudget passes up to the budget and fails past it', async () => {
    const sink = (): Writable => new Writable({ write: (_c, _e, done) => done() });
    await pipeline(Readable.from([Buffer.alloc(60), Buffer.alloc(40)]), byteBudget(100), sink());
    await assert.rejects(
      pipeline(Readable.from([Buffer.alloc(60), Buffer.alloc(41)]), byteBudget(100), sink()),
      (e: unknown) =>
        e instanceof FtpError && e.reply === 552 && String(e.text) === 'Transfer aborted (quota)',
    );
  });

  it('QuotaFile: missing = 0 0, serialised updates, 0600, reserve refuses what does not fit', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-quota-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const q = new QuotaFile(dir, () => ConfinedRoot.open(dir, { confine: true }));
    assert.deepEqual(await q.read(), { files: 0, bytes: 0 });
    await Promise.all(Array.from({ length: 50 }, () => q.update(1, 10)));
    assert.equal(await readFile(path.join(dir, '.ftpquota'), 'utf8'), '50 500\n');
    assert.equal((await stat(path.join(dir, '.ftpquota'))).mode & 0o777, 0o600);
    assert.deepEqual(await q.update(-60, -1000), { files: 0, bytes: 0 }, 'never below zero');
    assert.deepEqual(await q.reserve(1, 90, { files: 2, bytes: 100 }), { files: 1, bytes: 90 });
    assert.equal(await q.reserve(1, 11, { files: 2, bytes: 100 }), undefined);
    assert.equal(await q.reserve(2, 0, { files: 2, bytes: 100 }), undefined);
    // Shrinking is always allowed, even over the limit (a lowered quota).
    assert.deepEqual(await q.reserve(0, -50, { bytes: 10 }), { files: 1, bytes: 40 });
    assert.equal(await readFile(path.join(dir, '.ftpquota'), 'utf8'), '1 40\n');
    // Concurrent reservations: exactly the ones that fit win.
    const results = await Promise.all(Array.from({ length: 10 }, () => q.reserve(1, 10, { bytes: 100 })));
    assert.equal(results.filter((r) => r !== undefined).length, 6);
    await writeFile(path.join(dir, '.ftpquota'), 'garbage');
    assert.deepEqual(await q.read(), { files: 0, bytes: 0 });
    assert.deepEqual(await readdir(dir), ['.ftpquota'], 'no temp file left behind');
  });
});

describe('ratios (upstream §5.2)', () => {
  it('(downloaded + size) / down <= uploaded / up, else the 550 three lines', () => {
    checkRatio({ up: 1, down: 2 }, 5 * 1024, 0, 10 * 1024);
    checkRatio({ up: 1, down: 1 }, 0, 0, 0);
    assert.throws(
      () => checkRatio({ up: 1, down: 2 }, 4 * 1024 + 1000, 3000, 8 * 1024),
      (e: unknown) =>
        e instanceof FtpError &&
        e.reply === 550 &&
        String(e.text) === 'Please upload some goodies and try leeching later.' &&
        String(e.preamble[0]) === 'Sorry, but the upload/download ratio is 1:2 .' &&
        String(e.preamble[1]) === 'You currently uploaded 4 Kb and downloaded 2 Kb.',
    );
  });
});

describe('effectiveLimits: account values win over switches', () => {
  it('quota per field; none for root and anonymous', async () => {
    const c = await validConfig('-n', '3:1');
    assert.deepEqual(effectiveLimits(account(), c).quota, { files: 3, bytes: 1024 * 1024 });
    assert.deepEqual(effectiveLimits(account({ quota: { files: 10 } }), c).quota, {
      files: 10,
      bytes: 1024 * 1024,
    });
    assert.deepEqual(effectiveLimits(account({ quota: { bytes: 5 } }), c).quota, { files: 3, bytes: 5 });
    assert.equal(effectiveLimits(account({ uid: 0 }), c).quota, undefined);
    assert.equal(effectiveLimits(account({ anonymous: true, quota: { files: 1 } }), c).quota, undefined);
    assert.deepEqual(effectiveLimits(account({ quota: { files: 7 } }), await validConfig()).quota, {
      files: 7,
      bytes: undefined,
    });
    assert.equal(effectiveLimits(account(), await validConfig()).quota, undefined);
  });

  it('ratio: account, else -q for anonymous and -Q for users (root exempt)', async () => {
    const c = await validConfig('-q', '1:5', '-Q', '1:2');
    assert.deepEqual(effectiveLimits(account(), c).ratio, { up: 1, down: 2 });
    assert.deepEqual(effectiveLimits(account({ anonymous: true }), c).ratio, { up: 1, down: 5 });
    assert.deepEqual(effectiveLimits(account({ ratio: { up: 3, down: 4 } }), c).ratio, { up: 3, down: 4 });
    assert.equal(effectiveLimits(account({ uid: 0 }), c).ratio, undefined);
    assert.equal('ratio' in effectiveLimits(account(), await validConfig('-q', '1:5')), false);
  });

  it('bandwidth: -t anonymous only, -T everyone, an account value forces throttling', async () => {
    const t = await validConfig('-t', '100');
    assert.equal(effectiveLimits(account(), t).bandwidth, undefined);
    assert.deepEqual(effectiveLimits(account({ anonymous: true }), t).bandwidth, {
      up: 102400,
      down: 102400,
    });
    const T = await validConfig('-T', '50:');
    assert.deepEqual(effectiveLimits(account(), T).bandwidth, { up: 51200, down: undefined });
    assert.deepEqual(effectiveLimits(account({ anonymous: true }), T).bandwidth, {
      up: 51200,
      down: undefined,
    });
    assert.deepEqual(effectiveLimits(account({ bandwidth: { down: 4096 } }), T).bandwidth, {
      up: 51200,
      down: 4096,
    });
    assert.deepEqual(effectiveLimits(account({ bandwidth: { down: 4096 } }), await validConfig()).bandwidth, {
      up: undefined,
      down: 4096,
    });
    assert.deepEqual(effectiveLimits(account({ bandwidth: { up: 0, down: 4096 } }), t).bandwidth, {
      up: undefined,
      down: 4096,
    });
  });

  it('max sessions: account, else the first value of -y; anonymous has the -y total instead', async () => {
    const c = await validConfig('-y', '3:20');
    assert.equal(effectiveLimits(account(), c).maxSessions, 3);
    assert.equal(effectiveLimits(account({ maxSessions: 1 }), c).maxSessions, 1);
    assert.equal(effectiveLimits(account({ anonymous: true }), c).maxSessions, undefined);
    assert.equal(effectiveLimits(account(), await validConfig()).maxSessions, undefined);
  });
});

describe('bracketed IPv6 entries in passwd IP fields (tsftpd extension)', () => {
  it('parseCidr accepts [addr], [addr]/bits and [addr/bits], IPv6 only', () => {
    assert.equal(parseCidr('[2001:db8::]/32')?.bits, 32);
    assert.equal(parseCidr('[2001:db8::/32]')?.bits, 32);
    assert.equal(parseCidr('[::1]')?.bits, 128);
    assert.equal(parseCidr('[::1]/128')?.text, '[::1]/128');
    assert.equal(parseCidr('[10.0.0.1]'), undefined);
    assert.equal(parseCidr('[::1/64]/64'), undefined);
    assert.equal(parseCidr('[::1]64'), undefined);
  });

  it('splitPasswdFields keeps bracketed colons of the IP fields only', () => {
    const line = 'joe:h:1:1:g [x:/h/./:1:2:3:4:5:6:7:[::1],127.0.0.1::[2001:db8::]/32:[fe80::1/10]:900-1800';
    const f = splitPasswdFields(line);
    assert.equal(f.length, 18);
    assert.equal(f[4], 'g [x', 'a bracket in gecos does not swallow fields');
    assert.deepEqual(f.slice(13), ['[::1],127.0.0.1', '', '[2001:db8::]/32', '[fe80::1/10]', '900-1800']);
    assert.deepEqual(splitPasswdFields('a:b:c'), ['a', 'b', 'c']);
  });

  it('formatPasswdLine writes them and parsePasswdLine reads them back into accounts', () => {
    const record = {
      login: 'joe',
      hash: '$6$s$h',
      uid: 1000,
      gid: 1000,
      gecos: '',
      home: '/srv/joe/./',
      allowClient: '[2001:db8::]/32,127.0.0.1',
      denyLocal: '[::1]',
    };
    const line = formatPasswdLine(record);
    assert.equal(line, 'joe:$6$s$h:1000:1000::/srv/joe/./:::::::::[::1]:[2001:db8::]/32,127.0.0.1::');
    const back = parsePasswdLine(line)!;
    assert.equal(back.allowClient, '[2001:db8::]/32,127.0.0.1');
    assert.equal(back.denyLocal, '[::1]');
    const r = recordToAccount(back, 'test');
    assert.ok('account' in r);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.account.allowClient?.length, 2);
    assert.throws(
      () => formatPasswdLine({ ...record, allowClient: '2001:db8::/32' }),
      /outside \[brackets\]/,
    );
    assert.throws(() => formatPasswdLine({ ...record, allowClient: '[::1' }), /outside \[brackets\]/);
  });
});
