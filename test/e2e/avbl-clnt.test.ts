/**
 * AVBL and CLNT (draft-peterson-streamlined-ftp-command-extensions, issue 15): AVBL answers the
 * free bytes of the directory's file system, or the quota's room when smaller; CLNT is noted (and
 * logged) before login too. Both are in FEAT.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statfs } from 'node:fs/promises';
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
});
