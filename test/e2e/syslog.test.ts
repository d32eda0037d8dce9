/**
 * Syslog output (-f, -1, --syslog-socket; upstream §9.1): a real server process sends RFC 3164 records
 * with Pure-FTPd's message bodies to a UNIX datagram socket; a small python3 listener collects them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawFtp } from '../helpers/raw.js';
import { pythonPath } from '../helpers/clients.js';
import { sha512Hash, TEST_GID, TEST_UID } from '../helpers/server.js';
import { ciSkip } from '../helpers/ci.js';
import { addonUnavailable } from '../helpers/native.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** Collects the stdout lines of a child until `done(lines)` is true or the time runs out. */
function linesUntil(child: ChildProcess, done: (lines: string[]) => boolean, ms: number): Promise<string[]> {
  return new Promise((resolve) => {
    const lines: string[] = [];
    let rest = '';
    const finish = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve(lines);
    };
    const onData = (d: Buffer): void => {
      rest += d.toString('utf8');
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
      if (done(lines)) finish();
    };
    const timer = setTimeout(finish, ms);
    child.stdout?.on('data', onData);
  });
}

describe('syslog (-f)', { skip: ciSkip(addonUnavailable('tsftpd_syslog')) }, () => {
  it('sends RFC 3164 records with the facility, the PID (-1) and Pure-FTPd bodies; passwords never', async () => {
    const python = pythonPath();
    assert.ok(python !== undefined, 'python3 is needed for the datagram listener');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-syslog-'));
    const sock = path.join(dir, 'log.sock');
    const children: ChildProcess[] = [];
    try {
      await mkdir(path.join(dir, 'home', 'joe'), { recursive: true });
      await mkdir(path.join(dir, 'anon'));
      const passwd = path.join(dir, 'pureftpd.passwd');
      const hash = await sha512Hash('s3cret-pass');
      await writeFile(passwd, `joe:${hash}:${TEST_UID}:${TEST_GID}::${path.join(dir, 'home', 'joe')}/./:\n`);
      const listener = spawn(
        python,
        [
          '-u',
          '-c',
          'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\n' +
            'print("ready",flush=True)\nwhile True:\n  print(s.recv(4096).decode("utf8","replace"),flush=True)',
          sock,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(listener);
      await linesUntil(listener, (l) => l.includes('ready'), 10_000);
      const server = spawn(
        process.execPath,
        [
          MAIN,
          '-S',
          '127.0.0.1,0',
          '-p',
          '20000:29999',
          '--passwd-file',
          passwd,
          '--auth-delay',
          '5',
          '--anonymous-root',
          path.join(dir, 'anon'),
          '-f',
          'local3',
          '-1',
          '--syslog-socket',
          sock,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(server);
      const started = await linesUntil(server, (l) => l.some((x) => x.includes('serving FTP')), 15_000);
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(started.join('\n'))?.[1]);
      assert.ok(port > 0, `no port in ${started.join('|')}`);
      const records = linesUntil(
        listener,
        (l) =>
          l.some((x) => x.includes('is now logged in')) && l.some((x) => x.includes('Authentication failed')),
        10_000,
      );
      const { ftp } = await RawFtp.connect(port);
      await ftp.cmd('USER joe');
      assert.equal((await ftp.cmd('PASS wrong-pass')).code, 530);
      await ftp.cmd('USER joe');
      assert.equal((await ftp.cmd('PASS s3cret-pass')).code, 230);
      await ftp.cmd('QUIT');
      ftp.close();
      const got = await records;
      // local3 = 19; INFO = 6 → <158>; WARNING = 4 → <156>.
      const login = got.find((x) => x.includes('joe is now logged in'));
      const m = new RegExp(
        `^<158>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d tsftpd\\[(\\d+)\\]: \\(joe@127\\.0\\.0\\.1\\) \\[INFO\\] joe is now logged in$`,
      ).exec(login ?? '');
      assert.ok(m !== null, `no login record in ${got.join('|')}`);
      // The PID is the process that served the session: the server, or one of its session workers
      // (as Pure-FTPd logs the PID of each session's process).
      const pid = Number(m[1]);
      const parent = (p: number): number =>
        Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]);
      assert.ok(pid === server.pid || parent(pid) === server.pid, `pid ${pid} is not the server's`);
      const failed = got.find((x) => x.includes('Authentication failed'));
      assert.match(
        failed ?? '',
        /^<156>.* \(\?@127\.0\.0\.1\) \[WARNING\] Authentication failed for user \[joe\]/,
      );
      assert.ok(
        !got.some((x) => x.includes('s3cret-pass') || x.includes('wrong-pass')),
        'a password reached syslog',
      );
    } finally {
      for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
