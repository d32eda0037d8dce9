/**
 * `-l unix` and `-l pam` (upstream §3.1, §6.2 -u, §15.15-16). The unix rules are first checked on
 * private copies of passwd/shadow/shells (no privilege needed); then real accounts made with
 * useradd + chpasswd (yescrypt) log in through the real server with both backends: ok, wrong
 * password, shell not in /etc/shells, locked, expired, and `-u 1000` refusing a system uid.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { UnixAuthenticator } from '../../src/auth/backends/unix.js';
import { credentials } from '../helpers/credentials.js';
import { RawFtp, type RawReply } from '../helpers/raw.js';
import { sha512Hash, startServer, TEST_UID, type TestServer } from '../helpers/server.js';
import {
  accountTool,
  createUser,
  removeUsers,
  shadowHash,
  systemAccountsUnavailable,
  type SystemUser,
} from '../helpers/system-accounts.js';
import { ciSkip } from '../helpers/ci.js';
import { addonUnavailable } from '../helpers/native.js';

const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY);

describe('unix backend rules (private passwd/shadow/shells files)', () => {
  let dir: string;
  let files: { passwd: string; shadow: string; shells: string };
  const logs: string[] = [];
  const backend = () => new UnixAuthenticator((l, m) => logs.push(`[${l}] ${m}`), files);

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-unix-'));
    files = {
      passwd: path.join(dir, 'passwd'),
      shadow: path.join(dir, 'shadow'),
      shells: path.join(dir, 'shells'),
    };
    const h = await sha512Hash('pw');
    const users: [string, string, string, string][] = [
      // login, passwd field, home, shell
      ['root', 'x', '/root', '/bin/bash'],
      ['ok', 'x', '/home/ok/./pub', '/bin/bash'],
      ['ftponly', 'x', '/srv/ftp', 'FTP'],
      ['noshell', 'x', '/home/noshell', '/usr/sbin/nologin'],
      ['locked', 'x', '/home/locked', '/bin/bash'],
      ['star', 'x', '/home/star', '/bin/bash'],
      ['at', 'x', '/home/at', '/bin/bash'],
      ['expired', 'x', '/home/expired', '/bin/bash'],
      ['pwold', 'x', '/home/pwold', '/bin/bash'],
      ['mustchange', 'x', '/home/mustchange', '/bin/bash'],
      ['legacy', h, '/home/legacy', '/bin/bash'],
      ['noshadow', 'x', '/home/noshadow', '/bin/bash'],
    ];
    const passwd = users.map(
      ([l, p, home, shell], i) =>
        `${l}:${p}:${i === 0 ? 0 : 1000 + i}:${i === 0 ? 0 : 100}::${home}:${shell}`,
    );
    await writeFile(files.passwd, ['+nis::0:0:::', ...passwd, 'ok:x:1:1::/dup:/bin/bash', ''].join('\n'));
    const shadow = (l: string, hash: string, rest = `${today - 1}:0:99999:7:::`) => `${l}:${hash}:${rest}`;
    await writeFile(
      files.shadow,
      [
        ...['root', 'ok', 'ftponly', 'noshell'].map((l) => shadow(l, h)),
        shadow('locked', `!${h}`),
        shadow('star', '*'),
        shadow('at', `@${h}`),
        shadow('expired', h, `${today - 1}:0:99999:7::${today - 1}:`),
        shadow('pwold', h, `${today - 100}:0:30:7:::`),
        shadow('mustchange', h, '0:0:99999:7:::'),
        '',
      ].join('\n'),
    );
    await writeFile(files.shells, '# shells\n/bin/sh\n/bin/bash\n');
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts good passwords, root included, with the home and /./ of passwd', async () => {
    const b = backend();
    const ok = await b.authenticate('ok', credentials('pw'));
    assert.deepEqual(
      ok.kind === 'ok' && [ok.account.uid, ok.account.home, ok.account.chroot, ok.account.startDir],
      [1001, '/home/ok', true, '/pub'],
    );
    const root = await b.authenticate('root', credentials('pw'));
    assert.deepEqual(root.kind === 'ok' && [root.account.uid, root.account.gid], [0, 0]);
    assert.equal(
      (await b.authenticate('ftponly', credentials('pw'))).kind,
      'ok',
      'the shell "ftp" needs no /etc/shells entry',
    );
    assert.equal(
      (await b.authenticate('legacy', credentials('pw'))).kind,
      'ok',
      'hash in /etc/passwd itself',
    );
  });

  it('denies wrong passwords, bad shells, locked, expired; unknown logins fall through', async () => {
    const b = backend();
    const expect: [string, string][] = [
      ['ok', 'wrong'],
      ['noshell', 'pw'],
      ['locked', 'pw'],
      ['star', 'pw'],
      ['at', 'pw'],
      ['expired', 'pw'],
      ['pwold', 'pw'],
      ['mustchange', 'pw'],
      ['noshadow', 'x'],
    ];
    for (const [login, pw] of expect)
      assert.equal((await b.authenticate(login, credentials(pw))).kind, 'denied', login);
    for (const login of ['nobody-here', '+nis', 'a:b', '']) {
      assert.deepEqual(await b.authenticate(login, credentials('pw')), { kind: 'unknown' }, login);
    }
  });

  it('sees a changed passwd file at the next login', async () => {
    const b = backend();
    assert.equal((await b.authenticate('newbie', credentials('pw'))).kind, 'unknown');
    const text = await readFile(files.passwd, 'utf8');
    await writeFile(files.passwd, `${text}newbie:${await sha512Hash('pw')}:2000:100::/home/newbie:/bin/sh\n`);
    assert.equal((await b.authenticate('newbie', credentials('pw'))).kind, 'ok');
  });

  it('answers unknown and logs once when the shadow file cannot be read', async () => {
    const b = new UnixAuthenticator((l, m) => logs.push(`[${l}] ${m}`), { ...files, shadow: dir });
    assert.deepEqual(await b.authenticate('ok', credentials('pw')), { kind: 'unknown' });
    assert.deepEqual(await b.authenticate('ok', credentials('pw')), { kind: 'unknown' });
    assert.equal(logs.filter((l) => l.includes('-l unix needs root')).length, 1);
  });
});

describe('-u minuid (any backend)', () => {
  it('refuses a correct password of a lower uid after the delay; anonymous is exempt', async () => {
    const srv = await startServer({ args: ['-u', String(TEST_UID + 1)] });
    try {
      assert.equal((await tryLogin(srv, 'joe', 'secret')).text, "530 Sorry, but I can't trust you");
      assert.ok(
        srv.logs.some((l) => l.includes(`Can't login as [joe]: account disabled (uid < ${TEST_UID + 1})`)),
      );
      assert.equal((await tryLogin(srv, 'joe', 'wrong')).text, '530 Login authentication failed');
      const { ftp } = await RawFtp.connect(srv.port, srv.host);
      assert.equal((await ftp.cmd('USER anonymous')).code, 230);
      ftp.close();
    } finally {
      await srv.close();
    }
  });
});

/** USER + PASS on a fresh connection; returns the PASS reply. */
async function tryLogin(srv: TestServer, user: string, pass: string): Promise<RawReply> {
  const { ftp } = await RawFtp.connect(srv.port, srv.host);
  try {
    await ftp.cmd(`USER ${user}`);
    return await ftp.cmd(`PASS ${pass}`);
  } finally {
    ftp.close();
  }
}

const PAM_SERVICE_FILE = '/etc/pam.d/tsftpd-test';

describe(
  'real system accounts through -l unix and -l pam',
  { skip: ciSkip(await systemAccountsUnavailable()) },
  () => {
    let homes: string;
    let good: SystemUser, nologin: SystemUser, locked: SystemUser, expired: SystemUser, system: SystemUser;
    let pamArg = 'pam';
    let wrotePamFile = false;

    before(async () => {
      homes = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-sys-'));
      // Like /home: system accounts without -A are not chrooted and walk the real path to their home.
      await chmod(homes, 0o755);
      const homeParent = homes;
      good = await createUser('tsgood', { password: 'Good-pw1', homeParent });
      nologin = await createUser('tsnosh', { password: 'Good-pw1', homeParent, shell: '/usr/sbin/nologin' });
      locked = await createUser('tslock', { password: 'Good-pw1', homeParent });
      await accountTool('usermod', ['-L', locked.login]);
      expired = await createUser('tsexp', { password: 'Good-pw1', homeParent });
      await accountTool('chage', ['-E', '2000-01-01', expired.login]);
      system = await createUser('tssys', { password: 'Good-pw1', homeParent, system: true });
      // Debian's pure-ftpd package installs its PAM service; otherwise a minimal one of ours.
      const hasPureFtpd = await access('/etc/pam.d/pure-ftpd').then(
        () => true,
        () => false,
      );
      if (!hasPureFtpd) {
        const stack = [
          'auth required pam_unix.so',
          'auth required pam_shells.so',
          'account required pam_unix.so',
        ];
        await writeFile(PAM_SERVICE_FILE, stack.join('\n') + '\n', { mode: 0o644 });
        wrotePamFile = true;
        pamArg = 'pam:tsftpd-test';
      }
    });

    after(async () => {
      await removeUsers();
      if (wrotePamFile) await rm(PAM_SERVICE_FILE, { force: true });
      await rm(homes, { recursive: true, force: true });
    });

    it('chpasswd stored yescrypt hashes', async () => {
      assert.match((await shadowHash(good.login)) ?? '', /^\$y\$/);
      assert.ok(system.uid < 1000, `system uid ${system.uid}`);
    });

    for (const method of ['unix', 'pam'] as const) {
      // Without the PAM addon (no libpam headers when it was built) -l pam cannot start: skip, saying why.
      const skip = method === 'pam' ? ciSkip(addonUnavailable('tsftpd_pam')) : false;
      it(`-l ${method}: logs in, uploads into the home, refuses the others`, { skip }, async () => {
        const srv = await startServer({ args: ['-l', method === 'pam' ? pamArg : 'unix'] });
        const client = new Client(10000);
        try {
          await client.access({ host: srv.host, port: srv.port, user: good.login, password: 'Good-pw1' });
          await client.uploadFrom(Readable.from([Buffer.from(`via ${method}\n`)]), 'up.txt');
          const file = path.join(good.home, 'up.txt');
          assert.equal(await readFile(file, 'utf8'), `via ${method}\n`);
          assert.equal((await stat(file)).uid, good.uid, 'the upload belongs to the account');
          client.close();
          const refused = [
            [good.login, 'wrong'],
            [nologin.login, 'Good-pw1'],
            [locked.login, 'Good-pw1'],
            [expired.login, 'Good-pw1'],
            ['tsnosuchuser', 'x'],
          ];
          for (const [user, pass] of refused) assert.equal((await tryLogin(srv, user, pass)).code, 530, user);
          assert.equal(
            (await tryLogin(srv, system.login, 'Good-pw1')).code,
            230,
            'no -u: system uids may log in',
          );
        } finally {
          client.close();
          await srv.close();
        }
      });

      const lowUid = `-l ${method} -u 1000: a correct password of a low uid gets "Sorry, but I can't trust you"`;
      it(lowUid, { skip }, async () => {
        const srv = await startServer({ args: ['-l', method === 'pam' ? pamArg : 'unix', '-u', '1000'] });
        try {
          const r = await tryLogin(srv, system.login, 'Good-pw1');
          assert.equal(r.text, "530 Sorry, but I can't trust you");
          assert.ok(
            srv.logs.some((l) =>
              l.includes(`Can't login as [${system.login}]: account disabled (uid < 1000)`),
            ),
          );
          assert.equal((await tryLogin(srv, good.login, 'Good-pw1')).code, 230);
          assert.equal((await tryLogin(srv, system.login, 'wrong')).text, '530 Login authentication failed');
        } finally {
          await srv.close();
        }
      });
    }
  },
);
