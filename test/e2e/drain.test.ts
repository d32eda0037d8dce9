/**
 * SIGTERM drains (issue 12 §8): the server stops listening at once, an idle session is told
 * `421 Server shutting down`, and a download in progress finishes whole (226) within the grace
 * period before the process exits 0 — in one process and with session workers alike.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp, readAll } from '../helpers/raw.js';
import { putFile, startServer, type TestServer } from '../helpers/server.js';

/** True when nothing accepts connections on the port any more. */
async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('SIGTERM drains', () => {
  let files: TestServer;
  // 300 KiB at -T 100 (100 KB/s for accounts): about 3 s.
  const body = Buffer.alloc(300 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  before(async () => {
    files = await startServer();
    await putFile(path.join(files.home('joe'), 'drain.bin'), body);
  });
  after(async () => {
    await files.close();
  });

  for (const workers of ['1', '2']) {
    it(
      `--workers ${workers}: a download in progress completes, idle sessions get 421, exit 0`,
      { timeout: 60_000 },
      async () => {
        const port = await freePort();
        const passwd = path.join(files.dir, 'pureftpd.passwd');
        const srv = spawnServer(port, ['--workers', workers, '--passwd-file', passwd, '-T', '100']);
        let busy: RawFtp | undefined;
        let idle: RawFtp | undefined;
        try {
          busy = await connectWhenUp(port);
          idle = (await RawFtp.connect(port)).ftp;
          await busy.login('joe', 'secret');
          await idle.login('joe', 'secret');
          assert.equal((await busy.cmd('TYPE I')).code, 200);
          const data = await busy.epsv();
          const received = readAll(data);
          busy.send('RETR drain.bin');
          assert.equal((await busy.read()).code, 150);
          await sleep(500);
          const exited = new Promise<number | null>((resolve) =>
            srv.child.once('exit', (code) => resolve(code)),
          );
          const t0 = Date.now();
          process.kill(srv.child.pid!, 'SIGTERM');
          // The idle session is told at once; the listener is gone.
          const told = await idle.read(3000);
          assert.equal(told.code, 421, told.text);
          assert.match(told.text, /shutting down/);
          let gone = false;
          for (let i = 0; i < 30 && !gone; i++) {
            gone = await refused(port);
            if (!gone) await sleep(100);
          }
          assert.ok(gone, 'the listener closed');
          // The download finishes whole, then its session is closed too.
          const bytes = await received;
          assert.ok(bytes.equals(body), `got ${bytes.length} of ${body.length} bytes`);
          const done = await busy.read(10_000);
          assert.equal(done.code, 226, done.text);
          assert.equal(await exited, 0);
          assert.ok(Date.now() - t0 < 8000, 'stopped within the grace period');
          assert.match(srv.output(), /SIGTERM received, shutting down/);
        } finally {
          busy?.close();
          idle?.close();
          await killChild(srv.child);
        }
      },
    );
  }
});
