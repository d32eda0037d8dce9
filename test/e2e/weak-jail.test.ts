/**
 * Kernels without openat2 (Linux < 5.6), simulated with TSFTPD_TEST_NO_OPENAT2=1 (read by the
 * addon at load): the server says so at start and refuses logins of accounts confined to a home;
 * with --weak-jail it confines them by its userland walk, which still refuses symlinks and `..`
 * out of the root and follows symlinks inside it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TEST_GID, TEST_UID, chownTree, startServer, type TestServer } from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';

describe('a kernel without openat2', () => {
  let srv: TestServer;
  const children: ChildProcess[] = [];
  let outside: string;

  before(async () => {
    // Only its files are used: the children serve the same passwd file and homes.
    srv = await startServer({ anonymous: false });
    const home = srv.home('joe');
    outside = path.join(srv.dir, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret.txt'), 'outside\n');
    await mkdir(path.join(home, 'sub'));
    await writeFile(path.join(home, 'sub', 'in.txt'), 'inside\n');
    await symlink('sub', path.join(home, 'inlink'));
    await symlink(outside, path.join(home, 'outlink'));
    await symlink('../..', path.join(home, 'up'));
    await symlink('/etc', path.join(home, 'etclink'));
    await chownTree(home, TEST_UID, TEST_GID);
  });
  after(async () => {
    for (const c of children) await killChild(c);
    await srv.close();
  });

  async function child(args: string[]): Promise<{ port: number; output: () => string }> {
    const port = await freePort();
    const env = { ...process.env, TSFTPD_TEST_NO_OPENAT2: '1' };
    const started = spawnServer(
      port,
      ['-E', '--passwd-file', path.join(srv.dir, 'pureftpd.passwd'), ...args],
      env,
    );
    children.push(started.child);
    (await connectWhenUp(port)).close();
    return { port, output: started.output };
  }

  it('refuses confined accounts and says so at start', async () => {
    const { port, output } = await child([]);
    const { ftp } = await RawFtp.connect(port);
    try {
      assert.equal((await ftp.cmd('USER joe')).code, 331);
      assert.equal((await ftp.cmd('PASS secret')).text, '421 Home directory not available - aborting');
    } finally {
      ftp.close();
    }
    assert.match(output(), /no openat2 .*--weak-jail/);
  });

  it('--weak-jail confines them by the userland walk', async () => {
    const { port, output } = await child(['--weak-jail']);
    const ftp = await connectWhenUp(port);
    try {
      await ftp.login('joe', 'secret');
      assert.equal((await ftp.cmd('SIZE inlink/in.txt')).text, '213 7');
      for (const p of [
        'outlink/secret.txt',
        'up/outside/secret.txt',
        'etclink/passwd',
        'inlink/../../outside/secret.txt',
      ]) {
        assert.equal((await ftp.cmd(`SIZE ${p}`)).code, 550, p);
        assert.equal((await ftp.data(`RETR ${p}`)).first.code, 550, p);
      }
      assert.equal((await ftp.data('STOR outlink/new.txt', 'x')).first.code, 550);
      assert.equal((await ftp.cmd('MKD up/made')).code, 550);
      assert.equal((await ftp.data('STOR sub/new.txt', 'made')).final?.code, 226);
      assert.equal((await ftp.data('RETR inlink/new.txt')).data.toString(), 'made');
    } finally {
      ftp.close();
    }
    assert.match(output(), /userland path walk \(--weak-jail\)/);
  });
});
