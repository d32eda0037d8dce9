/**
 * End-to-end tests of listings (upstream §2.4, §6.3, §6.4 -L -D): LIST as Pure-FTPd's built-in `ls`
 * (options, sort rules, globbing, sections, limits, dotfiles), NLST, MLSD and MLST facts, and a
 * 100,000-entry directory streamed without stalling another session or growing the heap.
 * Expected bytes were checked against Pure-FTPd 1.0.50 on the same fixture.
 */
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, symlink, utimes, lutimes, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { startServer, type TestServer, type TestServerOptions, putFile } from '../helpers/server.js';
import { RawFtp, type RawReply } from '../helpers/raw.js';
import { connectTo, epsvPort, hasTool, readAllBounded, runProgram } from '../helpers/transfer-clients.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

/**
 * The fixture of a home directory: three text files of distinct sizes and ages (C.txt old enough to
 * show its year), a dot-file, a directory tree, an executable and a symlink.
 */
async function makeFixture(home: string): Promise<void> {
  const now = Date.now();
  const at = async (p: string, ago: number): Promise<void> => {
    const t = new Date(now - ago);
    await utimes(p, t, t);
  };
  await putFile(path.join(home, 'a.txt'), 'x'.repeat(100));
  await putFile(path.join(home, 'b.txt'), 'y'.repeat(300));
  await putFile(path.join(home, 'C.txt'), 'z'.repeat(200));
  await putFile(path.join(home, '.hidden'), 'hi\n');
  await mkdir(path.join(home, 'dir', 'sub'), { recursive: true });
  await putFile(path.join(home, 'dir', 'inner.txt'), 'i\n');
  await putFile(path.join(home, 'dir', 'sub', 'deep.txt'), 'd\n');
  await putFile(path.join(home, 'exec.sh'), '#!/bin/sh\n');
  await chmod(path.join(home, 'exec.sh'), 0o755);
  await symlink('a.txt', path.join(home, 'link'));
  await at(path.join(home, 'a.txt'), HOUR);
  await at(path.join(home, 'b.txt'), 2 * DAY);
  await at(path.join(home, 'C.txt'), 200 * DAY);
  await at(path.join(home, 'exec.sh'), DAY + HOUR);
  await at(path.join(home, 'dir'), DAY);
  const t = new Date(now - 60_000);
  await lutimes(path.join(home, 'link'), t, t);
}

/** Runs one data command over EPSV and returns the 150, the data and the final reply. */
async function dataCmd(
  ftp: RawFtp,
  line: string,
): Promise<{ first: RawReply; data: string; final: RawReply }> {
  const port = await epsvPort(ftp);
  const socket = await connectTo(port);
  ftp.send(line);
  const first = await ftp.read();
  if (first.code !== 150) {
    socket.destroy();
    return { first, data: '', final: first };
  }
  const data = (await readAllBounded(socket, 30000)).toString('utf8');
  return { first, data, final: await ftp.read(30000) };
}

/** The names at the end of `ls -l` lines (symlink targets cut off). */
function longNames(data: string): string[] {
  return lines(data).map((l) =>
    l
      .split(/ +/)
      .slice(8)
      .join(' ')
      .replace(/ -> .*$/, ''),
  );
}

/** CRLF-terminated lines of a listing (checks the CRLF endings). */
function lines(data: string): string[] {
  if (data === '') return [];
  assert.ok(data.endsWith('\r\n'), `listing does not end with CRLF: ${JSON.stringify(data.slice(-20))}`);
  const out = data.slice(0, -2).split('\r\n');
  for (const l of out) assert.ok(!l.includes('\n'), `bare LF in ${JSON.stringify(l)}`);
  return out;
}

/** A server plus a logged-in raw session, both closed after the test. */
async function session(
  t: TestContext,
  opts: TestServerOptions = {},
  user = 'joe',
): Promise<{ srv: TestServer; ftp: RawFtp }> {
  const srv = await startServer(opts);
  t.after(() => srv.close());
  await makeFixture(srv.home('joe'));
  const { ftp } = await RawFtp.connect(srv.port);
  t.after(() => ftp.close());
  await ftp.login(user, user === 'joe' ? 'secret' : '');
  return { srv, ftp };
}

describe('LIST (upstream §2.4)', () => {
  let srv: TestServer;
  let ftp: RawFtp;
  before(async () => {
    srv = await startServer();
    await makeFixture(srv.home('joe'));
    ({ ftp } = await RawFtp.connect(srv.port));
    await ftp.login('joe', 'secret');
  });
  after(async () => {
    ftp.close();
    await srv.close();
  });

  it('defaults to ls -l, sorted byte-wise, dotfiles hidden, with Options and N matches total', async () => {
    const r = await dataCmd(ftp, 'LIST');
    assert.equal(r.first.lines.at(-1), '150 Accepted data connection');
    assert.deepEqual(longNames(r.data), ['C.txt', 'a.txt', 'b.txt', 'dir', 'exec.sh', 'link']);
    assert.deepEqual(r.final.lines, ['226-Options: -l ', '226 6 matches total']);
    const [c, a, , dir, exec, link] = lines(r.data);
    const st = await lstat(path.join(srv.home('joe'), 'a.txt'));
    const pad10 = (x: number): string => String(x).padEnd(10);
    assert.match(
      a,
      new RegExp(
        `^-rw-r--r--    1 ${pad10(st.uid)} ${pad10(st.gid)}        100 \\w{3} [ \\d]\\d \\d\\d:\\d\\d a\\.txt$`,
      ),
    );
    assert.match(c, /^-rw-r--r-- .* 200 \w{3} [ \d]\d {2}\d{4} C\.txt$/, 'a 200-day-old file shows its year');
    assert.match(dir, /^drwxr-xr-x +\d+ .* dir$/);
    assert.match(exec, /^-rwxr-xr-x .* exec\.sh$/);
    assert.match(link, /^lrwxrwxrwx .* 5 .* link -> a\.txt$/);
  });

  it('-a shows ., .. and dot-files; .. of the root is the root itself', async () => {
    const r = await dataCmd(ftp, 'LIST -a');
    assert.deepEqual(longNames(r.data), [
      '.',
      '..',
      '.hidden',
      'C.txt',
      'a.txt',
      'b.txt',
      'dir',
      'exec.sh',
      'link',
    ]);
    assert.deepEqual(r.final.lines, ['226-Options: -a -l ', '226 9 matches total']);
    const [dot, dotdot] = lines(r.data);
    // In a jail `..` is `/` again: the host's parent directory never shows (owner, mode, date).
    assert.equal(dotdot.replace(/ \.\.$/, ''), dot.replace(/ \.$/, ''));
  });

  it('-1, -C and -F', async () => {
    const one = await dataCmd(ftp, 'LIST -1');
    assert.equal(one.data, 'C.txt\r\na.txt\r\nb.txt\r\ndir\r\nexec.sh\r\nlink\r\n');
    assert.deepEqual(one.final.lines, ['226 6 matches total']);
    const cols = await dataCmd(ftp, 'LIST -C');
    assert.equal(cols.data, 'C.txt\ta.txt\tb.txt\tdir\texec.sh\tlink\r\n');
    assert.deepEqual(cols.final.lines, ['226-Options: -C ', '226 6 matches total']);
    const classify = await dataCmd(ftp, 'LIST -1F');
    assert.equal(classify.data, 'C.txt\r\na.txt\r\nb.txt\r\ndir/\r\nexec.sh*\r\nlink@\r\n');
    assert.deepEqual(classify.final.lines, ['226-Options: -F ', '226 6 matches total']);
    const longF = await dataCmd(ftp, 'LIST -F');
    assert.deepEqual(
      lines(longF.data).map((l) => l.split(/ +/).slice(8).join(' ')),
      ['C.txt', 'a.txt', 'b.txt', 'dir/', 'exec.sh*', 'link -> a.txt'],
    );
    assert.deepEqual(longF.final.lines, ['226-Options: -F -l ', '226 6 matches total']);
  });

  it('-r, -t, -S and their combinations', async () => {
    const names = async (cmd: string): Promise<string[]> => longNames((await dataCmd(ftp, cmd)).data);
    assert.deepEqual(await names('LIST -r'), ['link', 'exec.sh', 'dir', 'b.txt', 'a.txt', 'C.txt']);
    assert.deepEqual(await names('LIST -t'), ['link', 'a.txt', 'dir', 'exec.sh', 'b.txt', 'C.txt']);
    assert.deepEqual(await names('LIST -rt'), ['C.txt', 'b.txt', 'exec.sh', 'dir', 'a.txt', 'link']);
    // -S: largest first; the directory's size depends on the filesystem, so the order is derived.
    const home = srv.home('joe');
    const sizes = await Promise.all(
      ['C.txt', 'a.txt', 'b.txt', 'dir', 'exec.sh', 'link'].map(async (n) => ({
        n,
        size: (await lstat(path.join(home, n))).size,
      })),
    );
    const bySize = [...sizes].sort((x, y) => y.size - x.size).map((x) => x.n);
    if (new Set(sizes.map((x) => x.size)).size === sizes.length) {
      assert.deepEqual(await names('LIST -S'), bySize);
      assert.deepEqual(await names('LIST -lrS'), [...bySize].reverse());
    }
    const t = await dataCmd(ftp, 'LIST -t');
    assert.deepEqual(t.final.lines, ['226-Options: -l -t', '226 6 matches total']);
    // -t and -S cancel each other: the last one wins.
    assert.deepEqual(await names('LIST -S -t'), await names('LIST -t'));
  });

  it('-d lists a directory itself', async () => {
    const self = await dataCmd(ftp, 'LIST -d');
    assert.deepEqual(longNames(self.data), ['.']);
    assert.deepEqual(self.final.lines, ['226-Options: -d -l ', '226 1 matches total']);
    const dir = await dataCmd(ftp, 'LIST -d dir');
    assert.match(dir.data, /^drwxr-xr-x .* dir\r\n$/);
    assert.equal((await dataCmd(ftp, 'LIST -d d*')).data, dir.data);
  });

  it('-R recurses with ./dir: sections (only with -l or -F)', async () => {
    const r = await dataCmd(ftp, 'LIST -R');
    const parts = r.data.split('\r\n\r\n\r\n');
    assert.equal(parts.length, 3, JSON.stringify(r.data));
    assert.match(parts[1], /^\.\/dir:\r\n\r\n-rw-r--r-- .* inner\.txt\r\ndrwxr-xr-x .* sub$/);
    assert.match(parts[2], /^\.\/dir\/sub:\r\n\r\n-rw-r--r-- .* deep\.txt\r\n$/);
    assert.deepEqual(r.final.lines, ['226-Options: -l -R ', '226 9 matches total']);
    const named = await dataCmd(ftp, 'LIST -1F -R dir');
    assert.equal(named.data, 'inner.txt\r\nsub/\r\n\r\n\r\ndir/sub:\r\n\r\ndeep.txt\r\n');
    const plain = await dataCmd(ftp, 'LIST -1R');
    assert.equal(plain.data, 'C.txt\r\na.txt\r\nb.txt\r\ndir\r\nexec.sh\r\nlink\r\n');
  });

  it('globbing: files as named, directories as sections, several arguments', async () => {
    const txt = await dataCmd(ftp, 'LIST *.txt');
    assert.deepEqual(longNames(txt.data), ['C.txt', 'a.txt', 'b.txt']);
    assert.deepEqual(txt.final.lines, ['226-Options: -l ', '226 3 matches total']);
    assert.deepEqual(longNames((await dataCmd(ftp, 'LIST dir/*.txt')).data), ['dir/inner.txt']);
    assert.equal(
      (await dataCmd(ftp, 'LIST -1 *')).data,
      'C.txt\r\na.txt\r\nb.txt\r\nexec.sh\r\nlink\r\n\r\n\r\ndir:\r\n\r\ninner.txt\r\nsub\r\n',
    );
    assert.equal((await dataCmd(ftp, 'LIST -1 d*')).data, 'inner.txt\r\nsub\r\n');
    assert.equal((await dataCmd(ftp, 'LIST -1 dir/s*')).data, 'deep.txt\r\n');
    assert.equal(
      (await dataCmd(ftp, 'LIST -1 *.txt dir')).data,
      'C.txt\r\na.txt\r\nb.txt\r\n\r\n\r\ndir:\r\n\r\ninner.txt\r\nsub\r\n',
    );
    assert.equal(
      (await dataCmd(ftp, 'LIST -1 dir a.txt')).data,
      '\r\n\r\ndir:\r\n\r\ninner.txt\r\nsub\r\na.txt\r\n',
    );
    // A pattern that starts with a dot matches dot-names even without -a; a plain name is listed as is.
    assert.equal((await dataCmd(ftp, 'LIST -1 .h*')).data, '.hidden\r\n');
    assert.equal((await dataCmd(ftp, 'LIST -1 .hidden')).data, '.hidden\r\n');
    assert.equal((await dataCmd(ftp, 'LIST -1 ?.txt')).data, 'C.txt\r\na.txt\r\nb.txt\r\n');
    assert.equal((await dataCmd(ftp, 'LIST -1 [ab].txt')).data, 'a.txt\r\nb.txt\r\n');
    // No match, or a missing file: an empty listing and 0 matches, not an error (upstream §2.4).
    for (const arg of ['nomatch*', 'nosuchfile']) {
      const none = await dataCmd(ftp, `LIST ${arg}`);
      assert.equal(none.data, '');
      assert.deepEqual(none.final.lines, ['226-Options: -l ', '226 0 matches total']);
    }
    // More than 3 stars is refused: nothing matches.
    assert.equal((await dataCmd(ftp, 'LIST -1 ****')).data, '');
  });

  it('STAT <args> lists on the control connection', async () => {
    const r = await ftp.cmd('STAT -1 dir');
    assert.equal(r.code, 213);
    assert.equal(r.lines[0], '213-STAT');
    assert.deepEqual(
      r.lines.slice(1, -1).map((l) => l.trim()),
      ['inner.txt', 'sub'],
    );
    assert.equal(r.lines.at(-1), '213 End.');
  });
});

describe('LIST limits and dotfile switches (upstream §6.3, §6.4)', () => {
  it('-L files:depth truncates LIST, NLST and MLSD and bounds -R', async (t) => {
    const { ftp } = await session(t, { args: ['-L', '3:2'] });
    const list = await dataCmd(ftp, 'LIST -1');
    assert.equal(list.data, 'C.txt\r\na.txt\r\nb.txt\r\n');
    assert.equal(list.final.lines.at(-1), '226 Output truncated to 3 matches');
    const nlst = await dataCmd(ftp, 'NLST');
    assert.equal(lines(nlst.data).length, 3);
    assert.equal(nlst.final.lines.at(-1), '226 Output truncated to 3 matches');
    const mlsd = await dataCmd(ftp, 'MLSD');
    assert.equal(lines(mlsd.data).length, 3);
    assert.equal(mlsd.final.lines.at(-1), '226 Output truncated to 3 matches');
  });

  it('-L depth: -R stops at the depth, printing the header of the first directory too deep', async (t) => {
    const { ftp } = await session(t, { args: ['-L', '100:1'] });
    const r = await dataCmd(ftp, 'LIST -1FR');
    assert.equal(r.data, 'C.txt\r\na.txt\r\nb.txt\r\ndir/\r\nexec.sh*\r\nlink@\r\n\r\n\r\n./dir:\r\n\r\n');
    assert.equal(r.final.lines.at(-1), '226 6 matches total');
  });

  it('-D shows dot-files in every LIST; anonymous never sees them without -z', async (t) => {
    const { srv, ftp } = await session(t, { args: ['-D'] });
    const r = await dataCmd(ftp, 'LIST');
    assert.deepEqual(longNames(r.data).slice(0, 3), ['.', '..', '.hidden']);
    assert.equal(r.final.lines[0], '226-Options: -a -l ');
    await writeFile(path.join(srv.anonRoot, '.secret'), 's');
    await writeFile(path.join(srv.anonRoot, 'pub.txt'), 'p');
    const { ftp: anon } = await RawFtp.connect(srv.port);
    t.after(() => anon.close());
    await anon.login('ftp');
    for (const cmd of ['LIST -a', 'NLST', 'MLSD']) {
      const a = await dataCmd(anon, cmd);
      assert.ok(!a.data.includes('.secret'), `${cmd} shows a dot-file to anonymous: ${a.data}`);
      assert.ok(a.data.includes('pub.txt'), cmd);
    }
  });
});

describe('NLST (upstream §2.4)', () => {
  it('names in readdir order, dot-files included; dir argument prefixes; globs; errors', async (t) => {
    const { ftp } = await session(t);
    const r = await dataCmd(ftp, 'NLST');
    assert.deepEqual([...lines(r.data)].sort(), [
      '.hidden',
      'C.txt',
      'a.txt',
      'b.txt',
      'dir',
      'exec.sh',
      'link',
    ]);
    assert.deepEqual(r.final.lines, ['226 7 matches total']);
    for (const arg of ['dir', 'dir/']) {
      const d = await dataCmd(ftp, `NLST ${arg}`);
      assert.deepEqual([...lines(d.data)].sort(), ['dir/inner.txt', 'dir/sub']);
      assert.deepEqual(d.final.lines, ['226 2 matches total']);
    }
    const glob = await dataCmd(ftp, 'NLST *.txt');
    assert.deepEqual([...lines(glob.data)].sort(), ['C.txt', 'a.txt', 'b.txt']);
    assert.deepEqual([...lines((await dataCmd(ftp, 'NLST dir/*.txt')).data)], ['dir/inner.txt']);
    for (const bad of ['a.txt', 'nosuch']) {
      const e = await dataCmd(ftp, `NLST ${bad}`);
      assert.equal(e.first.lines[0], "550 Can't check for file existence");
    }
  });
});

describe('MLSD / MLST facts (upstream §2.4)', () => {
  const FACTS =
    /^type=(file|dir|cdir|pdir|OS\.unix=slink:[^;]*|OS\.unix=symlink);(size|sizd)=\d+;modify=\d{14};UNIX\.mode=0[0-7]{3,4};(UNIX\.uid=\d+;UNIX\.gid=\d+;)?unique=[0-9a-f]+g[0-9a-f]+; (.+)$/;

  function expectedFacts(st: Awaited<ReturnType<typeof lstat>>, type: string, anonymous: boolean): string {
    const mtime = new Date(Number(st.mtimeMs));
    const modify = mtime.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const size = type === 'file' || type.startsWith('OS.') ? 'size' : 'sizd';
    const ids = anonymous ? '' : `UNIX.uid=${st.uid};UNIX.gid=${st.gid};`;
    const dev = ((Number(st.dev) % 2 ** 32) + 2 ** 32) % 2 ** 32;
    return (
      `type=${type};${size}=${st.size};modify=${modify};UNIX.mode=0${(Number(st.mode) & 0o7777).toString(8)};` +
      `${ids}unique=${dev.toString(16)}g${Number(st.ino).toString(16)};`
    );
  }

  it('MLSD: every entry with exact facts, . as cdir and .. as pdir', async (t) => {
    const { srv, ftp } = await session(t);
    const home = srv.home('joe');
    const r = await dataCmd(ftp, 'MLSD');
    const got = new Map<string, string>();
    for (const l of lines(r.data)) {
      const m = FACTS.exec(l);
      assert.ok(m !== null, `bad MLSD line ${l}`);
      got.set(m[4], l.slice(0, l.indexOf('; ') + 1));
    }
    assert.deepEqual([...got.keys()].sort(), [
      '.',
      '..',
      '.hidden',
      'C.txt',
      'a.txt',
      'b.txt',
      'dir',
      'exec.sh',
      'link',
    ]);
    assert.equal(r.final.lines.at(-1), '226 9 matches total');
    assert.equal(got.get('a.txt'), expectedFacts(await lstat(path.join(home, 'a.txt')), 'file', false));
    assert.equal(got.get('dir'), expectedFacts(await lstat(path.join(home, 'dir')), 'dir', false));
    assert.equal(
      got.get('link'),
      expectedFacts(await lstat(path.join(home, 'link')), 'OS.unix=slink:', false),
    );
    assert.equal(got.get('.'), expectedFacts(await lstat(home), 'cdir', false));
    assert.equal(
      got.get('..'),
      expectedFacts(await lstat(home), 'pdir', false),
      '.. of the root is the root',
    );
    assert.match(got.get('exec.sh')!, /UNIX\.mode=0755;/);

    const sub = await dataCmd(ftp, 'MLSD dir');
    const subNames = lines(sub.data).map((l) => l.slice(l.indexOf('; ') + 2));
    assert.deepEqual([...subNames].sort(), ['.', '..', 'inner.txt', 'sub']);
    const parent = lines(sub.data).find((l) => l.endsWith('; ..'))!;
    assert.equal(parent.slice(0, parent.indexOf('; ') + 1), expectedFacts(await lstat(home), 'pdir', false));
    for (const bad of ['a.txt', 'nosuch']) {
      assert.equal((await dataCmd(ftp, `MLSD ${bad}`)).first.lines[0], "550 Can't check for file existence");
    }
  });

  it('MLST on the control connection; / is pdir, . is cdir, symlinks are not followed', async (t) => {
    const { srv, ftp } = await session(t);
    const home = srv.home('joe');
    const a = await ftp.cmd('MLST a.txt');
    assert.deepEqual(a.lines, [
      '250-Begin',
      ` ${expectedFacts(await lstat(path.join(home, 'a.txt')), 'file', false)} a.txt`,
      '250 End.',
    ]);
    assert.equal((await ftp.cmd('MLST')).lines[1], ` ${expectedFacts(await lstat(home), 'cdir', false)} .`);
    assert.equal((await ftp.cmd('MLST /')).lines[1], ` ${expectedFacts(await lstat(home), 'pdir', false)} /`);
    assert.equal(
      (await ftp.cmd('MLST dir')).lines[1],
      ` ${expectedFacts(await lstat(path.join(home, 'dir')), 'dir', false)} dir`,
    );
    assert.equal(
      (await ftp.cmd('MLST link')).lines[1],
      ` ${expectedFacts(await lstat(path.join(home, 'link')), 'OS.unix=slink:', false)} link`,
    );
    assert.equal((await ftp.cmd('MLST nosuch')).lines[0], "550 Can't check for file existence");
    const opts = await ftp.cmd('OPTS MLST type;size;');
    assert.equal(opts.lines[0], '200  MLST OPTS type;size;sizd;modify;UNIX.mode;UNIX.uid;UNIX.gid;unique;');
  });

  it('anonymous sessions get no UNIX.uid/UNIX.gid and see symlink targets', async (t) => {
    const { srv } = await session(t);
    await writeFile(path.join(srv.anonRoot, 'pub.txt'), 'public');
    await symlink('pub.txt', path.join(srv.anonRoot, 'pub.lnk'));
    const { ftp } = await RawFtp.connect(srv.port);
    t.after(() => ftp.close());
    await ftp.login('ftp');
    const r = await dataCmd(ftp, 'MLSD');
    const file = lines(r.data).find((l) => l.endsWith('; pub.txt'))!;
    assert.equal(
      file,
      `${expectedFacts(await lstat(path.join(srv.anonRoot, 'pub.txt')), 'file', true)} pub.txt`,
    );
    assert.ok(!r.data.includes('UNIX.uid'), r.data);
    const link = lines(r.data).find((l) => l.endsWith('; pub.lnk'))!;
    assert.match(link, /^type=OS\.unix=slink:pub\.txt;size=7;/);
    const mlst = await ftp.cmd('MLST pub.txt');
    assert.ok(!mlst.text.includes('UNIX.uid'), mlst.text);
  });
});

/**
 * Runs a data command and counts the CRLF lines as they stream in, keeping only the first and the
 * last line, so the client side adds next to nothing to the heap being measured.
 */
async function countedCmd(
  ftp: RawFtp,
  line: string,
): Promise<{ count: number; firstLine: string; lastLine: string; final: RawReply; ms: number }> {
  const started = Date.now();
  const port = await epsvPort(ftp);
  const socket = await connectTo(port);
  ftp.send(line);
  const first = await ftp.read();
  assert.equal(first.code, 150, first.text);
  let count = 0;
  let firstLine = '';
  let lastLine = '';
  let tail = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${line}: listing timed out`)), 60000);
    socket.on('data', (chunk: Buffer) => {
      const parts = (tail + chunk.toString('latin1')).split('\r\n');
      tail = parts.pop()!;
      if (parts.length === 0) return;
      if (count === 0) firstLine = parts[0]!;
      lastLine = parts[parts.length - 1]!;
      count += parts.length;
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', reject);
  });
  assert.equal(tail, '', 'listing does not end with CRLF');
  const final = await ftp.read(60000);
  return { count, firstLine, lastLine, final, ms: Date.now() - started };
}

describe('a directory of 100,000 entries', () => {
  const COUNT = 100_000;

  it(
    'LIST and MLSD stream it completely while another session stays responsive',
    { timeout: 120_000 },
    async (t) => {
      const srv = await startServer({ args: ['-L', '200000:5'] });
      t.after(() => srv.close());
      const big = path.join(srv.home('joe'), 'big');
      await mkdir(big);
      const started = Date.now();
      // A child process creates the files so this process's event loop (the server's) stays free:
      // Python's os.mknod is one system call per file; Node (open + close) is the fallback.
      const made = hasTool('python3')
        ? await runProgram(
            'python3',
            ['-c', `import os\nfor i in range(${COUNT}): os.mknod(${JSON.stringify(big)} + '/f%06d' % i)`],
            { timeoutMs: 90000 },
          )
        : await runProgram(
            process.execPath,
            [
              '-e',
              `const fs = require('fs'); for (let i = 0; i < ${COUNT}; i++) ` +
                `fs.closeSync(fs.openSync(${JSON.stringify(big)} + '/f' + String(i).padStart(6, '0'), 'w'));`,
            ],
            { timeoutMs: 90000 },
          );
      assert.equal(made.code, 0, made.stderr);
      const creation = Date.now() - started;
      // 2-5 s on an idle machine; the generous bound only catches a creation method gone wrong,
      // not a machine busy with other work.
      assert.ok(creation < 60000, `creating ${COUNT} files took ${creation} ms`);
      t.diagnostic(`created ${COUNT} files in ${creation} ms`);

      const { ftp } = await RawFtp.connect(srv.port);
      t.after(() => ftp.close());
      await ftp.login('joe', 'secret');
      const { ftp: other } = await RawFtp.connect(srv.port);
      t.after(() => other.close());
      await other.login('joe', 'secret');

      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      let heapPeak = heapBefore;
      const sampler = setInterval(() => {
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      }, 20);
      t.after(() => clearInterval(sampler));

      // The second session pings the server while the listings run.
      let running = true;
      let maxLatency = 0;
      let pings = 0;
      const pinger = (async () => {
        while (running) {
          const t0 = Date.now();
          const r = await other.cmd('NOOP', 5000);
          assert.equal(r.code, 200);
          maxLatency = Math.max(maxLatency, Date.now() - t0);
          pings++;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();

      try {
        const list = await countedCmd(ftp, 'LIST big');
        assert.equal(list.count, COUNT);
        assert.match(list.firstLine, / f000000$/);
        assert.match(list.lastLine, / f099999$/);
        assert.equal(list.final.lines.at(-1), `226 ${COUNT} matches total`);
        const mlsd = await countedCmd(ftp, 'MLSD big');
        assert.equal(mlsd.count, COUNT + 2);
        assert.equal(mlsd.final.lines.at(-1), `226 ${COUNT + 2} matches total`);
        t.diagnostic(`LIST ${list.ms} ms, MLSD ${mlsd.ms} ms`);
      } finally {
        running = false;
        await pinger;
        clearInterval(sampler);
      }
      const growth = (heapPeak - heapBefore) / 1024 / 1024;
      t.diagnostic(
        `NOOP max latency ${maxLatency} ms over ${pings} pings; heap growth ${growth.toFixed(1)} MB`,
      );
      assert.ok(pings >= 3, `only ${pings} NOOPs completed during the listings`);
      assert.ok(maxLatency < 1000, `a NOOP took ${maxLatency} ms during the listing`);
      assert.ok(growth < 200, `heap grew by ${growth.toFixed(1)} MB`);
    },
  );
});
