/**
 * Languages (issue 14): `--language de` (and `Language` in a conf file) makes the server answer in
 * German from the greeting on; `LANG fr` (RFC 2640 §4) switches one session; reply codes never
 * change, and stock clients (curl, Python's ftplib) work the same in any language. Expected texts
 * come from the catalogs themselves, so the test checks the wiring, not the wording.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, putFile } from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';
import { curl, ftplib, toolSkip } from '../helpers/clients.js';
import { findLanguage } from '../../src/i18n/languages.js';
import { tr, type Msg } from '../../src/i18n/msg.js';

/** A text in a language, as the server renders it. */
function inLang(tag: string, msg: Msg): string {
  return msg.render(findLanguage(tag)!.catalog);
}

describe('languages', () => {
  it('--language de: greeting, login, errors and goodbye in German; codes unchanged', async () => {
    const srv = await startServer({ args: ['--language', 'de'] });
    try {
      const { ftp, greeting } = await RawFtp.connect(srv.port);
      assert.equal(greeting.code, 220);
      assert.ok(
        greeting.text.includes(inLang('de', tr`--------- Welcome to tsftpd ---------`)),
        greeting.text,
      );
      assert.notEqual(
        inLang('de', tr`--------- Welcome to tsftpd ---------`),
        '--------- Welcome to tsftpd ---------',
      );
      const user = await ftp.cmd('USER joe');
      assert.equal(user.code, 331);
      assert.equal(user.text, `331 ${inLang('de', tr`User ${'joe'} OK. Password required`)}`);
      const pass = await ftp.cmd('PASS secret');
      assert.equal(pass.code, 230);
      const cwd = await ftp.cmd('CWD /nowhere');
      assert.equal(cwd.code, 550);
      assert.equal(
        cwd.text,
        `550 ${inLang('de', tr`Can't change directory to ${'/nowhere'}: ${tr`No such file or directory`}`)}`,
      );
      // Protocol tokens stay as they are.
      assert.equal((await ftp.cmd('SYST')).text, '215 UNIX Type: L8');
      assert.match((await ftp.cmd('PASV')).text, /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)$/);
      const feat = await ftp.cmd('FEAT');
      assert.match(feat.text, /^ LANG en;de\*;ro;/m);
      const quit = await ftp.cmd('QUIT');
      assert.equal(quit.code, 221);
      assert.ok(quit.text.includes(inLang('de', tr`Logout.`)), quit.text);
      ftp.close();
    } finally {
      await srv.close();
    }
  });

  it('stock clients work the same with a translated server (curl, Python ftplib)', async (t) => {
    const srv = await startServer({ args: ['--language', 'ru'] });
    try {
      await putFile(path.join(srv.home('joe'), 'hello.txt'), 'Привет\n');
      const skipCurl = toolSkip('curl');
      if (skipCurl === false) {
        const r = await curl(`ftp://127.0.0.1:${srv.port}/hello.txt`, { user: 'joe', password: 'secret' });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'Привет\n');
      } else t.diagnostic(skipCurl);
      const skipPy = toolSkip('python3');
      if (skipPy === false) {
        const r = await ftplib(
          srv.port,
          [
            "print(ftp.login('joe', 'secret'))",
            'print(ftp.nlst())',
            'try:',
            "    ftp.cwd('/nowhere')",
            'except ftplib.error_perm as e:',
            "    print('PERM', str(e)[:3])",
            'print(ftp.quit()[:3])',
          ].join('\n'),
        );
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split('\n');
        assert.ok(
          [tr`OK. Current restricted directory is ${'/'}`, tr`OK. Current directory is ${'/'}`]
            .map((m) => `230 ${inLang('ru', m)}`)
            .includes(lines[0]),
          lines[0],
        );
        assert.equal(lines[1], "['hello.txt']");
        assert.equal(lines[2], 'PERM 550');
        assert.equal(lines[3], '221');
      } else t.diagnostic(skipPy);
    } finally {
      await srv.close();
    }
  });

  it('LANG (RFC 2640): a session picks French, goes back with LANG alone; unknown tags get 504', async () => {
    const srv = await startServer({});
    try {
      const { ftp } = await RawFtp.connect(srv.port);
      // FEAT lists every language, English marked as the one in use.
      assert.match((await ftp.cmd('FEAT')).text, /^ LANG en\*;de;ro;fr;fr-x-funny;pl;/m);
      // Before login too.
      const fr = await ftp.cmd('LANG fr');
      assert.equal(fr.code, 200);
      assert.equal(fr.text, `200 ${inLang('fr', tr`Responses changed to ${'Français'}`)}`);
      assert.match((await ftp.cmd('FEAT')).text, /^ LANG en;de;ro;fr\*;/m);
      const user = await ftp.cmd('USER joe');
      assert.equal(user.text, `331 ${inLang('fr', tr`User ${'joe'} OK. Password required`)}`);
      assert.equal((await ftp.cmd('PASS secret')).code, 230);
      const mkd = await ftp.cmd('RMD /nowhere');
      assert.equal(mkd.code, 550);
      assert.equal(
        mkd.text,
        `550 ${inLang('fr', tr`Can't remove directory: ${tr`No such file or directory`}`)}`,
      );
      // A regional tag falls back to its language; LANG alone restores the server's.
      assert.equal(
        (await ftp.cmd('LANG de-AT')).text,
        `200 ${inLang('de', tr`Responses changed to ${'Deutsch'}`)}`,
      );
      assert.equal((await ftp.cmd('LANG')).text, '200 Responses changed to English');
      assert.equal((await ftp.cmd('LANG xx')).text, '504 Language xx is not supported');
      assert.equal((await ftp.cmd('LANG a;b')).code, 501);
      assert.equal((await ftp.cmd('NOOP')).text, '200 Zzz...');
      ftp.close();
    } finally {
      await srv.close();
    }
  });

  it('the Language key of a pure-ftpd.conf file; an unknown language stops the start', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-lang-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const conf = path.join(dir, 'pure-ftpd.conf');
    await writeFile(conf, 'Language       french-funny\n');
    const funny = await startServer({ args: ['--config', conf] });
    try {
      const { ftp, greeting } = await RawFtp.connect(funny.port);
      assert.ok(
        greeting.text.includes(inLang('fr-x-funny', tr`--------- Welcome to tsftpd ---------`)),
        greeting.text,
      );
      ftp.close();
    } finally {
      await funny.close();
    }
    await assert.rejects(startServer({ args: ['--language', 'klingon'] }), /unknown language "klingon"/);
  });
});
