/**
 * Process titles (issue 12 §7): `ps` shows what each tsftpd process does — a session worker how many
 * sessions it serves and what they do, a one-session (inetd) process its account, peer, state and
 * file, as Pure-FTPd's `[IDLE]` / `[DOWNLOAD] file` titles.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';
import { putFile, startServer, type TestServer } from '../helpers/server.js';

/** Command lines (titles) of the children of `pid`. */
async function childTitles(pid: number): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Field 4 (ppid) comes after the command name in parentheses, which may hold spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== pid) continue;
    out.push((await readFile(`/proc/${name}/cmdline`, 'latin1').catch(() => '')).replace(/\0+$/, ''));
  }
  return out;
}

/** The title of `pid` itself. */
async function titleOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '')).replace(/\0+$/, '');
}

/** Polls `get` until `test` accepts what it returns (at most 10 s); returns the last value. */
async function until<T>(get: () => Promise<T>, test: (v: T) => boolean): Promise<T> {
  let v = await get();
  for (let i = 0; i < 100 && !test(v); i++) {
    await sleep(100);
    v = await get();
  }
  return v;
}

describe('process titles', () => {
  let files: TestServer;
  const body = Buffer.alloc(400 * 1024, 7);
  before(async () => {
    // Only its files are used: the passwd file and joe's home.
    files = await startServer();
    await putFile(path.join(files.home('joe'), 'slow.bin'), body);
  });
  after(async () => {
    await files.close();
  });

  it('a session worker shows its sessions and what they do', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const passwd = path.join(files.dir, 'pureftpd.passwd');
    // -T 100: 100 KB/s for accounts, so the 400 KiB download lasts about 4 s.
    const srv = spawnServer(port, ['--workers', '2', '--passwd-file', passwd, '-T', '100']);
    let a: RawFtp | undefined;
    let b: RawFtp | undefined;
    try {
      a = await connectWhenUp(port);
      const pid = srv.child.pid!;
      const idle = await until(
        () => childTitles(pid),
        (t) => t.some((x) => x.includes('[1 session]')),
      );
      assert.ok(
        idle.some((t) => /^tsftpd: worker [12] \[1 session\]$/.test(t)),
        idle.join(' | '),
      );
      await a.login('joe', 'secret');
      const data = await a.epsv();
      a.send('RETR slow.bin');
      assert.equal((await a.read()).code, 150);
      const busy = await until(
        () => childTitles(pid),
        (t) => t.some((x) => x.includes('1 DOWNLOAD')),
      );
      assert.ok(
        busy.some((t) => /^tsftpd: worker [12] \[1 session: 1 DOWNLOAD\]$/.test(t)),
        busy.join(' | '),
      );
      // A second session goes to the other worker (fewest sessions), idle.
      const second = (await RawFtp.connect(port)).ftp;
      b = second;
      const both = await until(
        () => childTitles(pid),
        (t) =>
          t.filter((x) => x.startsWith('tsftpd: worker')).length === 2 &&
          t.some((x) => x.endsWith('[1 session]')),
      );
      assert.ok(
        both.some((t) => t.endsWith('[1 session]')),
        both.join(' | '),
      );
      data.destroy();
      await a.read(15_000).catch(() => undefined);
      a.close();
      second.close();
      const after = await until(
        () => childTitles(pid),
        (t) => t.filter((x) => x.endsWith('[0 sessions]')).length === 2,
      );
      assert.equal(after.filter((x) => x.endsWith('[0 sessions]')).length, 2, after.join(' | '));
    } finally {
      a?.close();
      b?.close();
      await killChild(srv.child);
    }
  });

  it('an inetd session shows its account, peer, state and file', { timeout: 60_000 }, async () => {
    const passwd = path.join(files.dir, 'pureftpd.passwd');
    let pid: number | undefined;
    let exited: Promise<unknown> | undefined;
    const inetd = net.createServer({ pauseOnConnect: true }, (conn) => {
      const child = spawn(
        process.execPath,
        [MAIN, '-p', '30000:39999', '--passwd-file', passwd, '-T', '100'],
        {
          stdio: [conn, conn, conn],
        },
      );
      pid = child.pid;
      exited = new Promise((resolve) => child.once('exit', resolve));
      conn.destroy(); // the child has its own copy
    });
    await new Promise<void>((resolve) => inetd.listen(0, '127.0.0.1', resolve));
    const port = (inetd.address() as net.AddressInfo).port;
    let c: RawFtp | undefined;
    try {
      c = (await RawFtp.connect(port)).ftp;
      await c.login('joe', 'secret');
      const self = pid!;
      const idle = await until(
        () => titleOf(self),
        (t) => t.endsWith('[IDLE]'),
      );
      assert.equal(idle, 'tsftpd: joe@127.0.0.1 [IDLE]');
      const data = await c.epsv();
      c.send('RETR slow.bin');
      assert.equal((await c.read()).code, 150);
      const busy = await until(
        () => titleOf(self),
        (t) => t.includes('[DOWNLOAD]'),
      );
      assert.equal(busy, 'tsftpd: joe@127.0.0.1 [DOWNLOAD] /slow.bin');
      data.destroy();
      await c.read(15_000).catch(() => undefined);
      c.send('QUIT');
      await c.waitClosed().catch(() => undefined);
      await exited;
    } finally {
      c?.close();
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone with its session
        }
      }
      await new Promise<void>((resolve) => inetd.close(() => resolve()));
    }
  });
});
