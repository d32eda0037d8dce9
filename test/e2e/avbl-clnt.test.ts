/**
 * AVBL and CLNT (draft-peterson-streamlined-ftp-command-extensions, issue 15): AVBL answers the
 * free bytes of the directory's file system, or the quota's room when smaller; CLNT is noted (and
 * logged) before login too. Both are in FEAT.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { startServer, putFile } from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';

describe('AVBL and CLNT', () => {
  it('AVBL: the free bytes of the file system; 550 for a file or a missing path; CLNT before login', async () => {
    const srv = await startServer({});
    try {
      await putFile(path.join(srv.home('joe'), 'f.txt'), 'x');
      const { ftp } = await RawFtp.connect(srv.port);
      assert.equal((await ftp.cmd('CLNT FileZilla 3.66')).text, '200 Noted.');
      assert.match((await ftp.cmd('FEAT')).text, /^ CLNT$/m);
      assert.equal((await ftp.cmd('USER joe')).code, 331);
      assert.equal((await ftp.cmd('PASS secret')).code, 230);
      assert.match((await ftp.cmd('FEAT')).text, /^ AVBL$/m);
      const r = await ftp.cmd('AVBL');
      assert.equal(r.code, 213, r.text);
      const fs = await statfs(srv.home('joe'));
      const free = fs.bavail * fs.bsize;
      const said = Number(r.text.slice(4));
      assert.ok(Math.abs(said - free) < 64 * 1024 * 1024, `${said} vs ${free}`);
      assert.equal((await ftp.cmd('AVBL /')).code, 213);
      assert.equal((await ftp.cmd('AVBL f.txt')).text, '550 Not a directory');
      assert.equal((await ftp.cmd('AVBL nowhere')).text, '550 No such file or directory');
      assert.ok(
        srv.logs.some((l) => l.includes('Client: FileZilla 3.66')),
        srv.logs.join('\n'),
      );
      ftp.close();
    } finally {
      await srv.close();
    }
  });

  it('AVBL with a quota: the room the quota leaves', async () => {
    const srv = await startServer({ args: ['-n', '1000:1'] });
    try {
      const { ftp } = await RawFtp.connect(srv.port);
      await ftp.login('joe', 'secret');
      assert.equal((await ftp.cmd('AVBL')).text, `213 ${1024 * 1024}`);
      ftp.close();
    } finally {
      await srv.close();
    }
  });

  it('MFF sets the modify time and the mode in one command (draft-somers-ftp-mfxx); -R refuses the mode', async () => {
    const srv = await startServer({});
    const limited = await startServer({ args: ['-R'] });
    try {
      const file = path.join(srv.home('joe'), 'm.txt');
      await putFile(file, 'x');
      const { ftp } = await RawFtp.connect(srv.port);
      await ftp.login('joe', 'secret');
      assert.match((await ftp.cmd('FEAT')).text, /^ MFF modify;UNIX\.mode;$/m);
      assert.equal(
        (await ftp.cmd('MFF Modify=20200102030405;UNIX.mode=0640; m.txt')).text,
        '213 Modify=20200102030405;UNIX.mode=0640; m.txt',
      );
      const st = await stat(file);
      assert.equal(st.mode & 0o7777, 0o640);
      assert.equal(st.mtime.toISOString(), '2020-01-02T03:04:05.000Z');
      // Setuid and friends are never set through FTP.
      assert.equal((await ftp.cmd('MFF UNIX.mode=4755; m.txt')).text, '213 UNIX.mode=4755; m.txt');
      assert.equal((await stat(file)).mode & 0o7777, 0o755);
      assert.equal((await ftp.cmd('MFF Perm=r; m.txt')).code, 504);
      assert.equal((await ftp.cmd('MFF m.txt')).code, 501);
      assert.equal((await ftp.cmd('MFF Modify=2020; m.txt')).code, 501);
      assert.equal((await ftp.cmd('MFF UNIX.mode=0999; m.txt')).code, 501);
      assert.equal((await ftp.cmd('MFF Modify=20200102030405; missing.txt')).code, 550);
      assert.equal((await ftp.cmd('MFF Modify=20200102030405; ../../etc/passwd')).code, 550);
      ftp.close();
      await putFile(path.join(limited.home('joe'), 'r.txt'), 'x');
      const { ftp: r } = await RawFtp.connect(limited.port);
      await r.login('joe', 'secret');
      assert.equal((await r.cmd('MFF UNIX.mode=0777; r.txt')).text, '550 Could not change perms on r.txt');
      assert.equal((await r.cmd('MFF Modify=20200102030405; r.txt')).code, 213);
      r.close();
    } finally {
      await srv.close();
      await limited.close();
    }
  });
});
