/**
 * native/dirscan.c openFileNow: the event-loop fast path of a download's open. It must answer only
 * for a cached regular file beneath the root, with the same content and size as the pool job
 * (openFile), and leave every other case — symlinks, special files, missing names, paths outside
 * the root — to the pool job (undefined), whose checks are the jail's.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fsAddon, type FsAddon, type RawOpen } from '../../src/storage/scan.js';

const INLINE = 128 * 1024;

describe('openFileNow (non-blocking open on the event loop)', () => {
  let dir: string;
  let root: string;
  let fs: FsAddon;
  const big = Buffer.alloc(INLINE + 1, 7);

  before(async () => {
    const native = await fsAddon();
    assert.ok(native !== undefined, 'the tsftpd_fs addon is built by npm install');
    fs = native;
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-open-now-'));
    root = path.join(dir, 'root');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await writeFile(path.join(root, 'a.txt'), 'hello');
    await writeFile(path.join(root, 'big.bin'), big);
    await writeFile(path.join(dir, 'outside.txt'), 'secret');
    await symlink('/etc/passwd', path.join(root, 'abs'));
    await symlink('../outside.txt', path.join(root, 'rel'));
    await symlink(path.join(root, 'a.txt'), path.join(root, 'absin'));
    await symlink('a.txt', path.join(root, 'inlink'));
    await symlink('sub', path.join(root, 'subdir-link'));
    await writeFile(path.join(root, 'sub', 'b.txt'), 'b');
    await readFile(path.join(root, 'subdir-link', 'b.txt'));
    await promisify(execFile)('mkfifo', [path.join(root, 'fifo')]);
    // Read once so the page cache and the dentry cache hold them.
    await readFile(path.join(root, 'a.txt'));
    await readFile(path.join(root, 'big.bin'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const now = (p: string, offset = 0): RawOpen | undefined => fs.openFileNow(root, p, offset, INLINE);

  it('a cached small file: its content, as the pool job reads it', async () => {
    const fast = now(path.join(root, 'a.txt'));
    assert.ok(fast !== undefined, 'a cached file opens at once');
    const pool = await fs.openFile(root, path.join(root, 'a.txt'), 0, INLINE);
    assert.equal(fast.err, 0);
    assert.equal(fast.size, pool.size);
    assert.equal(fast.mode, pool.mode);
    assert.deepEqual(fast.data, pool.data);
    assert.equal(fast.fd, undefined);
    assert.equal(now(path.join(root, 'a.txt'), 2)?.data?.toString(), 'llo');
    assert.equal(now(path.join(root, 'a.txt'), 5)?.data?.length, 0);
  });

  it('a big file: an open descriptor and its size, no content', () => {
    const fast = now(path.join(root, 'big.bin'));
    assert.ok(fast?.fd !== undefined && fast.fd >= 0);
    assert.equal(fast.size, big.length);
    assert.equal(fast.data, undefined);
    closeSync(fast.fd);
  });

  it('leaves symlinks, special files, directories and missing names to the pool job', () => {
    for (const name of ['abs', 'rel', 'absin', 'inlink', 'subdir-link/b.txt', 'fifo', 'sub', 'missing']) {
      assert.equal(now(path.join(root, name)), undefined, name);
    }
  });

  it('never answers for a path that is not below the root', () => {
    assert.equal(now(root), undefined, 'the root itself');
    assert.equal(now(path.join(dir, 'outside.txt')), undefined, 'a sibling');
    assert.equal(now(`${root}x/a.txt`), undefined, 'a name that only starts like the root');
    assert.equal(now(`${root}/sub/../../outside.txt`), undefined, 'dot-dot out of the root');
  });
});
