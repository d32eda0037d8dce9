/**
 * End-to-end tests of the admin tools run as a user would (`node .build/src/main.js pw|quotacheck`,
 * child processes in temp dirs), compared with the real Pure-FTPd tools on the same inputs
 * (upstream §3.2–§3.4, §4.1, §5.1): file bytes (hash values masked), `show`/`list` output, exit
 * statuses and messages; our mkdb output byte-identical to `pure-pw mkdb`; a hash made by `pw
 * useradd` accepted by the real pure-ftpd; quotacheck's `.ftpquota` equal to pure-quotacheck's.
 * Tests needing a Pure-FTPd tool skip with the reason when it is missing, except under CI=true.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ciSkip } from '../helpers/ci.js';
import { hasTool, runProgram, type RunResult } from '../helpers/transfer-clients.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js');
const PURE_PW = '/usr/bin/pure-pw';
/** Fast fixed Argon2 cost for tests (TSFTPD_PW_ARGON2, docs/virtual-users.md); no default files. */
const ENV = { TSFTPD_PW_ARGON2: '8192,1', PURE_PASSWDFILE: '', PURE_DBFILE: '' };
const ROOT = process.getuid?.() === 0;
const ARGON = /\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+/g;

/** False when the tool exists (or CI=true: then a missing tool fails loudly), else the skip reason. */
function need(...tools: string[]): string | false {
  const missing = tools.filter((t) => !(t.startsWith('/') ? existsSync(t) : hasTool(t)));
  return ciSkip(
    missing.length === 0
      ? undefined
      : `${missing.join(', ')} not installed (apt-get install pure-ftpd python3); CI=true makes this a failure`,
  );
}

/** A temp dir removed after the test. */
async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-pw-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `tsftpd <args>` in `cwd` (killed by PID after 30 s). */
function tsftpd(
  args: string[],
  cwd: string,
  input = 'pw\npw\n',
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  return runProgram(process.execPath, [MAIN, ...args], {
    cwd,
    input,
    env: { ...ENV, ...env },
    timeoutMs: 30000,
  });
}

/** Runs the real pure-pw in `cwd`. */
function purePw(args: string[], cwd: string, input = '', env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runProgram(PURE_PW, args, { cwd, input, env: { PURE_PASSWDFILE: '', PURE_DBFILE: '', ...env } });
}

/** What a run left: status, output and files, Argon2 hashes masked. */
async function outcome(r: RunResult, dir: string, files: string[]): Promise<object> {
  const mask = (s: string): string => s.replace(ARGON, '<hash>');
  const contents: Record<string, string> = {};
  for (const f of files)
    contents[f] = mask(await readFile(path.join(dir, f), 'latin1').catch(() => '<none>'));
  return { code: r.code, stdout: mask(r.stdout.toString('latin1')), stderr: r.stderr, ...contents };
}

const FIXTURE = [
  '# comment kept',
  '',
  'nocolon',
  'bad:x:0:0::/x',
  'joe:$6$salt$hash:65534:65534:Joe:/srv/joe/./::::::::::::',
  'few:x:1:1::/few',
  'crlf:H:1:1::/crlf\r',
  'full:H:65534:65534:F:/srv/f:51200:102400:1:5:3:1000:10485760:127.0.0.1:10.1.1.1/32:::900-1800',
  'odd:x:12abc: 5::/h:1:2:0:3:0:4:5:a:b:c:d:0900-1800:extra',
  'zé:H:1:1:Gé:/é',
  '',
].join('\n');

/** Runs the same pw commands (no password hashing) with pure-pw and with us on copies of `setup`. */
async function sameAsPurePw(
  t: TestContext,
  setup: string,
  steps: string[][],
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const dir = await tempDir(t);
  for (const who of ['real', 'ours']) {
    await mkdir(path.join(dir, who));
    await writeFile(path.join(dir, who, 'p'), setup, 'latin1');
  }
  for (const step of steps) {
    const cwd = (who: string): string => path.join(dir, who);
    const [real, ours] = await Promise.all([
      purePw(step, cwd('real'), '', env).then((r) => outcome(r, cwd('real'), ['p', 'x.pdb'])),
      tsftpd(['pw', ...step], cwd('ours'), '', env).then((r) => outcome(r, cwd('ours'), ['p', 'x.pdb'])),
    ]);
    assert.deepEqual(ours, real, `pw ${step.join(' ')}`);
  }
}

test(
  'pw show, list, usermod (every option, then cleared), userdel, mkdb: same as pure-pw',
  { skip: need(PURE_PW) },
  async (t) => {
    const F = ['-f', 'p'];
    await sameAsPurePw(t, FIXTURE, [
      ...['joe', 'few', 'crlf', 'full', 'odd', 'zé', 'nobody'].map((u) => ['show', u, ...F]),
      [
        'usermod',
        'joe',
        ...['-t', '100', '-T', '50', '-n', '1000', '-N', '10', '-q', '1', '-Q', '5', '-y', '3'],
        ...F,
      ],
      [
        'usermod',
        'joe',
        ...['-i', '127.0.0.1', '-I', '10.1.1.1/32', '-r', '10.0.0.0/8', '-R', '192.168.1.1'],
        ...F,
      ],
      [
        'usermod',
        'joe',
        ...['-z', '0900-1800', '-c', 'Full: User', '-D', '/srv/home/joe//', '-u', 'nobody'],
        ...F,
      ],
      ['show', 'joe', ...F],
      [
        'usermod',
        'joe',
        '-t',
        '',
        '-T',
        '0',
        '-n',
        '',
        '-N',
        '',
        '-q',
        '',
        '-Q',
        '',
        '-y',
        '0',
        '-z',
        '',
        ...F,
      ],
      ['usermod', 'joe', '-i', '', '-I', '', '-r', '', '-R', '', '-c', '', '-d', '/n', '-g', 'nogroup', ...F],
      ['usermod', 'joe', '-g', 'nogroup', '-g', '7', ...F],
      ['usermod', 'odd', '-c', 'rewritten leniently', ...F],
      ['usermod', 'zé', '-n', '7', ...F],
      ['show', 'joe', ...F],
      ['userdel', 'few', ...F],
      ['mkdb', 'x.pdb', ...F],
      ['usermod', 'full', '-y', '9', '-m', '-F', 'x.pdb', ...F],
      ['userdel', 'nobody', '-m', '-F', 'x.pdb', ...F],
    ]);
  },
);

test('pw errors: same messages and exit statuses as pure-pw', { skip: need(PURE_PW) }, async (t) => {
  const F = ['-f', 'p'];
  const direct = sameAsPurePw(t, FIXTURE, [
    ['usermod', 'nobody', ...F],
    ['show', 'nobody', '-f', 'missing'],
    ['userdel', 'joe', '-f', 'missing'],
    ['usermod', 'joe', '-q', '0', ...F],
    ['usermod', 'joe', '-Q', '0', ...F],
    ['usermod', 'joe', '-z', '2400-0100', ...F],
    ['usermod', 'joe', '-d', '///', ...F],
    ['usermod', 'joe', '-u', '5', '-u', '6', ...F],
    ['usermod', 'joe', '-g', '5', '-g', '6', ...F],
    ['usermod', 'joe', '-C', '0', ...F],
    ['usermod', 'joe', '-M', '0', ...F],
    ['useradd', 'new', '-u', '1000', ...F],
    ['useradd', 'new', '-u', 'nobody', ...F],
    ['useradd', 'joe', '-u', 'nobody', '-d', '/x', ...F],
    ['mkdb', 'x.pdb', '-f', 'missing'],
    ['USERMOD', 'joe', '-c', 'action names ignore case', ...F],
  ]);
  // Through the environment, as pure-pw reads it.
  const viaEnv = sameAsPurePw(
    t,
    FIXTURE,
    [['list'], ['mkdb'], ['usermod', 'joe', '-c', 'env', '-m'], ['show', 'joe']],
    {
      PURE_PASSWDFILE: 'p',
      PURE_DBFILE: 'x.pdb',
    },
  );
  await Promise.all([direct, viaEnv]);
});

test(
  'pw useradd/passwd: the lines pure-pw writes, read back by pure-pw show',
  { skip: need(PURE_PW) },
  async (t) => {
    const dir = await tempDir(t);
    const add = await tsftpd(
      ['pw', 'useradd', 'full', '-f', 'p', '-u', 'nobody', '-d', '/srv/home/joe'].concat(
        [
          '-t',
          '100',
          '-T',
          '50',
          '-n',
          '1000',
          '-N',
          '10',
          '-q',
          '1',
          '-Q',
          '5',
          '-y',
          '3',
          '-c',
          'Full User',
        ],
        [
          '-i',
          '127.0.0.1',
          '-I',
          '10.1.1.1/32',
          '-r',
          '127.0.0.1/8,10.0.0.0/8',
          '-R',
          '192.168.1.1',
          '-z',
          '0900-1800',
        ],
      ),
      dir,
    );
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout.toString(), 'Password: \nEnter it again: \n');
    await tsftpd(
      ['pw', 'useradd', 'joe', '-f', 'p', '-u', '65534', '-g', '65534', '-d', '/srv/home/joe/'],
      dir,
    );
    const text = await readFile(path.join(dir, 'p'), 'utf8');
    assert.equal(
      text.replace(ARGON, '<hash>'),
      'full:<hash>:65534:65534:Full User:/srv/home/joe/./:51200:102400:1:5:3:1000:10485760:127.0.0.1:10.1.1.1/32:127.0.0.1/8,10.0.0.0/8:192.168.1.1:900-1800\n' +
        'joe:<hash>:65534:65534::/srv/home/joe/./::::::::::::\n',
    );
    assert.equal((await stat(path.join(dir, 'p'))).mode & 0o777, 0o600);
    for (const login of ['full', 'joe']) {
      const ours = await tsftpd(['pw', 'show', login, '-f', 'p'], dir);
      const real = await purePw(['show', login, '-f', 'p'], dir);
      assert.equal(ours.stdout.toString(), real.stdout.toString());
      assert.equal(real.code, 0);
    }
    const before = text.match(ARGON)![1];
    const attempts = await tsftpd(['pw', 'passwd', 'joe', '-f', 'p'], dir, 'a\nb\nc\nd\ne\nf\n');
    assert.equal(attempts.code, 8);
    assert.equal(attempts.stdout.toString().split("You didn't enter the same password").length, 4);
    assert.equal(attempts.stderr, 'Error with entering password - aborting\n');
    assert.equal((await tsftpd(['pw', 'passwd', 'joe', '-f', 'p'], dir, 'only-once\n')).code, 8);
    const changed = await tsftpd(['pw', 'passwd', 'joe', '-f', 'p'], dir, 'new\r\nnew\r\n');
    assert.equal(changed.code, 0, changed.stderr);
    const after = await readFile(path.join(dir, 'p'), 'utf8');
    assert.notEqual(after.match(ARGON)![1], before);
    assert.ok(!existsSync(path.join(dir, 'p.tmp')));
  },
);

test(
  'pw: pure-pw edits our file, we edit theirs, mkdb outputs are byte-identical',
  { skip: need(PURE_PW) },
  async (t) => {
    const dir = await tempDir(t);
    const lines = [FIXTURE];
    for (let i = 0; i < 3000; i++)
      lines.push(`u${i}:$6$s$h${i}:${1000 + (i % 7)}:100:User ${i}:/home/u${i}/./::::::::::::\n`);
    lines.push('u5:duplicate:1:1::/dup\nlast:H:1:1::/unterminated');
    await writeFile(path.join(dir, 'p'), lines.join(''), 'latin1');
    assert.equal((await purePw(['usermod', 'u7', '-f', 'p', '-c', 'by pure-pw', '-t', '5'], dir)).code, 0);
    assert.equal((await tsftpd(['pw', 'usermod', 'u8', '-f', 'p', '-c', 'by tsftpd'], dir)).code, 0);
    assert.equal((await tsftpd(['pw', 'userdel', 'u9', '-f', 'p'], dir)).code, 0);
    assert.equal((await purePw(['mkdb', 'theirs.pdb', '-f', 'p'], dir)).code, 0);
    const ours = await tsftpd(['pw', 'mkdb', 'ours.pdb', '-f', 'p'], dir);
    assert.equal(ours.code, 0);
    assert.equal(ours.stderr, '', 'no progress output when stderr is not a terminal');
    assert.ok(
      (await readFile(path.join(dir, 'ours.pdb'))).equals(await readFile(path.join(dir, 'theirs.pdb'))),
    );
    assert.equal((await stat(path.join(dir, 'ours.pdb'))).mode & 0o777, 0o600);
    const shown = await purePw(['show', 'u8', '-f', 'p'], dir);
    assert.match(shown.stdout.toString(), /Full name {10}: by tsftpd\n/);
  },
);

test(
  'on a terminal: mkdb shows a percentage, list pads columns as pure-pw',
  { skip: need('script', PURE_PW) },
  async (t) => {
    const dir = await tempDir(t);
    const line =
      'user:$6$salt$0123456789012345678901234567890123456789:1000:1000:Some User:/srv/ftp/user/./::::::::::::\n';
    await writeFile(path.join(dir, 'p'), line.repeat(300_000));
    await writeFile(path.join(dir, 'small'), FIXTURE);
    const onTerminal = (cmd: string): Promise<RunResult> =>
      runProgram('script', ['-qec', cmd, '/dev/null'], {
        cwd: dir,
        env: { ...ENV, PURE_PASSWDFILE: 'small' },
        timeoutMs: 60000,
      });
    const r = await onTerminal(`${process.execPath} ${MAIN} pw mkdb x.pdb -f p`);
    assert.equal(r.code, 0);
    assert.match(r.stdout.toString(), /Building x\.pdb: (\d+% read, writing the index\.\.\.|done)/);
    const ours = await onTerminal(`${process.execPath} ${MAIN} pw list`);
    const real = await onTerminal(`${PURE_PW} list`);
    assert.match(ours.stdout.toString(), /^joe {17}\/srv\/joe\/\.\/ {29}Joe {16}\r\n/m);
    assert.equal(ours.stdout.toString('latin1'), real.stdout.toString('latin1'));
  },
);

test('pw: atomic rewrite through <file>.tmp, concurrent writers exclude each other', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'p'), FIXTURE);
  await writeFile(path.join(dir, 'p.tmp'), 'a writer at work');
  const busy = await tsftpd(['pw', 'usermod', 'joe', '-f', 'p', '-c', 'x'], dir);
  assert.equal(busy.code, 4);
  assert.match(busy.stderr, /\[p\.tmp\] already exists: another update is in progress/);
  assert.equal(await readFile(path.join(dir, 'p'), 'utf8'), FIXTURE);
  const old = new Date(Date.now() - 3600_000);
  await utimes(path.join(dir, 'p.tmp'), old, old);
  assert.equal(
    (await tsftpd(['pw', 'usermod', 'joe', '-f', 'p', '-c', 'x'], dir)).code,
    0,
    'stale temp replaced',
  );
  assert.ok(!existsSync(path.join(dir, 'p.tmp')));
  const runs = await Promise.all(
    ['a', 'b', 'c', 'd'].map((c) => tsftpd(['pw', 'usermod', 'full', '-f', 'p', '-c', c], dir)),
  );
  assert.ok(runs.every((r) => r.code === 0 || r.code === 4) && runs.some((r) => r.code === 0));
  const text = await readFile(path.join(dir, 'p'), 'utf8');
  assert.equal(text.split('\n').length, FIXTURE.split('\n').length, 'no line lost or duplicated');
  assert.match(text, /\nfull:H:65534:65534:[abcd]:\/srv\/f:/);
});

test('pw: deliberate differences from pure-pw quirks', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'p'), 'last:H:1:1::/no-newline');
  const add = (args: string[]): Promise<RunResult> => tsftpd(['pw', 'useradd', ...args, '-f', 'p'], dir);
  assert.equal((await add(['a', '-u', 'nobody', '-d', '/a', '-t', '', '-y', '', '-z', ''])).code, 0);
  assert.match(
    await readFile(path.join(dir, 'p'), 'utf8'),
    /^last:H:1:1::\/no-newline\na:\S+:\/a\/\.\/::::::::::::\n$/,
  );
  assert.equal((await add(['b', '-u', 'nobody', '-d', 'relative'])).code, 1);
  assert.equal((await add(['b', '-u', 'nobody', '-d', '/b', '-c', 'two\nlines'])).code, 1);
  assert.equal((await add(['b', '-u', 'nobody', '-d', '/b', '-r', '::1'])).code, 1);
  assert.equal(
    (await tsftpd(['pw', 'list', '-f', 'p'], dir)).stdout.toString(),
    'last\t/no-newline\t\na\t/a/./\t\n',
  );
  assert.equal(
    (await tsftpd(['pw', 'useradd', '-u', 'nobody', '-d', '/x', '-f', 'p'], dir)).stderr,
    'Missing login\n',
  );
});

test(
  'pw: calibrated Argon2id cost and a hash the real pure-ftpd accepts',
  { skip: need('/usr/sbin/pure-ftpd', 'python3') || (!ROOT && 'needs root (pure-ftpd chroots the user)') },
  async (t) => {
    const dir = await tempDir(t);
    const home = path.join(dir, 'home');
    await mkdir(home);
    await chown(home, 65534, 65534);
    await chmod(dir, 0o755);
    // -M 64 -C 64: 1 MiB per hash and a 250 ms target, so the calibration stays short.
    const made = await tsftpd(
      [
        'pw',
        'useradd',
        'joe',
        '-f',
        'p',
        '-u',
        'nobody',
        '-d',
        home,
        '-M',
        '64',
        '-C',
        '64',
        '-m',
        '-F',
        'x.pdb',
      ],
      dir,
      'secret\nsecret\n',
      { TSFTPD_PW_ARGON2: '' },
    );
    assert.equal(made.code, 0, made.stderr);
    const [, t1] = /m=1024,t=(\d+),p=1/.exec(await readFile(path.join(dir, 'p'), 'utf8')) ?? [];
    assert.ok(t1 !== undefined && Number.isInteger(Math.log2(Number(t1) + 1)), `t=${t1} is 2^k-1`);
    const port = await freePort();
    const server = spawn(
      '/usr/sbin/pure-ftpd',
      ['-S', `127.0.0.1,${port}`, '-l', `puredb:${path.join(dir, 'x.pdb')}`, '-E', '-H'],
      { stdio: 'ignore' },
    );
    t.after(() => void (server.pid !== undefined && process.kill(server.pid, 'SIGKILL')));
    await waitListening(port);
    const script = `import ftplib, os
f = ftplib.FTP(); f.connect('127.0.0.1', int(os.environ['PORT'])); print(f.login('joe', os.environ['PW'])); f.quit()`;
    const ok = await runProgram('python3', ['-c', script], { env: { PORT: String(port), PW: 'secret' } });
    assert.match(ok.stdout.toString(), /^230 /, ok.stderr);
    const bad = await runProgram('python3', ['-c', script], { env: { PORT: String(port), PW: 'wrong' } });
    assert.match(bad.stderr, /530/);
  },
);

/** A currently free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Waits (up to 10 s) until something accepts connections on the port. */
async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

test(
  'pw import-system prints what pure-pwconvert prints',
  { skip: need('/usr/bin/pure-pwconvert') },
  async () => {
    // Other test files create and remove system accounts meanwhile: the two reads of the account
    // files may see different sets, so a difference is read again (at most 5 times).
    let real = await runProgram('/usr/bin/pure-pwconvert', []);
    let ours = await tsftpd(['pw', 'import-system'], os.tmpdir());
    for (let i = 0; i < 5 && ours.stdout.toString('latin1') !== real.stdout.toString('latin1'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      real = await runProgram('/usr/bin/pure-pwconvert', []);
      ours = await tsftpd(['pw', 'import-system'], os.tmpdir());
    }
    assert.equal(ours.code, 0);
    assert.equal(ours.stdout.toString('latin1'), real.stdout.toString('latin1'));
  },
);

test(
  'quotacheck writes the .ftpquota pure-quotacheck writes; same errors',
  { skip: need('/usr/sbin/pure-quotacheck') || (!ROOT && 'needs root (runs as another uid)') },
  async (t) => {
    const dir = await tempDir(t);
    const tree = path.join(dir, 'tree');
    for (const d of ['a/b', 'c', 'noexec', 'locked', 'x/x/x/x/x/x/x/x'])
      await mkdir(path.join(tree, d), { recursive: true });
    await writeFile(path.join(tree, 'f1'), 'hello\n');
    await writeFile(path.join(tree, 'a/f2'), Buffer.alloc(1000));
    await writeFile(path.join(tree, 'a/b/f3'), 'x\n');
    await writeFile(path.join(tree, 'noexec/w'), '1234\n');
    await writeFile(path.join(tree, 'locked/z'), 'z\n');
    await writeFile(path.join(tree, '.ftpquota'), '99 99\n', { mode: 0o600 });
    for (const [target, name] of [
      ['a', 'linkdir'],
      ['f1', 'linkfile'],
      ['/etc/passwd', 'abs'],
      ['../../../etc/passwd', 'a/rel'],
      ['/a', 'jailabs'],
      ['.', 'loop'],
    ]) {
      await symlink(target, path.join(tree, name));
    }
    for (const p of ['', 'a', 'a/b', 'c', 'f1', 'a/f2', 'a/b/f3', 'noexec', 'noexec/w', 'x', '.ftpquota']) {
      await chown(path.join(tree, p), 65534, 65534);
    }
    await chmod(path.join(tree, 'locked'), 0o700);
    const results: string[] = [];
    for (const tool of ['real', 'ours']) {
      await chmod(path.join(tree, 'noexec'), 0o600);
      const args = ['-u', 'nobody', '-d', tree];
      const r =
        tool === 'real'
          ? await runProgram('/usr/sbin/pure-quotacheck', args)
          : await tsftpd(['quotacheck', ...args], dir);
      assert.equal(r.code, 0, r.stderr);
      const st = await stat(path.join(tree, '.ftpquota'));
      assert.deepEqual([st.mode & 0o777, st.uid, st.gid], [0o600, 65534, 65534]);
      results.push(await readFile(path.join(tree, '.ftpquota'), 'utf8'));
    }
    // 12 directories (a, a/b, c, noexec fixed to u+rx, 8 x's; locked is unreadable, links are not
    // counted twice) + 5 files (linkfile counts f1 again; abs and a/rel lead nowhere inside the tree).
    assert.equal(results[0], '17 1019\n');
    assert.equal(results[1], results[0]);
    for (const args of [
      ['-u', 'nobody'],
      ['-d', tree],
      ['-u', '65534', '-d', tree],
      ['-u', 'nobody', '-g', '5', '-d', tree],
      ['-d', tree, '-d', tree],
      ['-u', 'nobody', '-d', path.join(dir, 'none')],
      ['-u', '4242', '-g', '4242', '-d', tree],
    ]) {
      const real = await runProgram('/usr/sbin/pure-quotacheck', args);
      const ours = await tsftpd(['quotacheck', ...args], dir);
      assert.equal(ours.code, real.code, args.join(' '));
      if (real.code !== 253) assert.equal(ours.stderr, real.stderr, args.join(' '));
    }
  },
);
