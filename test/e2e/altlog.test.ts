/**
 * Transfer logs (`-O format:/path`, upstream §9.2) written by a real server for transfers made by
 * curl: one line per file transfer in clf, stats, w3c and xferlog, with Pure-FTPd's fields; lines
 * from several session workers (as root: through the parent, which opened the file) never mix; the
 * file is opened again on SIGUSR1 (logrotate); `tsftpd statsdecode` prints what Debian's
 * pure-statsdecode prints for the same stats log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { curl, ftpUrl, runTool, toolSkip } from '../helpers/clients.js';
import { putFile, startServer, type TestServer } from '../helpers/server.js';

/** Polls until the file has `n` lines that are not w3c headers (at most 10 s). */
async function lines(file: string, n: number): Promise<string[]> {
  let got: string[] = [];
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    got = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    if (got.length >= n) return got;
    await sleep(100);
  }
  return got;
}

describe('transfer logs (-O)', { skip: toolSkip('curl') }, () => {
  let files: TestServer;
  const login = { user: 'joe', password: 'secret' };
  before(async () => {
    files = await startServer();
    await putFile(path.join(files.home('joe'), 'down load.txt'), 'twelve bytes');
  });
  after(async () => {
    await files.close();
  });

  /** Starts tsftpd with -O, downloads `down load.txt` and uploads `up.txt` with curl; returns the log's lines. */
  async function run(
    format: string,
    extra: string[] = [],
  ): Promise<{ lines: string[]; file: string; output: string }> {
    const port = await freePort();
    const file = path.join(files.dir, `transfer-${format}-${port}.log`);
    const srv = spawnServer(port, [
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '-O',
      `${format}:${file}`,
      ...extra,
    ]);
    try {
      (await connectWhenUp(port)).close();
      const down = await curl(ftpUrl(port, '/down%20load.txt'), login);
      assert.equal(down.code, 0, down.stderr);
      const up = await curl(ftpUrl(port, '/up.txt'), login, ['-T', '-'], { input: 'uploaded!' });
      assert.equal(up.code, 0, up.stderr);
      return { lines: await lines(file, 2), file, output: srv.output() };
    } finally {
      await killChild(srv.child);
    }
  }

  it('clf: host - user [local date, inverted offset] "GET|PUT url-encoded real path" 200 bytes', async () => {
    const { lines: l, file } = await run('clf');
    const home = files.home('joe');
    const enc = (p: string): string =>
      p.replace(/[^A-Za-z0-9./_-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const offset = new Date().getTimezoneOffset();
    const zone = `${offset > 0 ? '+' : '-'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}${String(Math.abs(offset) % 60).padStart(2, '0')}`;
    const re = (verb: string, p: string, bytes: number): RegExp =>
      new RegExp(
        `^127\\.0\\.0\\.1 - joe \\[\\d{2}/[A-Z][a-z]{2}/\\d{4}:\\d{2}:\\d{2}:\\d{2} ${zone.replace('+', '\\+')}\\] "${verb} ${enc(p).replace(/[.%]/g, (c) => `\\${c}`)}" 200 ${bytes}$`,
      );
    assert.match(l[0], re('GET', path.join(home, 'down load.txt'), 12));
    assert.match(l[1], re('PUT', path.join(home, 'up.txt'), 9));
    const st = await stat(file);
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('stats: time session.pid user host U|D bytes seconds path; statsdecode matches pure-statsdecode', async (t) => {
    const { lines: l, file } = await run('stats');
    const home = files.home('joe');
    assert.match(
      l[0],
      new RegExp(
        `^\\d{10} [0-9a-f]+\\.[0-9a-f]+ joe 127\\.0\\.0\\.1 D 12 0 ${path.join(home, 'down load.txt')}$`,
      ),
    );
    assert.match(
      l[1],
      new RegExp(`^\\d{10} [0-9a-f]+\\.[0-9a-f]+ joe 127\\.0\\.0\\.1 U 9 0 ${path.join(home, 'up.txt')}$`),
    );
    const ours = await runTool(process.execPath, [MAIN, 'statsdecode', file]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(
      ours.stdout.split('\n')[0],
      /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} [0-9a-f]+\.[0-9a-f]+ joe /,
    );
    const fromStdin = await runTool(process.execPath, [MAIN, 'statsdecode', '-'], {
      input: await readFile(file, 'utf8'),
    });
    assert.equal(fromStdin.stdout, ours.stdout);
    const skip = toolSkip('pure-statsdecode', 'apt-get install pure-ftpd');
    if (skip !== false) {
      t.skip(skip);
      return;
    }
    const theirs = await runTool('pure-statsdecode', [file]);
    assert.equal(ours.stdout, theirs.stdout);
    // Odd input too: no timestamp, an empty line, a line without a newline at the end.
    const odd = 'abc\n\n123456789x tail\n17999999999';
    const a = await runTool(process.execPath, [MAIN, 'statsdecode', '-'], { input: odd });
    const b = await runTool('pure-statsdecode', ['-'], { input: odd });
    assert.equal(a.stdout, b.stdout);
  });

  it('w3c: header once, then UTC date time host []sent|[]created url-encoded path 226 user bytes', async () => {
    const { file } = await run('w3c');
    const text = await readFile(file, 'utf8');
    const all = text.split('\n');
    assert.equal(all[0], '#Software: tsftpd');
    assert.equal(all[1], '#Version: 1.0');
    assert.match(all[2], /^#Date: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.equal(all[3], '#Fields: date time c-ip cs-method cs-uri-stem sc-status cs-username sc-bytes');
    assert.match(
      all[4],
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} 127\.0\.0\.1 \[\]sent \S+down%20load\.txt 226 joe 12$/,
    );
    assert.match(
      all[5],
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} 127\.0\.0\.1 \[\]created \S+up\.txt 226 joe 9$/,
    );
  });

  it('xferlog: local date, seconds, host, bytes, path with spaces as _, a|b, i|o, r, user', async () => {
    const { lines: l } = await run('xferlog');
    const home = files.home('joe');
    const date = '[A-Z][a-z]{2} [A-Z][a-z]{2} \\d{2} \\d{2}:\\d{2}:\\d{2} \\d{4}';
    assert.match(
      l[0],
      new RegExp(
        `^${date} 0 127\\.0\\.0\\.1 12 ${path.join(home, 'down_load.txt')} b _ o r joe ftp 1 \\* c$`,
      ),
    );
    assert.match(
      l[1],
      new RegExp(`^${date} 0 127\\.0\\.0\\.1 9 ${path.join(home, 'up.txt')} b _ i r joe ftp 1 \\* c$`),
    );
  });

  it('with 2 workers: 40 concurrent transfers give 40 whole lines; SIGUSR1 reopens after a rotation', async () => {
    const port = await freePort();
    const file = path.join(files.dir, `transfer-workers-${port}.log`);
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '-O',
      `stats:${file}`,
    ]);
    try {
      (await connectWhenUp(port)).close();
      // 40 at once on a machine that runs other test files too: curl's 5 s connect limit (which
      // covers the 220 greeting) is for a lone client; this test is about whole lines, not speed.
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          curl(ftpUrl(port, `/c${i}.txt`), login, ['--connect-timeout', '30', '-T', '-'], {
            input: `content ${i}`,
            timeoutMs: 60_000,
          }),
        ),
      );
      for (const r of results) assert.equal(r.code, 0, `${r.stderr}\n${srv.output()}`);
      const got = await lines(file, 40);
      assert.equal(got.length, 40);
      for (const line of got)
        assert.match(line, /^\d{10} [0-9a-f]+\.[0-9a-f]+ joe 127\.0\.0\.1 U \d+ \d+ \/\S+\/c\d+\.txt$/);
      // Both workers served some of them (each line names its worker's pid), one file got all.
      const pids = new Set(got.map((l) => l.split(' ')[1].split('.')[1]));
      assert.equal(pids.size, 2, [...pids].join(' '));
      // logrotate: move the file, SIGUSR1, the next line goes to a new file.
      await rename(file, `${file}.1`);
      process.kill(srv.child.pid!, 'SIGUSR1');
      await sleep(300);
      // The 40 sessions may still be closing (a loaded machine): a 421 for "-c 50 reached" is tried again.
      let again = await curl(ftpUrl(port, '/after-rotate.txt'), login, ['-T', '-'], { input: 'x' });
      for (let i = 0; i < 5 && again.code !== 0; i++) {
        await sleep(500);
        again = await curl(ftpUrl(port, '/after-rotate.txt'), login, ['-T', '-'], { input: 'x' });
      }
      assert.equal(again.code, 0, `${again.stderr}\n${srv.output()}`);
      const fresh = await lines(file, 1);
      assert.equal(fresh.length, 1);
      assert.match(fresh[0], /after-rotate\.txt$/);
      assert.equal((await lines(`${file}.1`, 40)).length, 40);
    } finally {
      await killChild(srv.child);
    }
  });

  it('a bad -O stops the start with a precise message', async () => {
    for (const [arg, text] of [
      ['bogus:/tmp/x.log', /-O bogus:\/tmp\/x\.log: unknown log format "bogus"/],
      ['clf:relative.log', /-O clf:relative\.log: the log file must be an absolute path/],
    ] as const) {
      const r = await runTool(process.execPath, [MAIN, '-S', `127.0.0.1,${await freePort()}`, '-O', arg], {
        timeoutMs: 10_000,
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, text);
    }
  });
});
