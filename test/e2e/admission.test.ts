/**
 * The admission rules of Debian's stock configuration (issue 13; upstream §5.3, §6.1): -s anti-warez,
 * -m max load, -k max disk usage and -Z customer-proof chmod, with a raw client against a real server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, rm, stat, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RawFtp } from '../helpers/raw.js';
import { putFile, startServer } from '../helpers/server.js';

describe('admission rules (-s, -m, -k, -Z)', () => {
  it('-s: anonymous may not download files owned by the ftp account; other files and users may', async (t) => {
    const srv = await startServer({ args: ['-s'] });
    t.after(() => srv.close());
    const anon = srv.server.context.anonymous;
    if (anon === undefined) return t.skip('no anonymous account');
    await writeFile(path.join(srv.anonRoot, 'fresh.txt'), 'uploaded by someone');
    await chown(path.join(srv.anonRoot, 'fresh.txt'), anon.uid, anon.gid);
    await writeFile(path.join(srv.anonRoot, 'approved.txt'), 'approved');
    if (process.getuid?.() === 0) await chown(path.join(srv.anonRoot, 'approved.txt'), 0, 0);
    else if (anon.uid === process.getuid?.())
      return t.skip('the ftp account is the test user: every file is its own');
    const { ftp } = await RawFtp.connect(srv.port);
    await ftp.login('anonymous', 'x@example.org');
    const refused = await ftp.data('RETR fresh.txt');
    assert.equal(refused.first.code, 550);
    assert.equal(
      refused.first.text,
      '550-This file has been uploaded by an anonymous user. It has not\n550 yet been approved for downloading by the site administrators.',
    );
    const ok = await ftp.data('RETR approved.txt');
    assert.equal(ok.final?.code, 226);
    assert.equal(ok.data.toString(), 'approved');
    ftp.close();
  });

  it('-m: anonymous downloads refused above the load at connect time, with the load; users and uploads not', async (t) => {
    const load = os.loadavg()[1];
    if (!(load > 0.001)) return t.skip(`the 5-minute load average is ${load}: nothing to be above`);
    const srv = await startServer({ args: ['-m', '0.001', '-M'] });
    t.after(() => srv.close());
    await writeFile(path.join(srv.anonRoot, 'pub.txt'), 'public');
    const { ftp } = await RawFtp.connect(srv.port);
    await ftp.login('anonymous', 'x@example.org');
    const r = await ftp.data('RETR pub.txt');
    assert.equal(r.first.code, 550);
    assert.match(
      r.first.text,
      /^550-The load was \d+\.\d\d when you connected\. We do not allow downloads\n550-by anonymous users when the load is that high\. Uploads are always\n550 allowed\.$/,
    );
    ftp.close();
    await putFile(path.join(srv.home('joe'), 'mine.txt'), 'mine');
    const user = (await RawFtp.connect(srv.port)).ftp;
    await user.login('joe', 'secret');
    assert.equal((await user.data('RETR mine.txt')).final?.code, 226);
    user.close();
    // A limit above the load lets anonymous download.
    const high = await startServer({ args: ['-m', '100000'] });
    t.after(() => high.close());
    await writeFile(path.join(high.anonRoot, 'pub.txt'), 'public');
    const a2 = (await RawFtp.connect(high.port)).ftp;
    await a2.login('anonymous', 'x@example.org');
    assert.equal((await a2.data('RETR pub.txt')).final?.code, 226);
    a2.close();
  });

  it('-k: uploads refused with 552 when the file system is fuller than allowed', async (t) => {
    const srv = await startServer({ args: ['-k', '1'] });
    t.after(() => srv.close());
    const fs = await statfs(srv.home('joe'));
    if (fs.bavail / fs.blocks >= 0.99) return t.skip('the file system is less than 1% full');
    const { ftp } = await RawFtp.connect(srv.port);
    await ftp.login('joe', 'secret');
    const r = await ftp.data('STOR full.txt', 'data');
    assert.equal(r.first.code, 552);
    assert.equal(r.first.text, '552 Disk full - please upload later');
    ftp.close();
    // -k 100 (and 0) is off.
    const off = await startServer({ args: ['-k', '100'] });
    t.after(() => off.close());
    const f2 = (await RawFtp.connect(off.port)).ftp;
    await f2.login('joe', 'secret');
    assert.equal((await f2.data('STOR ok.txt', 'data')).final?.code, 226);
    f2.close();
  });

  it('-Z: SITE CHMOD keeps the owner rw on files and rwx on directories', async (t) => {
    const srv = await startServer({ args: ['-Z'] });
    t.after(() => srv.close());
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'x');
    const { ftp } = await RawFtp.connect(srv.port);
    await ftp.login('joe', 'secret');
    assert.equal((await ftp.cmd('MKD d')).code, 257);
    assert.equal((await ftp.cmd('SITE CHMOD 000 f.txt')).code, 200);
    assert.equal((await ftp.cmd('SITE CHMOD 044 d')).code, 200);
    assert.equal((await stat(path.join(srv.home('joe'), 'f.txt'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(srv.home('joe'), 'd'))).mode & 0o777, 0o744);
    ftp.close();
  });
});

describe('-F fortunes', () => {
  it('a random cookie of the file replaces the welcome block of the greeting', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-fortune-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'fortunes');
    await writeFile(file, 'First cookie\nsecond line\n%\nOther cookie\n%\n');
    await chmod(file, 0o644);
    const srv = await startServer({ args: ['-F', file] });
    t.after(() => srv.close());
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const { ftp, greeting } = await RawFtp.connect(srv.port);
      ftp.close();
      assert.equal(greeting.code, 220);
      assert.doesNotMatch(greeting.text, /Welcome|user number|disconnected after/);
      seen.add(greeting.text);
    }
    assert.deepEqual([...seen].sort(), ['220-First cookie\n220 second line', '220 Other cookie'].sort());
  });
});
