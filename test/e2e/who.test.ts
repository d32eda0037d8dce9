/**
 * `tsftpd who` (pure-ftpwho) against a running server: the sessions of every worker, before and
 * after login, a download in progress whose byte count moves, in every output mode; the socket is
 * private to the server's user; `--kill ID` ends a session with a 421.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';
import { findTool, ftpUrl, runTool, toolSkip, type ToolResult } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';
import type { WhoEntry } from '../../src/telemetry/who.js';

const isRoot = process.geteuid?.() === 0;

/** Runs `tsftpd who ARGS`. */
function who(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ToolResult> {
  return runTool(process.execPath, [MAIN, 'who', ...args], { env });
}

/** `tsftpd who --json` sessions. */
async function sessions(socket: string): Promise<WhoEntry[]> {
  const r = await who(['--json', '--socket', socket]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { sessions: WhoEntry[] }).sessions;
}

/** Polls `--json` until `ok` holds (at most 10 s); returns the last list. */
async function until(socket: string, ok: (s: WhoEntry[]) => boolean): Promise<WhoEntry[]> {
  let last: WhoEntry[] = [];
  for (let i = 0; i < 50; i++) {
    last = await sessions(socket);
    if (ok(last)) return last;
    await sleep(200);
  }
  assert.fail(`condition not met; last list: ${JSON.stringify(last)}`);
}

describe('tsftpd who', { skip: toolSkip('curl') }, () => {
  let files: TestServer;
  let dir: string;
  const BIG = 128 * 1024 * 1024;
  before(async () => {
    files = await startServer();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-who-'));
    await writeFile(path.join(files.home('joe'), 'big|file.bin'), Buffer.alloc(BIG, 7));
  });
  after(async () => {
    await files.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the sessions of every worker, a download in progress moves; every output mode', async () => {
    const port = await freePort();
    const socket = path.join(dir, `who-${port}.sock`);
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--who-socket',
      socket,
    ]);
    const clients: RawFtp[] = [];
    let download: ChildProcess | undefined;
    try {
      clients.push(await connectWhenUp(port));
      for (let i = 0; i < 3; i++) clients.push((await RawFtp.connect(port)).ftp);
      assert.equal((await clients[1].login('joe', 'secret')).code, 230);
      // A download slow enough to watch: curl reads 2 MiB per second.
      download = spawn(
        findTool('curl')!,
        ['-s', '-o', '/dev/null', '--limit-rate', '2m', '-u', 'joe:secret', ftpUrl(port, '/big%7Cfile.bin')],
        { stdio: 'ignore' },
      );
      const list = await until(socket, (l) => l.some((e) => e.state === 'DL' && e.current > 0));
      assert.equal(list.length, 5, JSON.stringify(list));
      assert.equal(new Set(list.map((e) => e.pid)).size, 2, 'sessions of both workers');
      assert.ok(list.every((e) => e.pid !== srv.child.pid));
      const dl = list.find((e) => e.state === 'DL')!;
      assert.equal(dl.account, 'joe');
      assert.equal(dl.file, '/big|file.bin');
      assert.equal(dl.total, BIG);
      assert.equal(dl.remoteIp, '127.0.0.1');
      assert.equal(dl.localPort, port);
      assert.equal(list.filter((e) => e.account === '?').length, 3);
      assert.equal(list.filter((e) => e.account === 'joe' && e.state === 'IDLE').length, 1);
      // The count is what the kernel took (sendfile): it moves in steps as curl's socket buffers drain.
      const later = (
        await until(socket, (l) => l.some((e) => e.id === dl.id && e.current > dl.current))
      ).find((e) => e.id === dl.id)!;
      assert.ok(later.current > dl.current, `progress moves: ${dl.current} then ${later.current}`);

      // -s: pid|account|seconds|state|file|host|local host|local port|KB|total KB|percent|KB/s
      const shell = await who(['-s', '-n', '--socket', socket]);
      assert.equal(shell.code, 0, shell.stderr);
      const rows = shell.stdout.trim().split('\n');
      assert.equal(rows.length, 5, shell.stdout);
      const dlRow = rows.find((r) => r.includes('| DL |') || r.split(/(?<!\\)\|/)[3] === ' DL ')!;
      assert.ok(dlRow, shell.stdout);
      const f = dlRow.split(/(?<!\\)\|/);
      assert.equal(f[0], String(dl.id));
      assert.equal(f[1], 'joe');
      assert.equal(f[4], '/big\\|file.bin');
      assert.equal(f[5], '127.0.0.1');
      assert.equal(f[6], '127.0.0.1');
      assert.equal(f[7], String(port));
      assert.equal(f[9], String(BIG / 1024));
      assert.match(f[10], /^\d+$/);

      const text = await who(['--socket', socket]);
      assert.equal(text.code, 0, text.stderr);
      assert.ok(text.stdout.includes('| PID  |  Login  |For/Spd| What |'), text.stdout);
      assert.match(text.stdout, /\| joe {5}\|/);
      assert.match(text.stdout, / DL /);
      assert.match(text.stdout, /-> +localhost \|/, 'addresses resolved without -n');
      const verbose = await who(['-v', '-n', '--socket', socket]);
      assert.match(verbose.stdout, new RegExp(`Total size: *${BIG / 1024} Transferred: *\\d+`));
      assert.match(verbose.stdout, new RegExp(`<- +127\\.0\\.0\\.1:${port}`));

      const xml = await who(['-x', '-n', '--socket', socket]);
      assert.match(xml.stdout, /^<\?xml version="1\.0" encoding="ISO-8859-15"\?>\n<status>\n/);
      assert.equal(xml.stdout.match(/<client /g)?.length, 5);
      assert.match(
        xml.stdout,
        new RegExp(`<client pid="${dl.id}" account="joe" time="\\d+" state=" DL " file="/big\\|file\\.bin"`),
      );
      assert.match(xml.stdout, new RegExp(`total_size="${BIG}"`));
      assert.match(xml.stdout, /<\/status>\n$/);

      const plist = await who(['-p', '-n', '--socket', socket]);
      assert.match(plist.stdout, /<key>user-info<\/key>/);
      assert.equal(plist.stdout.match(/<key>pid<\/key>/g)?.length, 5);

      const page = await who(['-w', '-n', '--socket', socket]);
      assert.match(page.stdout, /<title>Pure-FTPd server status<\/title>|<title>[^<]*status[^<]*<\/title>/);
      assert.match(page.stdout, /\/big\|file\.bin/);
      const table = await who(['-W', '-n', '--socket', socket]);
      assert.doesNotMatch(table.stdout, /<html/);
      assert.match(table.stdout, /<table/);
      const cgi = await who(['-n', '--socket', socket], { ...process.env, GATEWAY_INTERFACE: 'CGI/1.1' });
      assert.match(cgi.stdout, /^Content-Type: text\/html[^\n]*\r?\n\r?\n/);
      assert.match(cgi.stdout, /<html/);
      const c = await who(['-c', '-n', '--socket', socket]);
      assert.match(c.stdout, /^Content-Type: text\/html/);

      // Sessions that end leave the list.
      download.kill('SIGKILL');
      clients[3].close();
      await until(socket, (l) => l.length === 3 && !l.some((e) => e.state === 'DL'));

      // The socket is the server's alone.
      const st = await stat(socket);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(st.uid, process.geteuid?.());
    } finally {
      download?.kill('SIGKILL');
      for (const cl of clients) cl.close();
      await killChild(srv.child);
    }
  });

  it('--kill ID ends that session with a 421; an unknown ID is an error', async () => {
    const port = await freePort();
    const socket = path.join(dir, `kill-${port}.sock`);
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--who-socket',
      socket,
    ]);
    const clients: RawFtp[] = [];
    try {
      clients.push(await connectWhenUp(port));
      clients.push((await RawFtp.connect(port)).ftp);
      assert.equal((await clients[0].login('joe', 'secret')).code, 230);
      const list = await until(socket, (l) => l.some((e) => e.account === 'joe'));
      const joe = list.find((e) => e.account === 'joe')!;
      const r = await who(['--kill', String(joe.id), '--socket', socket]);
      assert.equal(r.code, 0, r.stderr);
      const reply = await clients[0].read();
      assert.equal(reply.code, 421);
      await clients[0].waitClosed();
      const left = await until(socket, (l) => l.length === 1);
      assert.equal(left[0].account, '?');
      // The other session was not touched.
      assert.equal((await clients[1].cmd('NOOP')).code, 200);
      const none = await who(['--kill', '999999', '--socket', socket]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /no session 999999/);
      const bad = await who(['--kill', 'joe', '--socket', socket]);
      assert.equal(bad.code, 1);
    } finally {
      for (const cl of clients) cl.close();
      await killChild(srv.child);
    }
  });

  it('the default socket: one per server in its own directory, found without --socket; stale ones removed', async () => {
    const port = await freePort();
    const srv = spawnServer(port, ['--passwd-file', path.join(files.dir, 'pureftpd.passwd')]);
    const clients: RawFtp[] = [];
    try {
      clients.push(await connectWhenUp(port));
      assert.equal((await clients[0].login('joe', 'secret')).code, 230);
      // Other test servers may run beside this one: pick ours by its port.
      let row: string | undefined;
      for (let i = 0; i < 50 && row === undefined; i++) {
        const r = await who(['-s', '-n']);
        assert.equal(r.code, 0, r.stderr);
        row = r.stdout.split('\n').find((l) => l.split('|')[7] === String(port) && l.split('|')[1] === 'joe');
        if (row === undefined) await sleep(200);
      }
      assert.ok(row, 'our session is listed');
      const dirOf = isRoot ? '/var/run/tsftpd' : undefined;
      if (dirOf !== undefined) {
        const st = await stat(dirOf);
        assert.equal(st.mode & 0o777, 0o700);
        const sock = await stat(path.join(dirOf, `who-${srv.child.pid}.sock`));
        assert.equal(sock.mode & 0o777, 0o600);
      }
    } finally {
      for (const cl of clients) cl.close();
      await killChild(srv.child);
    }
  });

  it(
    'another user cannot read the session list',
    { skip: isRoot ? false : 'needs root (runs as nobody)' },
    async () => {
      const port = await freePort();
      const socket = path.join(dir, `perm-${port}.sock`);
      const srv = spawnServer(port, [
        '--passwd-file',
        path.join(files.dir, 'pureftpd.passwd'),
        '--who-socket',
        socket,
      ]);
      try {
        (await connectWhenUp(port)).close();
        const r = await runTool('setpriv', [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          MAIN,
          'who',
          '--socket',
          socket,
        ]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /permission denied/);
        const k = await runTool('setpriv', [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          MAIN,
          'who',
          '--kill',
          '1',
          '--socket',
          socket,
        ]);
        assert.equal(k.code, 1);
        assert.match(k.stderr, /only root/);
      } finally {
        await killChild(srv.child);
      }
    },
  );
});
