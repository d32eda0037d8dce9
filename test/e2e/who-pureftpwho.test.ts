/**
 * `tsftpd who` beside Debian's pure-ftpwho: the same sessions (one idle logged-in account, one
 * before login, one download in progress) on Pure-FTPd and on tsftpd print the same lines in every
 * output mode, once the values that must differ are set aside (process/session ids, times, ports,
 * byte counts and speeds of a live transfer, the file name as typed by the client vs its path).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';
import { findTool, ftpUrl, runTool, toolSkip } from '../helpers/clients.js';
import { ciSkip } from '../helpers/ci.js';
import { sha512Hash } from '../helpers/server.js';

const skip =
  process.getuid?.() !== 0
    ? ciSkip('needs root: pure-ftpwho reads a root-only scoreboard')
    : toolSkip('pure-ftpd', 'apt-get install pure-ftpd') ||
      toolSkip('pure-ftpwho', 'apt-get install pure-ftpd') ||
      toolSkip('pure-pw', 'apt-get install pure-ftpd') ||
      toolSkip('curl');

const BIG = 256 * 1024 * 1024;
const MODES = [['-s'], ['-x'], ['-p'], ['-v'], [], ['-W']] as const;

/**
 * The lines of one server's sessions (`port`), with what must differ replaced: ids, times, the
 * server's port, the download's byte counts, percentage and speed, and the file's name (pure-ftpwho
 * shows it as the client typed it, tsftpd as its path in the account's tree).
 */
function normalize(out: string, mode: readonly string[], port: number): string[] {
  let lines = out.split('\n');
  // The scoreboard may hold other servers' sessions (tests run side by side): keep ours.
  if (mode[0] === '-s') lines = lines.filter((l) => l === '' || l.split('|')[7] === String(port));
  if (mode[0] === '-s') {
    lines = lines.map((l) => {
      const f = l.split('|');
      if (f.length < 12) return l;
      f[0] = 'ID';
      f[2] = 'T';
      f[4] = f[4].replace(/^\/?big\.bin$/, 'BIG');
      if (f[3] === ' DL ') [f[8], f[10], f[11]] = ['N', 'N', 'N'];
      return f.join('|');
    });
  }
  return lines.map((l) =>
    l
      .split(String(port))
      .join('PORT')
      .replace(/\b(pid|time|resume|current_size|bandwidth|percentage)="\d+"/g, '$1="N"')
      .replace(/"\/?big\.bin"/g, '"BIG"')
      .replace(/<string>\d+<\/string>/g, '<string>N</string>')
      .replace(/<string>\/?big\.bin<\/string>/g, '<string>BIG</string>')
      .replace(/<th scope="row">\d+<\/th>/g, '<th scope="row">N</th>')
      .replace(/<td>\d\d:\d\d<\/td>/g, '<td>T</td>')
      // The page's title and table summary name the server.
      .replace(/summary="(Pure-FTPd|tsftpd) server status"/, 'summary="SERVER server status"')
      .replace(/<td>\/?big\.bin<\/td>/g, '<td>BIG</td>')
      .replace(/<td>\d+\/\d+ \(\d+% - \d+ KB\/s\)<\/td>/g, '<td>PROGRESS</td>')
      .replace(/^\| *\d+ \| (joe|\?) +\| \d\d:\d\d \|/, '|ID| $1 | T |')
      .replace(/ \/?big\.bin +\|$/, ' BIG |')
      .replace(/Transferred: *\d+/g, 'Transferred:N')
      .replace(/\|[ \d]{4}[bKMG]\/s\|/g, '|SPEED|')
      .replace(/\| +\d+% \|/g, '| P% |'),
  );
}

describe('tsftpd who beside pure-ftpwho', { skip }, () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-whocmp-'));
  });
  after(async () => {
    for (const c of children) await killChild(c);
    await rm(dir, { recursive: true, force: true });
  });

  async function account(name: string): Promise<{ passwd: string; pdb: string }> {
    const home = path.join(dir, `${name}-home`);
    await mkdir(home);
    await writeFile(path.join(home, 'big.bin'), Buffer.alloc(BIG, 3));
    await chown(home, 65534, 65534);
    const passwd = path.join(dir, `${name}.passwd`);
    await writeFile(passwd, `joe:${await sha512Hash('secret-9')}:65534:65534::${home}/./::::::::::::\n`, {
      mode: 0o600,
    });
    const pdb = path.join(dir, `${name}.pdb`);
    const made = await runTool('pure-pw', ['mkdb', pdb, '-f', passwd]);
    assert.equal(made.code, 0, made.stderr);
    return { passwd, pdb };
  }

  /** Opens the three sessions on `port`; returns what to close. */
  async function sessions(port: number): Promise<{ close: () => void }> {
    const a = await connectWhenUp(port);
    assert.equal((await a.login('joe', 'secret-9')).code, 230);
    const b = (await RawFtp.connect(port)).ftp;
    const curl = spawn(
      findTool('curl')!,
      ['-s', '-o', '/dev/null', '--limit-rate', '1m', '-u', 'joe:secret-9', ftpUrl(port, '/big.bin')],
      { stdio: 'ignore' },
    );
    children.push(curl);
    await sleep(2500);
    return {
      close: () => {
        curl.kill('SIGKILL');
        a.close();
        b.close();
      },
    };
  }

  it('prints the same shapes in -s, -x, -p, -v, text and -W', { timeout: 120_000 }, async () => {
    const pure = await account('pure');
    const purePort = await freePort();
    const pureServer = spawn(
      'pure-ftpd',
      ['-S', `127.0.0.1,${purePort}`, '-p', '30000:39999', '-l', `puredb:${pure.pdb}`, '-E'],
      { stdio: 'ignore' },
    );
    children.push(pureServer);
    const pureOpen = await sessions(purePort);
    const theirs = new Map<string, string>();
    for (const mode of MODES) {
      const r = await runTool('pure-ftpwho', ['-n', ...mode]);
      assert.equal(r.code, 0, r.stderr);
      theirs.set(mode.join(''), r.stdout);
    }
    pureOpen.close();
    await killChild(pureServer);

    const ours = await account('ts');
    const port = await freePort();
    const socket = path.join(dir, 'who.sock');
    const srv = spawnServer(port, ['--passwd-file', ours.passwd, '--who-socket', socket]);
    children.push(srv.child);
    const ourOpen = await sessions(port);
    try {
      for (const mode of MODES) {
        const r = await runTool(process.execPath, [MAIN, 'who', '-n', ...mode, '--socket', socket]);
        assert.equal(r.code, 0, r.stderr);
        const key = mode.join('');
        const want = normalize(theirs.get(key)!, mode, purePort);
        const got = normalize(r.stdout, mode, port);
        // Rows may come in another order (pure-ftpwho reads its scoreboard directory in disk order).
        assert.deepEqual([...got].sort(), [...want].sort(), `${key}\n${r.stdout}\n---\n${theirs.get(key)}`);
      }
    } finally {
      ourOpen.close();
      await killChild(srv.child);
    }
  });
});
