/**
 * Temp files of a server that was killed mid-upload (issue: after kill -9 the `.pureftpd-upload.*`
 * file stayed, and DELE of it was refused with 553). A server process is killed with SIGKILL while
 * an atomic (-0) upload runs; the owner can then delete the stale temp file, while the temp file of
 * an upload in progress still cannot be touched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RawFtp } from '../helpers/raw.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';

async function temps(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.pureftpd-upload.'));
}

describe('stale upload temp files', () => {
  let srv: TestServer;
  let child: ChildProcess | undefined;

  before(async () => {
    srv = await startServer({ args: ['-0'] });
  });
  after(async () => {
    await killChild(child);
    await srv.close();
  });

  it('a temp file left by kill -9 can be deleted by its owner; a live one cannot', async () => {
    const port = await freePort();
    const passwd = path.join(srv.dir, 'pureftpd.passwd');
    ({ child } = spawnServer(port, ['-0', '-E', '--passwd-file', passwd]));
    const ftp = await connectWhenUp(port);
    try {
      await ftp.login('joe', 'secret');
      await ftp.cmd('TYPE I');
      const data = await ftp.epsv();
      ftp.send('STOR big.bin');
      assert.equal((await ftp.read()).code, 150);
      data.write(Buffer.alloc(64 * 1024, 1));
      const home = srv.home('joe');
      for (let i = 0; i < 100 && (await temps(home)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal((await temps(home)).length, 1, 'the upload writes a temp file');
      await killChild(child);
      data.destroy();
    } finally {
      ftp.close();
    }
    const [stale] = await temps(srv.home('joe'));
    const { ftp: owner } = await RawFtp.connect(srv.port);
    try {
      await owner.login('joe', 'secret');
      const list = await owner.data('NLST -a');
      assert.ok(list.data.toString().includes(stale), 'the stale file is listed');
      // A live temp file of this server stays untouchable while its upload runs.
      const live = await owner.epsv();
      owner.send('STOR other.bin');
      assert.equal((await owner.read()).code, 150);
      live.write('partial');
      let fresh: string | undefined;
      for (let i = 0; i < 100 && fresh === undefined; i++) {
        fresh = (await temps(srv.home('joe'))).find((n) => n !== stale);
        if (fresh === undefined) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(fresh !== undefined);
      const { ftp: other } = await RawFtp.connect(srv.port);
      try {
        await other.login('joe', 'secret');
        assert.match(
          (await other.cmd(`DELE ${fresh}`)).text,
          /^550 Could not delete /,
          'a live temp file cannot be deleted',
        );
        assert.equal((await other.cmd(`DELE ${stale}`)).text, `250 Deleted ${stale}`);
        assert.equal(
          (await other.cmd(`STOR ${stale}`)).code,
          553,
          'the reserved name still cannot be written',
        );
      } finally {
        other.close();
      }
      await new Promise<void>((resolve) => live.end(resolve));
      assert.equal((await owner.read()).code, 226);
    } finally {
      owner.close();
    }
    assert.deepEqual(await temps(srv.home('joe')), []);
  });
});
