import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { argon2d, argon2i, hash as npmArgon2Hash } from 'argon2';
import { cryptWithSetting, generateSalt, hashPassword, verifyPassword } from '../../src/auth/hashes/index.js';
import { purePw, purePwSkip } from './pure-pw.helper.js';

const dir = mkdtempSync(join(tmpdir(), 'tsftpd-hashes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs libsodium (the library Pure-FTPd links) through python3's ctypes; undefined when unavailable. */
function sodium(script: string): string | undefined {
  const prelude =
    'import ctypes,sys\ns=ctypes.CDLL("libsodium.so.23")\nassert s.sodium_init()>=0\nb=ctypes.create_string_buffer(256)\n';
  try {
    return execFileSync('python3', ['-c', prelude + script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}
const sodiumSkip = sodium('print(1)') === '1' ? false : 'python3 with libsodium.so.23 (ctypes) not available';

const FAST = { memoryKiB: 1024, timeCost: 1 };

test('crypt(3) schemes made with the addon: yescrypt, scrypt, bcrypt, SHA-crypt, MD5-crypt, DES', async () => {
  // Cheapest costs each scheme allows: the point is the dispatch, not the cost.
  const cost: Record<string, number> = { $y$: 1, $2b$: 4, $2y$: 4, $2a$: 4, $6$: 1000, $5$: 1000 };
  const settings: string[] = ['$7$6U..../....abcdefgh'];
  for (const prefix of ['$y$', '$2b$', '$2y$', '$2a$', '$6$', '$5$', '$1$', '']) {
    const setting = await generateSalt(prefix, cost[prefix] ?? 0);
    assert.ok(setting, `gensalt ${prefix}`);
    settings.push(setting);
  }
  for (const setting of settings) {
    const hash = await cryptWithSetting('s3cret pw', setting);
    assert.ok(hash, `crypt ${setting}`);
    assert.equal(await verifyPassword('s3cret pw', hash), true, hash);
    // DES only looks at 8 characters: change one of the first eight.
    assert.equal(await verifyPassword('S3cret pw', hash), false, hash);
    assert.equal(await verifyPassword('', hash), false, hash);
  }
});

test(
  'openssl passwd -6 / -5 / -1 hashes',
  { skip: existsSync('/usr/bin/openssl') ? false : 'no openssl' },
  async () => {
    for (const flag of ['-6', '-5', '-1']) {
      const hash = execFileSync('openssl', ['passwd', flag, '-stdin'], {
        input: 'open sesame\n',
        encoding: 'utf8',
      }).trim();
      assert.equal(await verifyPassword('open sesame', hash), true, hash);
      assert.equal(await verifyPassword('open sesame ', hash), false, hash);
    }
  },
);

test('hashPassword: Argon2id in libsodium parameter order, verifies', async () => {
  const hash = await hashPassword('pw', FAST);
  assert.match(hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(await verifyPassword('pw', hash), true);
  assert.equal(await verifyPassword('pw2', hash), false);
  assert.notEqual(await hashPassword('pw', FAST), hash, 'fresh salt each time');
  const defaults = await hashPassword('pw');
  assert.match(defaults, /^\$argon2id\$v=19\$m=8192,t=3,p=1\$/);
  await assert.rejects(hashPassword('pw', { memoryKiB: 4 }), RangeError);
  await assert.rejects(hashPassword('pw', { timeCost: 0 }), RangeError);
});

test('Argon2 strings in either parameter order, and argon2i / argon2d', async () => {
  // argon2 0.45 writes m,p,t; 0.44 (pinned: docs/native.md) writes libsodium's m,t,p: test both orders.
  const made = await npmArgon2Hash('pw', { memoryCost: 1024, timeCost: 1, parallelism: 1 });
  const npmOrder = made.replace('m=1024,t=1,p=1', 'm=1024,p=1,t=1');
  assert.match(npmOrder, /m=1024,p=1,t=1/);
  assert.equal(await verifyPassword('pw', npmOrder), true);
  const sodiumOrder = npmOrder.replace('m=1024,p=1,t=1', 'm=1024,t=1,p=1');
  assert.equal(await verifyPassword('pw', sodiumOrder), true);
  assert.equal(await verifyPassword('px', sodiumOrder), false);
  for (const type of [argon2i, argon2d] as const) {
    const h = await npmArgon2Hash('pw', { type, memoryCost: 1024, timeCost: 1, parallelism: 1 });
    assert.equal(await verifyPassword('pw', h.replace('t=1,p=1', 'p=1,t=1')), true, h);
    assert.equal(await verifyPassword('pw', h.replace('p=1,t=1', 't=1,p=1')), true, h);
  }
});

test('libsodium (what Pure-FTPd links) accepts hashPassword output', { skip: sodiumSkip }, async () => {
  const hash = await hashPassword('pure pw', FAST);
  const verify = (pw: string): string | undefined =>
    sodium(
      `h=${JSON.stringify(hash)}.encode();p=${JSON.stringify(pw)}.encode()\nprint(s.crypto_pwhash_str_verify(h,p,len(p)))`,
    );
  assert.equal(verify('pure pw'), '0');
  assert.equal(verify('pure px'), '-1');
});

test('hashes made by libsodium: argon2id, argon2i, scrypt $7$', { skip: sodiumSkip }, async () => {
  const out = sodium(
    [
      'c=ctypes.c_char_p;u=ctypes.c_ulonglong;z=ctypes.c_size_t',
      's.crypto_pwhash_str_alg.argtypes=[c,c,u,u,z,ctypes.c_int]',
      's.crypto_pwhash_scryptsalsa208sha256_str.argtypes=[c,c,u,u,z]',
      'for alg in (2,1):',
      '  assert s.crypto_pwhash_str_alg(b,b"pw",2,3,1<<20,alg)==0; print(b.value.decode())',
      'assert s.crypto_pwhash_scryptsalsa208sha256_str(b,b"pw",2,32768,1<<24)==0; print(b.value.decode())',
    ].join('\n'),
  );
  assert.ok(out);
  const hashes = out.split('\n');
  assert.match(hashes[0], /^\$argon2id\$v=19\$m=1024,t=3,p=1\$/);
  assert.match(hashes[1], /^\$argon2i\$/);
  assert.match(hashes[2], /^\$7\$/);
  for (const h of hashes) {
    assert.equal(await verifyPassword('pw', h), true, h);
    assert.equal(await verifyPassword('wp', h), false, h);
  }
});

test('the argon2id hash written by the real pure-pw', { skip: purePwSkip() }, async () => {
  const file = join(dir, 'argon.passwd');
  purePw(
    ['useradd', 'joe', '-u', '1000', '-g', '1000', '-d', '/srv/joe', '-f', file, '-C', '64'],
    'p@ss w0rd\np@ss w0rd\n',
  );
  const hash = readFileSync(file, 'utf8').split(':')[1];
  assert.match(hash, /^\$argon2id\$v=19\$m=1024,t=\d+,p=1\$/);
  // pure-pw calibrated t for ~0.25 s: run both checks at once on the thread pool.
  const [right, wrong] = await Promise.all([
    verifyPassword('p@ss w0rd', hash),
    verifyPassword('p@ss w0rD', hash),
  ]);
  assert.equal(right, true);
  assert.equal(wrong, false);
});

test('locked, empty, malformed and hostile hashes are false, never a throw', async () => {
  const good = (await cryptWithSetting('pw', '$1$saltsalt$')) as string;
  const argon = await hashPassword('pw', FAST);
  for (const stored of [
    '',
    '*',
    '!',
    '!' + good,
    '*' + good,
    '@' + good,
    'x',
    '$6$',
    '$6$salt',
    '$2b$99$abcdefghijklmnopqrstuv',
    '$argon2id$',
    '$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$',
    '$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA',
    argon.replace('m=1024', 'm=8388608'),
    argon.replace('t=1,', 't=0,'),
    argon.replace('p=1', 'p=0'),
    argon.replace('$v=19', '$v=20'),
    argon.slice(0, -10),
    argon + '\n',
    good.replace('$1$', '$1$:'),
  ]) {
    assert.equal(await verifyPassword('pw', stored), false, JSON.stringify(stored));
  }
});

test('password limits: 512 characters and NUL never match', async () => {
  const long = 'a'.repeat(512);
  const longHash = (await cryptWithSetting(long, '$6$saltsaltsalt$')) as string;
  assert.equal(await verifyPassword(long, longHash), false);
  const okLong = 'a'.repeat(511);
  assert.equal(
    await verifyPassword(okLong, (await cryptWithSetting(okLong, '$6$saltsaltsalt$')) as string),
    true,
  );
  const argon = await hashPassword('a\0b', FAST);
  assert.equal(await verifyPassword('a\0b', argon), false);
});
