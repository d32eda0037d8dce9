import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PasswdFileAuthenticator } from '../../src/auth/backends/passwd-file.js';
import { PureDbAuthenticator } from '../../src/auth/backends/puredb.js';
import { cryptWithSetting } from '../../src/auth/hashes/index.js';
import { passwdFileEntries } from '../../src/auth/passwd-line.js';
import { PDB_BROKEN_MESSAGE, writePureDb } from '../../src/auth/pdb.js';
import { credentials } from '../helpers/credentials.js';
import { FtpError } from '../../src/errors.js';
import { purePw, purePwSkip } from './pure-pw.helper.js';

const dir = mkdtempSync(join(tmpdir(), 'tsftpd-auth-backends-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let passwdText = '';
before(async () => {
  const hash = (await cryptWithSetting('secret', '$6$rounds=1000$saltsalt$')) as string;
  passwdText = [
    '# virtual users',
    `joe:${hash}:1000:1000:Joe:/srv/joe/./pub:51200::::2:::::127.0.0.1/8:ftp.example.com:900-1800`,
    `joe:${hash}:1001:1001:Second joe line:/elsewhere`,
    `root:${hash}:0:1000::/root`,
    `wheel:${hash}:1000:0::/root`,
    `broken:${hash}:1000:1000::relative`,
    `badtime:${hash}:1000:1000::/h::::::::::::whenever`,
    `plain:${hash}:1002:1002::/home/plain`,
    '',
  ].join('\n');
});

/** The checks both passwd-format backends must pass identically. */
async function commonChecks(
  auth: PureDbAuthenticator | PasswdFileAuthenticator,
  warnings: string[],
): Promise<void> {
  const ok = await auth.authenticate('joe', credentials('secret'));
  assert.equal(ok.kind, 'ok');
  assert.ok(ok.kind === 'ok');
  const a = ok.account;
  assert.equal(a.uid, 1000, 'first line of a login wins');
  assert.equal(a.home, '/srv/joe');
  assert.equal(a.chroot, true);
  assert.equal(a.startDir, '/pub');
  assert.equal(a.backend, auth.name);
  assert.deepEqual(a.bandwidth, { up: 51200, down: undefined });
  assert.equal(a.maxSessions, 2);
  assert.deepEqual(a.timeWindow, { from: 540, to: 1080 });
  assert.equal(a.allowClient?.[0].text, '127.0.0.1/8');
  assert.equal(a.denyClient, undefined);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /ftp\.example\.com/);
  assert.doesNotMatch(warnings[0], /secret/);

  assert.deepEqual(await auth.authenticate('joe', credentials('wrong')), {
    kind: 'denied',
    reason: 'bad password',
  });
  assert.deepEqual(await auth.authenticate('nobody', credentials('secret')), { kind: 'unknown' });
  assert.deepEqual(
    await auth.authenticate('JOE', credentials('secret')),
    { kind: 'unknown' },
    'logins are case-sensitive',
  );
  for (const login of ['root', 'wheel', 'broken', 'badtime']) {
    const r = await auth.authenticate(login, credentials('secret'));
    assert.equal(r.kind, 'denied', login);
  }
  assert.deepEqual(await auth.authenticate('root', credentials('nope')), {
    kind: 'denied',
    reason: 'bad password',
  });
  for (const login of ['a'.repeat(128), 'jo:e', 'joe\n', '', 'j\x00oe']) {
    assert.deepEqual(
      await auth.authenticate(login, credentials('secret')),
      { kind: 'unknown' },
      JSON.stringify(login),
    );
  }
  const plain = await auth.authenticate('plain', credentials('secret'));
  assert.ok(plain.kind === 'ok');
  assert.equal(plain.account.chroot, false);
  assert.equal(plain.account.home, '/home/plain');
}

test('PureDbAuthenticator: accounts from a .pdb', async () => {
  const pdb = join(dir, 'users.pdb');
  await writePureDb(pdb, passwdFileEntries(passwdText));
  const warnings: string[] = [];
  const auth = new PureDbAuthenticator(pdb, { onWarning: (m) => warnings.push(m) });
  try {
    assert.equal(auth.name, 'puredb');
    await commonChecks(auth, warnings);
    // mkdb replaces the file: the next login sees it, no restart.
    await writePureDb(pdb, passwdFileEntries(passwdText.replace(/^plain:/m, 'renamed:')));
    assert.deepEqual(await auth.authenticate('plain', credentials('secret')), { kind: 'unknown' });
    assert.equal((await auth.authenticate('renamed', credentials('secret'))).kind, 'ok');
  } finally {
    await auth.close();
  }
});

test('PureDbAuthenticator: a missing or broken .pdb is a 421, not "unknown"', async () => {
  const auth = new PureDbAuthenticator(join(dir, 'missing.pdb'));
  await assert.rejects(auth.authenticate('joe', credentials('x')), (err: unknown) => {
    assert.ok(err instanceof FtpError);
    assert.equal(err.reply, 421);
    assert.equal(err.text, PDB_BROKEN_MESSAGE);
    return true;
  });
  await auth.close();
});

test('PasswdFileAuthenticator: accounts from the text file, reloaded on change', async () => {
  const file = join(dir, 'pureftpd.passwd');
  const warnings: string[] = [];
  const auth = new PasswdFileAuthenticator(file, { onWarning: (m) => warnings.push(m), checkIntervalMs: 0 });
  assert.equal(auth.name, 'passwd');
  assert.deepEqual(
    await auth.authenticate('joe', credentials('secret')),
    { kind: 'unknown' },
    'missing file: no users',
  );
  writeFileSync(file, passwdText);
  await commonChecks(auth, warnings);
  assert.equal(auth.size, 6);
  // Replace atomically, as pure-pw does (tmp + rename).
  writeFileSync(`${file}.tmp`, passwdText.replace(/^plain:/m, 'renamed:'));
  renameSync(`${file}.tmp`, file);
  assert.deepEqual(await auth.authenticate('plain', credentials('secret')), { kind: 'unknown' });
  assert.equal((await auth.authenticate('renamed', credentials('secret'))).kind, 'ok');
  rmSync(file);
  assert.deepEqual(await auth.authenticate('renamed', credentials('secret')), { kind: 'unknown' });
});

test('PasswdFileAuthenticator: at most one check per interval', async () => {
  const file = join(dir, 'throttled.passwd');
  writeFileSync(file, passwdText);
  const auth = new PasswdFileAuthenticator(file, { checkIntervalMs: 60_000 });
  assert.equal((await auth.authenticate('plain', credentials('secret'))).kind, 'ok');
  writeFileSync(file, '');
  assert.equal((await auth.authenticate('plain', credentials('secret'))).kind, 'ok', 'not re-read yet');
  await auth.refresh(true);
  assert.deepEqual(await auth.authenticate('plain', credentials('secret')), { kind: 'unknown' });
});

test(
  'a user added by the real pure-pw (argon2id, -m) logs in through puredb',
  { skip: purePwSkip() },
  async () => {
    const file = join(dir, 'real.passwd');
    const pdb = join(dir, 'real.pdb');
    purePw(
      [
        'useradd',
        'ann',
        '-u',
        '1000',
        '-g',
        '1000',
        '-d',
        '/srv/ann',
        '-N',
        '5',
        '-f',
        file,
        '-F',
        pdb,
        '-m',
        '-C',
        '64',
      ],
      'pw\npw\n',
    );
    const auth = new PureDbAuthenticator(pdb);
    try {
      const [good, bad] = await Promise.all([
        auth.authenticate('ann', credentials('pw')),
        auth.authenticate('ann', credentials('pW')),
      ]);
      assert.ok(good.kind === 'ok');
      assert.equal(good.account.home, '/srv/ann');
      assert.equal(good.account.startDir, '/');
      assert.deepEqual(good.account.quota, { files: undefined, bytes: 5 * 1024 * 1024 });
      assert.deepEqual(bad, { kind: 'denied', reason: 'bad password' });
    } finally {
      await auth.close();
    }
  },
);
