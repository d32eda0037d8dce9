/**
 * `tsftpd quotacheck` against the real pure-quotacheck on the same trees (upstream §5.1): for each
 * shape (wide, deep past PATH_MAX with a shortcut symlink, hard links, symlinks of every kind,
 * permissions, special files, another filesystem mounted inside, run as a user) the tree is built
 * afresh for each tool (both change it: u+rx on the account's directories) and the `.ftpquota`
 * written must be byte-identical; the JavaScript walk (used when the addon is missing) must
 * find the same counts. Also: 40,000 files are counted with about pure-quotacheck's CPU time.
 * Needs root (runs as other uids) and pure-quotacheck (Debian pure-ftpd); skipped with the reason
 * otherwise, except under CI=true.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  link,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ciSkip } from '../helpers/ci.js';
import { runProgram, type RunResult } from '../helpers/transfer-clients.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(HERE, '../../src/main.js');
const WALK = path.resolve(HERE, '../../src/tools/quota-walk.js');
const PURE = '/usr/sbin/pure-quotacheck';
const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const NOGROUP = 65534;
/** Group `users` (Debian: gid 100): the account is given it with -g in one shape. */
const USERS = 100;

const skip = ciSkip(
  !existsSync(PURE)
    ? `${PURE} not installed (apt-get install pure-ftpd); CI=true makes this a failure`
    : !ROOT
      ? 'needs root (pure-quotacheck and tsftpd quotacheck switch to another uid)'
      : undefined,
);

/** A temp dir (searchable by all: one shape runs as nobody), removed after the test. */
async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-qc-'));
  await chmod(dir, 0o755);
  t.after(() => removeTree(dir));
  return dir;
}

/** rm -rf (coreutils' rm removes trees deeper than PATH_MAX; fs.rm does not). */
function removeTree(p: string): void {
  execFileSync('rm', ['-rf', '--one-file-system', p]);
}

/** Makes a file of `size` bytes (sparse: only the size matters). */
async function file(p: string, size: number, owner = NOBODY): Promise<void> {
  await writeFile(p, '');
  await truncate(p, size);
  await chown(p, owner, NOGROUP);
}

/** Makes a directory owned by `owner` with `mode`. */
async function dir(p: string, mode = 0o755, owner = NOBODY, group = NOGROUP): Promise<void> {
  await mkdir(p);
  await chown(p, owner, group);
  await chmod(p, mode);
}

/** The root of a shape's tree, owned by the account. */
async function root(base: string): Promise<string> {
  removeTree(base);
  await dir(base);
  return base;
}

/** Runs `mkfifo`/`mknod`/a Unix socket: special files that are never counted. */
function special(p: string, kind: 'fifo' | 'socket' | 'char'): void {
  if (kind === 'fifo') execFileSync('mkfifo', [p]);
  else if (kind === 'char') execFileSync('mknod', [p, 'c', '1', '3']);
  else
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p]);
}

/** Runs argv[1:] and prints the CPU time (user + system, ms) the child used; exits with its status. */
const CPU_TIME = [
  'import resource, subprocess, sys',
  'code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode',
  'u = resource.getrusage(resource.RUSAGE_CHILDREN)',
  'print(round((u.ru_utime + u.ru_stime) * 1000))',
  'sys.exit(code)',
].join('\n');

/** A tree builder: makes the shape under the given (new) root. */
type Shape = (top: string) => Promise<void>;

const shapes: Record<string, Shape> = {
  async wide(top) {
    await dir(path.join(top, 'many'));
    await dir(path.join(top, 'many', 'sub'));
    execFileSync('python3', [
      '-c',
      [
        'import os,sys',
        'def mk(p,n): open(p,"w").close(); os.truncate(p,n); os.chown(p,65534,65534)',
        'for i in range(2500): mk(f"{sys.argv[1]}/many/f{i}", (i*37)%5000)',
        'for i in range(100): mk(f"{sys.argv[1]}/many/sub/.g{i}", i)',
      ].join('\n'),
      top,
    ]);
  },

  async deep(top) {
    // 30 levels of 200-byte names, a file in each: pure-quotacheck stops where its path reaches
    // PATH_MAX. Made relative to directory descriptors (the full paths are too long for mkdir).
    execFileSync('python3', [
      '-c',
      [
        'import os,sys',
        'fd=os.open(sys.argv[1],os.O_RDONLY)',
        'for i in range(30):',
        ' n="%02d"%i+"d"*198; os.mkdir(n,dir_fd=fd); os.chown(n,65534,65534,dir_fd=fd)',
        ' f=os.open("f",os.O_WRONLY|os.O_CREAT,0o644,dir_fd=fd); os.ftruncate(f,i+1); os.close(f)',
        ' os.chown("f",65534,65534,dir_fd=fd)',
        ' c=os.open(n,os.O_RDONLY,dir_fd=fd); os.close(fd); fd=c',
      ].join('\n'),
      top,
    ]);
    // Shortcuts reaching levels 3 and 12 by shorter paths go deeper, if readdir gives them first.
    const names = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(198)}`);
    await symlink(names.slice(0, 3).join('/'), path.join(top, 's'));
    await symlink(names.join('/'), path.join(top, 'zz'));
  },

  async links(top) {
    await dir(path.join(top, 'a'));
    await dir(path.join(top, 'a', 'b'));
    await dir(path.join(top, 'etc'));
    await file(path.join(top, 'f'), 1000);
    await file(path.join(top, 'etc', 'passwd'), 77); // what "/etc/passwd" means in the chroot
    await link(path.join(top, 'f'), path.join(top, 'a', 'hard1'));
    await link(path.join(top, 'f'), path.join(top, 'a', 'b', 'hard2'));
    const links: [string, string][] = [
      ['f', 'rel-file'],
      ['/f', 'abs-file'],
      ['a', 'rel-dir'],
      ['/a/b', 'abs-dir'],
      ['/etc/passwd', 'abs-outside'],
      ['../../../../../../etc/passwd', 'a/up-outside'],
      ['..', 'a/b/up'],
      ['/', 'a/slash'],
      ['.', 'dot'],
      ['nowhere', 'dangling'],
      ['loop2', 'loop1'],
      ['loop1', 'loop2'],
      ['rel-file', 'chain'],
      ['/proc/self/root/etc/passwd', 'magic'],
    ];
    for (const [target, name] of links) await symlink(target, path.join(top, name));
    for (let i = 0; i < 45; i++) await symlink(i === 0 ? 'f' : `c${i - 1}`, path.join(top, `c${i}`));
  },

  async perms(top) {
    await dir(path.join(top, 'other700'), 0o700, 0);
    await file(path.join(top, 'other700', 'x'), 5, 0);
    await dir(path.join(top, 'other755'), 0o755, 0);
    await file(path.join(top, 'other755', 'x'), 6, 0);
    await dir(path.join(top, 'other744'), 0o744, 0); // listable, not searchable: counted, not its files
    await file(path.join(top, 'other744', 'x'), 7, 0);
    await dir(path.join(top, 'own600'), 0o600); // the account's: given u+x
    await file(path.join(top, 'own600', 'x'), 8);
    await dir(path.join(top, 'own300'), 0o300); // not readable
    await file(path.join(top, 'own300', 'x'), 9);
    await dir(path.join(top, 'own000'), 0o000);
    await dir(path.join(top, 'group750'), 0o750, 0, USERS); // readable through -g users
    await file(path.join(top, 'group750', 'x'), 10, 0);
    await dir(path.join(top, 'hidden'), 0o711, 0); // searchable, not listable
    await dir(path.join(top, 'hidden', 'inner'), 0o755);
    await file(path.join(top, 'hidden', 'inner', 'x'), 11);
    await symlink('hidden/inner', path.join(top, 'via'));
    await file(path.join(top, 'unreadable'), 12);
    await chmod(path.join(top, 'unreadable'), 0);
  },

  async special(top) {
    special(path.join(top, 'fifo'), 'fifo');
    special(path.join(top, 'sock'), 'socket');
    special(path.join(top, 'null'), 'char');
    await symlink('fifo', path.join(top, 'to-fifo'));
    await file(path.join(top, '.dot'), 3);
    await file(path.join(top, 'empty'), 0);
    await dir(path.join(top, 'd'));
    await file(path.join(top, 'd', '.ftpquota'), 99);
    await dir(path.join(top, 'd', '.ftpquota-not'));
    await dir(path.join(top, 'e'));
    await dir(path.join(top, 'e', '.ftpquota')); // skipped by name, even a directory
    await file(path.join(top, 'e', '.ftpquota', 'inside'), 50);
    await file(path.join(top, '.ftpquota'), 4);
  },
};

/** `files bytes` as pure-quotacheck or tsftpd quotacheck wrote it into `top`. */
async function quotaFile(top: string, r: RunResult): Promise<string> {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const text = await readFile(path.join(top, '.ftpquota'), 'latin1');
  await rm(path.join(top, '.ftpquota'));
  return text;
}

/**
 * Runs the JavaScript walk (what runs without the addon): confined as root switching to the
 * account, else as the account itself. Returns `files bytes\n`.
 */
async function fallbackWalk(top: string, uid: number, gid: number, confined: boolean): Promise<string> {
  const script =
    `const m = await import(${JSON.stringify(WALK)});` +
    `const who = { uid: ${uid}, gid: ${gid}, groups: [${gid}], confined: ${confined} };` +
    `const t = await m.countTree(process.argv[1], who);` +
    `process.stdout.write(t.files + ' ' + t.bytes + '\\n');`;
  const node = [process.execPath, '--input-type=module', '-e', script, top];
  const argv = confined
    ? node
    : ['/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...node];
  const r = await runProgram(argv[0], argv.slice(1), { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString('latin1');
}

/** Builds `shape` three times and returns what pure-quotacheck, ours and our JS walk count. */
async function compare(
  base: string,
  shape: Shape,
  account: string[],
  ids: { uid: number; gid: number },
): Promise<string[]> {
  const top = path.join(base, 'tree');
  const args = [...account, '-d', top];
  await shape(await root(top));
  const real = await quotaFile(top, await runProgram(PURE, args, { timeoutMs: 60000 }));
  await shape(await root(top));
  const ours = await quotaFile(
    top,
    await runProgram(process.execPath, [MAIN, 'quotacheck', ...args], { timeoutMs: 60000 }),
  );
  await shape(await root(top));
  const js = await fallbackWalk(top, ids.uid, ids.gid, true);
  return [real, ours, js];
}

for (const [name, shape] of Object.entries(shapes)) {
  test(`quotacheck: .ftpquota byte-identical to pure-quotacheck's (${name})`, { skip }, async (t) => {
    const base = await tempDir(t);
    // -g before -u: after -u, pure-quotacheck refuses a -g ("You already gave a gid").
    const groupArgs = name === 'perms' ? ['-g', String(USERS)] : [];
    const gid = name === 'perms' ? USERS : NOGROUP;
    const [real, ours, js] = await compare(base, shape, [...groupArgs, '-u', 'nobody'], { uid: NOBODY, gid });
    assert.match(real, /^\d+ \d+\n$/);
    assert.equal(ours, real);
    assert.equal(js, real, 'the JavaScript walk (no addon)');
  });
}

test(
  'quotacheck: another filesystem mounted inside the tree is counted as by pure-quotacheck',
  { skip },
  async (t) => {
    const base = await tempDir(t);
    const top = path.join(base, 'tree');
    const mnt = path.join(top, 'mnt');
    const args = ['-u', 'nobody', '-d', top];
    const mountedTree = async (): Promise<boolean> => {
      await dir(path.join(await root(top), 'mnt'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755,uid=65534', 'tsftpd-qc', mnt], {
          stdio: 'ignore',
        });
      } catch {
        return false;
      }
      await file(path.join(mnt, 'f'), 1234);
      await dir(path.join(mnt, 'd'));
      return true;
    };
    const results: string[] = [];
    for (const argv of [
      [PURE, ...args],
      [process.execPath, MAIN, 'quotacheck', ...args],
    ]) {
      if (!(await mountedTree())) return t.skip('cannot mount a tmpfs here');
      try {
        results.push(await quotaFile(top, await runProgram(argv[0], argv.slice(1))));
      } finally {
        execFileSync('umount', [mnt]);
      }
    }
    assert.equal(results[0], '3 1234\n');
    assert.equal(results[1], results[0]);
  },
);

test(
  'quotacheck run as a user (no chroot): same .ftpquota as pure-quotacheck run as that user',
  { skip },
  async (t) => {
    const base = await tempDir(t);
    const top = path.join(base, 'tree');
    const shape: Shape = async (tree) => {
      // Symlinks resolve on the whole system here: none may lead to `/`, or the machine is counted.
      await dir(path.join(tree, 'a'));
      await dir(path.join(tree, 'a', 'b'));
      await file(path.join(tree, 'f'), 1000);
      await link(path.join(tree, 'f'), path.join(tree, 'a', 'hard1'));
      const links: [string, string][] = [
        ['f', 'rel-file'],
        ['a', 'rel-dir'],
        ['..', 'a/b/up'],
        [tree, 'a/abs-root'],
        ['/nonexistent-tsftpd/x', 'abs-missing'],
        ['loop2', 'loop1'],
        ['loop1', 'loop2'],
      ];
      for (const [target, name] of links) await symlink(target, path.join(tree, name));
      await dir(path.join(tree, 'own600'), 0o600);
      await file(path.join(tree, 'own600', 'x'), 8);
      await symlink('/etc/hostname', path.join(tree, 'system-file')); // outside: followed, as the user
    };
    const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOGROUP}`, '--clear-groups'];
    const args = ['-u', 'nobody', '-d', top];
    await shape(await root(top));
    const real = await quotaFile(top, await runProgram(asNobody[0], [...asNobody.slice(1), PURE, ...args]));
    await shape(await root(top));
    const ours = await quotaFile(
      top,
      await runProgram(asNobody[0], [...asNobody.slice(1), process.execPath, MAIN, 'quotacheck', ...args]),
    );
    await shape(await root(top));
    const js = await fallbackWalk(top, NOBODY, NOGROUP, false);
    assert.equal(ours, real);
    assert.equal(js, real, 'the JavaScript walk (no addon)');
  },
);

test(
  'quotacheck counts 40,000 files with about the CPU time of pure-quotacheck (one pass, no promise per file)',
  { skip },
  async (t) => {
    const base = await tempDir(t);
    const top = path.join(base, 'tree');
    await root(top);
    // Made by one Python process: 40,000 files from JavaScript would take longer than the test.
    execFileSync('python3', [
      '-c',
      'import os,sys\nfor d in range(40):\n p=f"{sys.argv[1]}/d{d}"; os.mkdir(p)\n for f in range(1000):\n  open(f"{p}/f{f}","w").close(); os.truncate(f"{p}/f{f}", f)',
      top,
    ]);
    execFileSync('chown', ['-R', 'nobody:nogroup', top]);
    const args = ['-u', 'nobody', '-d', top];
    // CPU time (user + system, from the kernel's accounting of the child) rather than wall time:
    // it says how much work a run does, whatever else the machine is doing at the same time.
    const cpu = async (argv: string[]): Promise<number> => {
      const r = await runProgram('python3', ['-c', CPU_TIME, ...argv], { timeoutMs: 60000 });
      assert.equal(r.code, 0, r.stderr);
      return Number(r.stdout.toString('latin1'));
    };
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const runs: Record<'real' | 'ours' | 'node', number[]> = { real: [], ours: [], node: [] };
    for (let i = 0; i < 3; i++) {
      runs.real.push(await cpu([PURE, ...args]));
      runs.ours.push(await cpu([process.execPath, MAIN, 'quotacheck', ...args]));
      runs.node.push(await cpu([process.execPath, '-e', '0']));
    }
    assert.equal(await readFile(path.join(top, '.ftpquota'), 'latin1'), `40040 ${40 * ((999 * 1000) / 2)}\n`);
    const [real, ours, node] = [median(runs.real), median(runs.ours), median(runs.node)];
    t.diagnostic(
      `CPU time (medians of 3): pure-quotacheck ${real} ms, tsftpd quotacheck ${ours} ms, of which ` +
        `${node} ms is Node's own start`,
    );
    // One fstatat per file, as pure-quotacheck: the old walk (a promise and a pool round trip per
    // file) spent ~10 times pure-quotacheck's CPU time here.
    assert.ok(
      ours - node < 2 * real + 50,
      `tsftpd quotacheck used ${ours} ms of CPU, pure-quotacheck ${real} ms`,
    );
  },
);
