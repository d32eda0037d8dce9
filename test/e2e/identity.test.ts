/**
 * Started as root, tsftpd performs every file operation with the account's identity (issue: a
 * virtual user of uid 65534 could read root's 0600 files, write in root's directories, chmod root's
 * files and so make a setuid-root binary). Each operation is refused with Pure-FTPd's reply and
 * nothing on disk changes; SITE CHMOD never sets setuid, setgid or sticky bits.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, link, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { RawFtp } from '../helpers/raw.js';
import { TEST_GID, TEST_UID, chownTree, startServer, type TestServer } from '../helpers/server.js';
import { ciSkip } from '../helpers/ci.js';

const run = promisify(execFile);
const ROOT_TEXT = 'root only\n';
const asRoot = process.getuid?.() === 0;
const skip = ciSkip(asRoot ? undefined : 'needs root: the server must be started as root to test identities');

describe('as root, an account acts with its own identity', { skip }, () => {
  let srv: TestServer;
  let home: string;
  let ftp: RawFtp;

  before(async () => {
    srv = await startServer();
    home = srv.home('joe');
    const outside = path.join(srv.dir, 'rootstuff');
    await mkdir(outside, { mode: 0o755 });
    await writeFile(path.join(outside, 'shadowish'), ROOT_TEXT, { mode: 0o600 });
    await chownTree(home, TEST_UID, TEST_GID);
    // Root's things inside the account's home (left by an admin, or brought in by a local user).
    await writeFile(path.join(home, 'rootsecret'), ROOT_TEXT, { mode: 0o600 });
    await link(path.join(outside, 'shadowish'), path.join(home, 'hardlink'));
    await writeFile(path.join(home, 'rootfile'), ROOT_TEXT, { mode: 0o644 });
    await chmod(path.join(home, 'rootfile'), 0o644);
    await mkdir(path.join(home, 'rootdir'), { mode: 0o755 });
    await writeFile(path.join(home, 'rootdir', 'inner'), ROOT_TEXT, { mode: 0o644 });
    await run('install', ['-o', 'root', '-g', 'root', '-m', '0755', '/bin/true', path.join(home, 'rootbin')]);
    ({ ftp } = await RawFtp.connect(srv.port));
    await ftp.login('joe', 'secret');
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
  });

  after(async () => {
    ftp?.close();
    await srv.close();
  });

  it("cannot read root's 0600 file, nor a hard link to one", async () => {
    for (const name of ['rootsecret', 'hardlink']) {
      const r = await ftp.data(`RETR ${name}`);
      assert.equal(r.first.text, `550 Can't open ${name}: Permission denied`);
      assert.equal(r.data.length, 0);
    }
  });

  it("cannot create, delete or rename in root's 0755 directory", async () => {
    assert.equal(
      (await ftp.data('STOR rootdir/new', 'x')).first.text,
      "553 Can't open that file: Permission denied",
    );
    assert.match((await ftp.cmd('MKD rootdir/made')).text, /^550 Can't create directory: Permission denied$/);
    assert.match(
      (await ftp.cmd('DELE rootdir/inner')).text,
      /^550 Could not delete rootdir\/inner: Permission denied$/,
    );
    assert.equal((await ftp.cmd('RNFR rootdir/inner')).code, 350);
    assert.match((await ftp.cmd('RNTO moved')).text, /^451 Rename\/move failure: Permission denied$/);
    assert.equal(await readFile(path.join(home, 'rootdir', 'inner'), 'utf8'), ROOT_TEXT);
  });

  it("cannot change, append to or replace root's files", async () => {
    const before0 = await stat(path.join(home, 'rootfile'));
    assert.match(
      (await ftp.cmd('SITE CHMOD 666 rootfile')).text,
      /^550 Could not change perms on rootfile: Operation not permitted$/,
    );
    assert.match(
      (await ftp.cmd('MFMT 20000101000000 rootfile')).text,
      /^550 utime\(rootfile\): Operation not permitted$/,
    );
    assert.equal(
      (await ftp.data('APPE rootfile', 'more')).first.text,
      "553 Can't open that file: Permission denied",
    );
    assert.equal(
      (await ftp.data('STOR rootfile', 'replaced')).first.text,
      "553 Can't open that file: Permission denied",
    );
    const after0 = await stat(path.join(home, 'rootfile'));
    assert.equal(await readFile(path.join(home, 'rootfile'), 'utf8'), ROOT_TEXT);
    assert.deepEqual([after0.uid, after0.mode, after0.mtimeMs], [0, before0.mode, before0.mtimeMs]);
  });

  it('cannot make a setuid-root binary', async () => {
    assert.equal((await ftp.cmd('SITE CHMOD 4755 rootbin')).code, 550);
    const id = await readFile('/usr/bin/id');
    assert.notEqual((await ftp.data('STOR rootbin', id)).final?.code, 226);
    const st = await stat(path.join(home, 'rootbin'));
    assert.deepEqual([st.uid, st.mode & 0o7777], [0, 0o755]);
    assert.ok((await readFile(path.join(home, 'rootbin'))).equals(await readFile('/bin/true')));
  });

  it('SITE CHMOD never sets setuid, setgid or sticky bits, even on its own files', async () => {
    assert.equal((await ftp.data('STOR mybin', 'x')).final?.code, 226);
    assert.equal((await ftp.cmd('SITE CHMOD 6755 mybin')).text, '200 Permissions changed on mybin');
    const st = await stat(path.join(home, 'mybin'));
    assert.deepEqual([st.uid, st.mode & 0o7777], [TEST_UID, 0o755]);
    assert.equal((await ftp.cmd('MKD sticky')).code, 257);
    assert.equal((await ftp.cmd('SITE CHMOD 1777 sticky')).code, 200);
    assert.equal((await stat(path.join(home, 'sticky'))).mode & 0o7777, 0o777);
  });

  it("files and directories it creates are the account's", async () => {
    assert.equal((await ftp.data('STOR owned', 'x')).final?.code, 226);
    assert.equal((await ftp.cmd('MKD owneddir')).code, 257);
    for (const name of ['owned', 'owneddir']) {
      const st = await stat(path.join(home, name));
      assert.deepEqual([st.uid, st.gid], [TEST_UID, TEST_GID], name);
    }
  });
});
