/**
 * The confined file layer (src/storage/confined.ts, native/confined.c) on its own: what resolves
 * inside a root and what is refused, the event-loop fast read against the thread-pool one, exact
 * modes of created entries, the root's own chmod protection, and a closed root.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, constants as C } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfinedRoot, fsAddon } from '../../src/storage/confined.js';
import { FtpError } from '../../src/errors.js';

const INLINE = 128 * 1024;

describe('ConfinedRoot', () => {
  let dir: string;
  let rootDir: string;
  let root: ConfinedRoot;
  const big = Buffer.alloc(INLINE + 1, 7);

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-confined-'));
    rootDir = path.join(dir, 'root');
    await mkdir(path.join(rootDir, 'sub'), { recursive: true });
    await writeFile(path.join(rootDir, 'a.txt'), 'hello');
    await writeFile(path.join(rootDir, 'big.bin'), big);
    await writeFile(path.join(dir, 'outside.txt'), 'secret');
    await symlink('/etc/passwd', path.join(rootDir, 'abs'));
    await symlink('../outside.txt', path.join(rootDir, 'rel'));
    await symlink(path.join(rootDir, 'a.txt'), path.join(rootDir, 'absin'));
    await symlink('a.txt', path.join(rootDir, 'inlink'));
    await symlink('sub', path.join(rootDir, 'subdir-link'));
    await writeFile(path.join(rootDir, 'sub', 'b.txt'), 'b');
    await promisify(execFile)('mkfifo', [path.join(rootDir, 'fifo')]);
    await readFile(path.join(rootDir, 'a.txt'));
    root = await ConfinedRoot.open(rootDir, { confine: true });
  });

  after(async () => {
    root.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads files inline or as a descriptor, following symlinks that stay inside', async () => {
    for (const p of ['/a.txt', '/inlink', '/subdir-link/../a.txt']) {
      const r = await root.read(p, 0, INLINE);
      assert.equal(r.data?.toString(), 'hello', p);
    }
    assert.equal((await root.read('/subdir-link/b.txt', 0, INLINE)).data?.toString(), 'b');
    assert.equal((await root.read('/a.txt', 2, INLINE)).data?.toString(), 'llo');
    const b = await root.read('/big.bin', 0, INLINE);
    assert.ok(b.fd !== undefined && b.data === undefined);
    assert.equal(b.entry.size, big.length);
    closeSync(b.fd);
  });

  it('the event-loop read and the pool read agree', async () => {
    const native = await fsAddon();
    // Two reads: the first may warm the caches, the second is answered on this thread when cached.
    await root.read('/a.txt', 0, INLINE);
    const now = native.readNow(
      (root as unknown as { handle: never }).handle,
      Buffer.from('a.txt'),
      0,
      INLINE,
    );
    const pool = await native.op(
      (root as unknown as { handle: never }).handle,
      native.ops.read,
      Buffer.from('a.txt'),
      null,
      0,
      INLINE,
      0,
    );
    if (now !== undefined) {
      assert.deepEqual(now.data, pool.data);
      assert.deepEqual([...now.st!], [...pool.st!]);
    }
    assert.equal(
      native.readNow((root as unknown as { handle: never }).handle, Buffer.from('abs'), 0, INLINE),
      undefined,
    );
  });

  it('refuses whatever leaves the root: absolute links, links above it, .. in links', async () => {
    for (const p of ['/abs', '/rel', '/absin', '/subdir-link/../../outside.txt']) {
      await assert.rejects(
        root.read(p, 0, INLINE),
        (e: unknown) => e instanceof FtpError && e.code === 'ERR_JAIL',
        p,
      );
      await assert.rejects(
        root.stat(p, true),
        (e: unknown) => e instanceof FtpError && e.code === 'ERR_JAIL',
        p,
      );
    }
    await assert.rejects(root.open('/rel', C.O_WRONLY | C.O_APPEND, 0, true), FtpError);
  });

  it('entry operations never follow the final symlink', async () => {
    const e = await root.stat('/abs', false);
    assert.equal(e.type, 'symlink');
    assert.equal(e.linkTarget, '/etc/passwd');
    await assert.rejects(root.open('/inlink', C.O_WRONLY, 0, false), { code: 'ELOOP' });
  });

  it('refuses FIFOs and directories for reading, at once', async () => {
    await assert.rejects(
      root.read('/fifo', 0, INLINE),
      (e: unknown) => e instanceof FtpError && e.code === 'ERR_NOT_FILE',
    );
    await assert.rejects(
      root.read('/sub', 0, INLINE),
      (e: unknown) => e instanceof FtpError && e.code === 'ERR_NOT_FILE',
    );
  });

  it('creates with exactly the asked mode, whatever the umask', async () => {
    const old = process.umask(0o077);
    try {
      await root.mkdir('/made', 0o775);
      const { fd } = await root.open('/made/f', C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o664, false);
      closeSync(fd);
    } finally {
      process.umask(old);
    }
    assert.equal((await stat(path.join(rootDir, 'made'))).mode & 0o7777, 0o775);
    assert.equal((await stat(path.join(rootDir, 'made', 'f'))).mode & 0o7777, 0o664);
  });

  it('the root itself keeps owner rwx through chmod', async () => {
    await root.chmod('/', 0);
    assert.equal((await stat(rootDir)).mode & 0o777, 0o700);
    await root.chmod('/', 0o755);
  });

  it('rename, link and unlink act on names inside the root', async () => {
    await writeFile(path.join(rootDir, 'r1'), 'r');
    await root.rename('/r1', '/sub/r2');
    await root.link('/sub/r2', '/r3');
    await root.unlink('/sub/r2');
    assert.equal(await readFile(path.join(rootDir, 'r3'), 'utf8'), 'r');
    await assert.rejects(root.rename('/r3', '/abs/x'), FtpError);
    await assert.rejects(root.unlink('/sub'), { code: 'EISDIR' });
  });

  it('a closed root refuses new work', async () => {
    const other = await ConfinedRoot.open(rootDir, { confine: true });
    other.close();
    await assert.rejects(other.stat('/a.txt', true), /closed/);
  });

  it('names are bytes: a Latin-1 name round-trips', async () => {
    const { fd } = await root.open('/caf\udce9', C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644, false);
    closeSync(fd);
    const names = await (await import('node:fs/promises')).readdir(rootDir, { encoding: 'buffer' });
    assert.ok(names.some((n) => n.equals(Buffer.from([0x63, 0x61, 0x66, 0xe9]))));
    const scan = await root.scan('/', 100, 1);
    assert.ok(scan.names.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9])));
  });
});
