/**
 * Virtual hosts by local address (issue 14, upstream §6.1): an anonymous session on 127.0.0.2, whose
 * directory exists under --vhost-dir (a symlink, as Debian's layout has them), gets that root, its
 * `.banner` and Pure-FTPd's log line, and its transfers are logged as `127.0.0.2:/path`; on
 * 127.0.0.3, which has no directory, anonymous gets the default root. Accounts are unaffected.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, freePort, killChild } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';
import { curl, ftpUrl, toolSkip } from '../helpers/clients.js';
import { vhostFilePath } from '../../src/policy/vhosts.js';

/** Connects to host:port once it listens (at most 10 s). */
async function whenUp(port: number, host: string): Promise<RawFtp> {
  for (let i = 0; i < 100; i++) {
    try {
      return (await RawFtp.connect(port, host)).ftp;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`no server on ${host}:${port}`);
}

describe('virtual hosts by local address', { skip: toolSkip('curl') }, () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-vhost-'));
    await chmod(dir, 0o755);
    await mkdir(path.join(dir, 'anon'));
    await writeFile(path.join(dir, 'anon', 'default.txt'), 'default root\n');
    await mkdir(path.join(dir, 'site2'));
    await writeFile(path.join(dir, 'site2', 'hello.txt'), 'hello from site 2\n');
    await writeFile(path.join(dir, 'site2', '.banner'), 'Welcome to site two\n');
    await mkdir(path.join(dir, 'vhosts'));
    await symlink(path.join(dir, 'site2'), path.join(dir, 'vhosts', '127.0.0.2'));
    await mkdir(path.join(dir, 'vhosts', 'files.example.org'));
    await writeFile(path.join(dir, 'vhosts', 'files.example.org', 'named.txt'), 'by name\n');
  });
  after(async () => {
    for (const c of children) await killChild(c);
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts tsftpd on host:port with the test's directories; returns its output. */
  function start(host: string, port: number, extra: string[] = []): () => string {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '-S',
        `${host},${port}`,
        '-p',
        '30000:39999',
        '--anonymous-root',
        path.join(dir, 'anon'),
        '--vhost-dir',
        path.join(dir, 'vhosts'),
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    return () => text;
  }

  it('127.0.0.2 gets its own root, banner, log line and logged paths; 127.0.0.3 the default', async () => {
    const port = await freePort();
    const stats = path.join(dir, `stats-${port}.log`);
    const output = start('127.0.0.2', port, ['--workers', '2', '-O', `stats:${stats}`]);
    const ftp = await whenUp(port, '127.0.0.2');
    const login = await ftp.login('anonymous', 'x@example.com');
    assert.equal(login.code, 230);
    assert.match(login.text, /Welcome to site two/);
    assert.equal((await ftp.cmd('SIZE hello.txt')).code, 213);
    assert.equal((await ftp.cmd('SIZE default.txt')).code, 550);
    ftp.close();
    const got = await curl(ftpUrl(port, '/hello.txt', '127.0.0.2'));
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, 'hello from site 2\n');
    let log = '';
    for (let i = 0; i < 50 && !log.includes('hello.txt'); i++) {
      await sleep(100);
      log = await readFile(stats, 'utf8').catch(() => '');
    }
    assert.match(log, / ftp 127\.0\.0\.1 D 18 \d+ 127\.0\.0\.2:\/hello\.txt\n$/);
    assert.equal(
      vhostFilePath('127.0.0.2:/hello.txt', path.join(dir, 'vhosts')),
      path.join(dir, 'vhosts', '127.0.0.2', 'hello.txt'),
    );
    assert.match(output(), /Anonymous user logged in the virtual FTP: 127\.0\.0\.2/);

    const port3 = await freePort();
    start('127.0.0.3', port3);
    const ftp3 = await whenUp(port3, '127.0.0.3');
    const login3 = await ftp3.login('anonymous', 'x@example.com');
    assert.equal(login3.code, 230);
    assert.doesNotMatch(login3.text, /site two/);
    assert.equal((await ftp3.cmd('SIZE default.txt')).code, 213);
    assert.equal((await ftp3.cmd('SIZE hello.txt')).code, 550);
    ftp3.close();
  });

  it('--vhost-dir none turns virtual hosts off', async () => {
    const port = await freePort();
    start('127.0.0.2', port, ['--vhost-dir', 'none']);
    const ftp = await whenUp(port, '127.0.0.2');
    assert.equal((await ftp.login('anonymous', 'x@example.com')).code, 230);
    assert.equal((await ftp.cmd('SIZE default.txt')).code, 213);
    ftp.close();
  });

  it('HOST (RFC 7151) picks a virtual host by name on one address; FEAT lists it; only before USER', async () => {
    const port = await freePort();
    start('127.0.0.3', port, ['--workers', '2']);
    const ftp = await whenUp(port, '127.0.0.3');
    assert.match((await ftp.cmd('FEAT')).text, /^ HOST$/m);
    assert.equal((await ftp.cmd('HOST nowhere.example.org')).text, '504 Unknown host nowhere.example.org');
    assert.equal((await ftp.cmd('HOST bad_name!')).code, 501);
    assert.equal((await ftp.cmd('HOST [127.0.0.2]')).code, 504, 'an address literal must be the one reached');
    assert.equal((await ftp.cmd('HOST Files.Example.org')).text, '220 Host files.example.org selected');
    assert.equal((await ftp.login('anonymous', 'x@example.com')).code, 230);
    assert.equal((await ftp.cmd('SIZE named.txt')).code, 213);
    assert.equal((await ftp.cmd('SIZE default.txt')).code, 550);
    assert.equal((await ftp.cmd('HOST files.example.org')).code, 503);
    ftp.close();
    // Without HOST, the same address gives the default root.
    const plain = await whenUp(port, '127.0.0.3');
    assert.equal((await plain.login('anonymous', 'x@example.com')).code, 230);
    assert.equal((await plain.cmd('SIZE default.txt')).code, 213);
    plain.close();
  });
});
