/**
 * The native quota walk (native/quotawalk.c) at its interface: arguments checked (a path with a
 * NUL byte, a bad descriptor, wrong types are refused, never crash), errors carry Node's errno
 * fields, and a small tree is counted the same by the native and the JavaScript walks. Comparisons
 * with pure-quotacheck on real trees are in test/e2e/quotacheck.test.ts.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ciSkip } from '../helpers/ci.js';
import { countTree, quotaAddon, type WalkIdentity } from '../../src/tools/quota-walk.js';

const addon = await quotaAddon();
const skip = ciSkip(
  addon === undefined ? 'build/Release/tsftpd_quota.node not built (npm install)' : undefined,
);

async function tree(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-qw-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'a', 'b'), { recursive: true });
  await writeFile(path.join(dir, 'f'), 'hello');
  await writeFile(path.join(dir, 'a', 'b', 'g'), Buffer.alloc(1000));
  await writeFile(path.join(dir, '.ftpquota'), '9 9\n');
  await link(path.join(dir, 'f'), path.join(dir, 'a', 'h'));
  await symlink('a', path.join(dir, 'to-a'));
  await symlink('f', path.join(dir, 'to-f'));
  await symlink('missing', path.join(dir, 'dangling'));
  return dir;
}

test('quota walk (native): arguments are checked', { skip }, async () => {
  const a = addon!;
  assert.throws(() => a.openRoot('/tmp\0/etc'), /NUL/);
  assert.throws(() => a.openRoot(''), TypeError);
  assert.throws(() => (a.openRoot as (p: unknown) => number)(42), TypeError);
  assert.throws(
    () => a.openRoot('/nonexistent-tsftpd-dir'),
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.errno === -2 && err.syscall === 'open',
  );
  const walk = a.walk as (...args: unknown[]) => Promise<unknown>;
  assert.throws(() => walk(), TypeError);
  assert.throws(() => walk('3', 0, false), TypeError);
  assert.throws(() => walk(-1, 0, false), TypeError);
  assert.throws(() => walk(0, 0, 'yes'), TypeError);
  assert.throws(() => walk(0, 0, false, 'not a function'), TypeError);
  assert.throws(
    () => walk(987654, 0, false),
    (err: NodeJS.ErrnoException) => err.code === 'EBADF',
  );
});

test(
  'quota walk (native): same counts as the JavaScript walk; the root fd stays the caller’s',
  { skip },
  async (t) => {
    const dir = await tree(t);
    const a = addon!;
    const uid = process.geteuid?.() ?? 0;
    // Not confined: our own ids, no switching (confined mode is exercised as root by the e2e tests).
    const who: WalkIdentity = { uid, gid: process.getegid?.() ?? 0, groups: [], confined: false };
    const native = await countTree(dir, who, undefined, a);
    const js = await countTree(dir, who);
    // f, a, a/b, a/b/g, a/h (hard link), to-f (f again); to-a leads to a, already counted.
    assert.deepEqual(native, { files: 6n, bytes: 5n + 1000n + 5n + 5n });
    assert.deepEqual(js, native);
    const fd = a.openRoot(dir);
    const reports: number[] = [];
    const direct = await a.walk(fd, uid, true, (files) => reports.push(files));
    closeSync(fd); // still open after the walk: the job used its own duplicate
    assert.deepEqual(direct, native, 'confined: inside the tree, nothing changes here');
  },
);
