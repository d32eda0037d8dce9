/**
 * The transfer logs read by the real tools (issue 13): the same transfers, made by curl against
 * Pure-FTPd (`-O clf:`/`-O stats:`) and against tsftpd, give GoAccess the same totals (requests,
 * valid and failed requests, visitors, bandwidth) and give Debian's pure-statsdecode the same
 * columns. Root only: Pure-FTPd chroots the account.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { curl, ftpUrl, runTool, toolSkip } from '../helpers/clients.js';
import { ciSkip } from '../helpers/ci.js';
import { sha512Hash } from '../helpers/server.js';

const skip =
  process.getuid?.() !== 0
    ? ciSkip('needs root: Pure-FTPd chroots the account')
    : toolSkip('goaccess') ||
      toolSkip('pure-ftpd', 'apt-get install pure-ftpd') ||
      toolSkip('pure-pw', 'apt-get install pure-ftpd') ||
      toolSkip('curl');

/** The same transfers on any server: two uploads, three downloads, one missing file. */
async function transfers(port: number): Promise<void> {
  const login = { user: 'joe', password: 'secret-9' };
  for (const [name, body] of [
    ['a.txt', 'hello'],
    ['b c.txt', 'ten bytes!'],
  ]) {
    const r = await curl(ftpUrl(port, `/${encodeURIComponent(name)}`), login, ['-T', '-'], { input: body });
    assert.equal(r.code, 0, r.stderr);
  }
  for (const name of ['a.txt', 'a.txt', 'b%20c.txt']) {
    const r = await curl(ftpUrl(port, `/${name}`), login, ['-o', '/dev/null']);
    assert.equal(r.code, 0, r.stderr);
  }
  const missing = await curl(ftpUrl(port, '/missing.txt'), login, ['-o', '/dev/null']);
  assert.notEqual(missing.code, 0);
}

/** GoAccess's totals of a CLF log (its JSON report). */
async function goaccess(log: string): Promise<Record<string, unknown>> {
  const out = `${log}.json`;
  const r = await runTool('goaccess', [log, '--log-format=COMMON', '--no-global-config', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  const g = (JSON.parse(await readFile(out, 'utf8')) as { general: Record<string, unknown> }).general;
  return {
    total_requests: g.total_requests,
    valid_requests: g.valid_requests,
    failed_requests: g.failed_requests,
    unique_visitors: g.unique_visitors,
    bandwidth: g.bandwidth,
  };
}

describe('transfer logs read by GoAccess and pure-statsdecode, against Pure-FTPd', { skip }, () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-altlog-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    for (const c of children) await killChild(c);
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh home and account files for one server. */
  async function account(name: string): Promise<{ passwd: string; pdb: string; home: string }> {
    const home = path.join(dir, `${name}-home`);
    await mkdir(home);
    await chown(home, 65534, 65534);
    const passwd = path.join(dir, `${name}.passwd`);
    await writeFile(passwd, `joe:${await sha512Hash('secret-9')}:65534:65534::${home}/./::::::::::::\n`, {
      mode: 0o600,
    });
    const pdb = path.join(dir, `${name}.pdb`);
    const made = await runTool('pure-pw', ['mkdb', pdb, '-f', passwd]);
    assert.equal(made.code, 0, made.stderr);
    return { passwd, pdb, home };
  }

  for (const format of ['clf', 'stats'] as const) {
    it(`${format}: the same transfers read the same`, { timeout: 120_000 }, async () => {
      // Pure-FTPd.
      const pure = await account(`pure-${format}`);
      const pureLog = path.join(dir, `pure.${format}.log`);
      const purePort = await freePort();
      const pureServer = spawn(
        'pure-ftpd',
        [
          '-S',
          `127.0.0.1,${purePort}`,
          '-p',
          '30000:39999',
          '-l',
          `puredb:${pure.pdb}`,
          '-E',
          '-H',
          '-O',
          `${format}:${pureLog}`,
        ],
        { stdio: 'ignore' },
      );
      children.push(pureServer);
      (await connectWhenUp(purePort)).close();
      await transfers(purePort);
      await killChild(pureServer);
      // tsftpd (workers and a storage broker, as root).
      const ours = await account(`ts-${format}`);
      const ourLog = path.join(dir, `ts.${format}.log`);
      const port = await freePort();
      const srv = spawnServer(port, ['--passwd-file', ours.passwd, '-O', `${format}:${ourLog}`]);
      children.push(srv.child);
      (await connectWhenUp(port)).close();
      await transfers(port);
      await killChild(srv.child);

      const mine = (await readFile(ourLog, 'utf8')).split('\n').filter(Boolean);
      const theirs = (await readFile(pureLog, 'utf8')).split('\n').filter(Boolean);
      assert.equal(mine.length, theirs.length, `${mine.join('\n')}\n---\n${theirs.join('\n')}`);
      if (format === 'clf') {
        assert.deepEqual(await goaccess(ourLog), await goaccess(pureLog));
        // Line by line, but the date and the home directory.
        const norm = (l: string, home: string): string =>
          l
            .replace(/\[[^\]]+\]/, '[date]')
            .split(home)
            .join('HOME');
        assert.deepEqual(
          mine.map((l) => norm(l, ours.home)),
          theirs.map((l) => norm(l, pure.home)),
        );
      } else {
        const decode = async (log: string, home: string): Promise<string[]> => {
          const r = await runTool('pure-statsdecode', [log]);
          assert.equal(r.code, 0, r.stderr);
          // date, time, session.pid (differs by nature), then user host U|D bytes seconds path
          return r.stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => l.split(' ').slice(3).join(' ').split(home).join('HOME'));
        };
        assert.deepEqual(await decode(ourLog, ours.home), await decode(pureLog, pure.home));
      }
    });
  }
});
