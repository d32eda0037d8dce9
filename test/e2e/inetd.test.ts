/**
 * inetd mode (upstream §1.1): a small Node "inetd" accepts a TCP connection and starts tsftpd with it
 * as standard input (and output and error, as inetd does); tsftpd serves that one session — login,
 * passive upload and download, listing — and exits when it ends, without ever listening itself.
 * Started as root, the process becomes the account after login, as Pure-FTPd's session does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { MAIN } from '../helpers/child-server.js';
import { runTool, toolSkip } from '../helpers/clients.js';
import { TEST_UID, startServer, type TestServer } from '../helpers/server.js';

/** One inetd-style service: each connection starts `tsftpd args` with the socket as fds 0, 1 and 2. */
async function inetd(
  args: string[],
): Promise<{ port: number; exits: Promise<number | null>[]; uids: number[]; close(): Promise<void> }> {
  const exits: Promise<number | null>[] = [];
  const uids: number[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (conn) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: [conn, conn, conn] });
    // Watch the process's uid while the session runs (it changes after login when root).
    const watch = setInterval(() => {
      readFile(`/proc/${child.pid}/status`, 'utf8').then(
        (s) => {
          const m = /^Uid:\s+(\d+)/m.exec(s);
          if (m !== null && !uids.includes(Number(m[1]))) uids.push(Number(m[1]));
        },
        () => undefined,
      );
    }, 20);
    exits.push(
      new Promise((resolve) =>
        child.once('exit', (code) => {
          clearInterval(watch);
          resolve(code);
        }),
      ),
    );
    conn.destroy(); // the child has its own copy of the descriptor
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    exits,
    uids,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('inetd mode', { skip: toolSkip('python3') }, () => {
  let files: TestServer;
  before(async () => {
    // Only its files are used: the passwd file, the home and the anonymous root.
    files = await startServer();
  });
  after(async () => {
    await files.close();
  });

  it('serves the one session on standard input, then exits', async () => {
    const service = await inetd([
      '-p',
      '30000:39999',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--anonymous-root',
      files.anonRoot,
    ]);
    try {
      const script = `
import ftplib, io, sys
f = ftplib.FTP()
f.connect('127.0.0.1', ${service.port}, timeout=10)
print(f.getwelcome().splitlines()[0])
f.login('joe', 'secret')
f.storbinary('STOR via-inetd.txt', io.BytesIO(b'through inetd'))
out = []
f.retrbinary('RETR via-inetd.txt', out.append)
print(b''.join(out).decode())
print(sorted(f.nlst()))
print(f.pwd())
f.quit()
`;
      const r = await runTool('python3', ['-c', script], { timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0], /^220-/);
      assert.equal(lines[1], 'through inetd');
      assert.equal(lines[2], "['via-inetd.txt']");
      assert.equal(lines[3], '/');
      assert.equal(await readFile(path.join(files.home('joe'), 'via-inetd.txt'), 'utf8'), 'through inetd');
      assert.deepEqual(await Promise.all(service.exits), [0], 'one process, gone with its session');
      if (process.getuid?.() === 0) {
        assert.ok(
          service.uids.includes(TEST_UID),
          `the session became the account: uids seen ${service.uids}`,
        );
      }
    } finally {
      await service.close();
    }
  });

  it('a start that cannot work tells the client 421 and exits non-zero', async () => {
    const service = await inetd(['--bogus-switch']);
    try {
      const got = await new Promise<string>((resolve) => {
        const c = net.connect(service.port, '127.0.0.1');
        let text = '';
        c.on('data', (d) => (text += d.toString()));
        c.on('close', () => resolve(text));
        c.on('error', () => resolve(text));
      });
      assert.match(got, /^421 Service not available/);
      assert.deepEqual(await Promise.all(service.exits), [1]);
    } finally {
      await service.close();
    }
  });
});
