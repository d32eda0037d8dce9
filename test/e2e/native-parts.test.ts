/**
 * Issue 10 items 9-10: optional native parts. The real executable is started with parts turned off
 * (TSFTPD_DISABLE_ADDONS, and, as root, libsodium and libpam made unloadable in a private mount
 * namespace): an optional part that is off is named on a start-up line and its JavaScript path
 * serves logins and transfers; a configured feature whose addon is missing (-l pam, -f, the jail's
 * tsftpd_fs) stops the start with what to install.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { argon2id, hash as argon2Hash } from 'argon2';
import { Client } from 'basic-ftp';
import { ciSkip } from '../helpers/ci.js';
import { sha512Hash } from '../helpers/server.js';
import { MAIN, spawnServer, userTree } from '../helpers/spawned.js';

/** The environment of the children: ours without any inherited TSFTPD_DISABLE_ADDONS. */
function envWith(disable?: string): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.TSFTPD_DISABLE_ADDONS;
  if (disable !== undefined) env.TSFTPD_DISABLE_ADDONS = disable;
  return env;
}

const base = (passwd: string): string[] => [
  '-S',
  '127.0.0.1,0',
  '-p',
  '20000:29999',
  '--auth-delay',
  '5',
  '-E',
  '--passwd-file',
  passwd,
];

/** Logs in, uploads `body` as up.bin and downloads it back. */
async function roundTrip(port: number, user: string, password: string, body: Buffer): Promise<Buffer> {
  const client = new Client(10_000);
  try {
    await client.access({ host: '127.0.0.1', port, user, password });
    await client.uploadFrom(Readable.from([body]), 'up.bin');
    const chunks: Buffer[] = [];
    await client.downloadTo(
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
      'up.bin',
    );
    return Buffer.concat(chunks);
  } finally {
    client.close();
  }
}

describe('optional native parts (start-up check and fallbacks)', () => {
  let tree: Awaited<ReturnType<typeof userTree>>;

  before(async () => {
    // An Argon2 hash (libsodium or the argon2 package verify it) and a SHA-512 crypt one (crypt addon).
    const argon = await argon2Hash('argon-pw', {
      type: argon2id,
      memoryCost: 8192,
      timeCost: 2,
      parallelism: 1,
    });
    tree = await userTree({ ann: argon, sam: await sha512Hash('crypt-pw') });
  });
  after(async () => tree.remove());

  it('TSFTPD_DISABLE_ADDONS=pam,sodium,pump: starts, names what is off, logins and transfers work', async () => {
    const srv = await spawnServer(process.execPath, [MAIN, ...base(tree.passwd)], {
      env: envWith('pam,sodium,pump'),
    });
    assert.ok(srv.started, `did not start: ${srv.stderr.join('\n')}`);
    try {
      const line = srv.stdout.find((l) => l.includes('optional native parts off'));
      assert.equal(
        line,
        'tsftpd: optional native parts off: ' +
          'pump (disabled by TSFTPD_DISABLE_ADDONS) - uploads and big downloads go through Node streams; ' +
          'sodium (disabled by TSFTPD_DISABLE_ADDONS) - Argon2 hashes use the argon2 package',
      );
      assert.ok(
        srv.stderr.some((l) =>
          /native addons: fs \((pre)?built\), crypt \((pre)?built\), pam off, pump off/.test(l),
        ),
      );
      const body = Buffer.alloc(3 << 20, 7);
      assert.deepEqual(
        await roundTrip(srv.port, 'ann', 'argon-pw', body),
        body,
        'Argon2 user via the argon2 package',
      );
      assert.deepEqual(await roundTrip(srv.port, 'sam', 'crypt-pw', body), body);
      assert.deepEqual(await readFile(path.join(tree.home('ann'), 'up.bin')), body);
    } finally {
      await srv.stop();
    }
  });

  it('nothing off: no "off" line', async () => {
    const srv = await spawnServer(process.execPath, [MAIN, ...base(tree.passwd)], { env: envWith() });
    assert.ok(srv.started, `did not start: ${srv.stderr.join('\n')}`);
    try {
      assert.ok(!srv.stdout.some((l) => l.includes('optional native parts off')), srv.stdout.join('\n'));
    } finally {
      await srv.stop();
    }
  });

  it('-l pam without the PAM addon: the start stops, saying what to install', async () => {
    const srv = await spawnServer(process.execPath, [MAIN, ...base(tree.passwd), '-l', 'pam'], {
      env: envWith('pam'),
    });
    assert.equal(srv.started, false, 'the server started');
    assert.equal(srv.code, 2);
    const text = srv.stderr.join('\n');
    assert.match(
      text,
      /^tsftpd: -l pam needs the tsftpd_pam addon \(PAM authentication\), which is not available: disabled by TSFTPD_DISABLE_ADDONS\. To get it: apt-get install libpam0g-dev && .*npm rebuild/m,
    );
  });

  it('a missing required or configured part stops the start: tsftpd_fs, tsftpd_crypt, syslog (-f)', async () => {
    const cases: [string, string[], RegExp][] = [
      [
        'fs',
        [],
        /^tsftpd: tsftpd needs the tsftpd_fs addon .*To get it: apt-get install python3 make g\+\+ && /m,
      ],
      [
        'crypt',
        [],
        /^tsftpd: checking password hashes needs the tsftpd_crypt addon .*apt-get install libcrypt-dev && /m,
      ],
      ['syslog', ['-f', 'ftp'], /^tsftpd: -f ftp \(syslog\) needs the tsftpd_syslog addon/m],
      [
        'bogus',
        [],
        /^tsftpd: TSFTPD_DISABLE_ADDONS: unknown part "bogus" \(known: fs, crypt, pam, pump, syslog, channel, quota, sodium\)$/m,
      ],
    ];
    for (const [part, extra, expected] of cases) {
      const srv = await spawnServer(process.execPath, [MAIN, ...base(tree.passwd), ...extra], {
        env: envWith(part),
      });
      assert.equal(srv.started, false, `${part}: the server started`);
      assert.equal(srv.code, 2, part);
      assert.match(srv.stderr.join('\n'), expected);
    }
  });

  // As root: libsodium and libpam replaced by /dev/null in a private mount namespace, the way a
  // machine without them (or with broken copies) looks to dlopen.
  const libs = ['libsodium.so.23', 'libpam.so.0'].map((l) => path.join('/usr/lib/x86_64-linux-gnu', l));
  const hideSkip =
    process.getuid?.() !== 0
      ? 'needs root (mount namespace)'
      : !libs.every((l) => existsSync(l))
        ? `needs ${libs.join(' and ')} present to hide them`
        : spawnSync('unshare', ['-m', 'true']).status !== 0
          ? 'unshare -m is not permitted here'
          : undefined;

  it(
    'libsodium and libpam unloadable: crypt still loads (sodium off, with the fix), -l pam stops the start',
    { skip: ciSkip(hideSkip) },
    async () => {
      const mounts = libs.map((l) => `mount --bind /dev/null ${realpathSync(l)}`).join(' && ');
      const run = (extra: string[]) =>
        spawnServer(
          'unshare',
          [
            '-m',
            'sh',
            '-c',
            `${mounts} && exec "$0" "$@"`,
            process.execPath,
            MAIN,
            ...base(tree.passwd),
            ...extra,
          ],
          {
            env: envWith(),
          },
        );
      const srv = await run([]);
      assert.ok(srv.started, `did not start: ${srv.stderr.join('\n')}`);
      try {
        const line = srv.stdout.find((l) => l.includes('optional native parts off')) ?? '';
        assert.match(
          line,
          /sodium \([^)]*libsodium\.so\.23[^)]*\) - Argon2 hashes use the argon2 package \[to enable: apt-get install libsodium23/,
        );
        const body = Buffer.from('hello');
        assert.deepEqual(await roundTrip(srv.port, 'ann', 'argon-pw', body), body);
        assert.deepEqual(await roundTrip(srv.port, 'sam', 'crypt-pw', body), body);
      } finally {
        await srv.stop();
      }
      const pam = await run(['-l', 'pam']);
      assert.equal(pam.started, false);
      assert.match(
        pam.stderr.join('\n'),
        /-l pam needs the tsftpd_pam addon .*libpam\.so\.0.*To get it: apt-get install libpam0g/,
      );
    },
  );
});
