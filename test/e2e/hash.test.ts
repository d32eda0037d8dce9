/**
 * HASH (draft-bryan-ftpext-hash-02), OPTS HASH and the XCRC/XMD5/XSHA1/XSHA256/XSHA512 commands
 * (issue 15): digests checked against Node's crypto and Python's zlib through stock ftplib, ranges,
 * refusals, ABOR stopping a long digest, the per-session budget, --hash-limit 0, and the root
 * process model (the file reaches the worker through its storage broker).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  startServer,
  putFile,
  writeJoePasswd,
  TEST_GID,
  TEST_UID,
  type TestServer,
} from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';
import { ftplib, toolSkip } from '../helpers/clients.js';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';

const big = randomBytes(3 * 1024 * 1024 + 17);
const hex = (algo: string, data: Buffer): string => createHash(algo).update(data).digest('hex');

async function login(port: number): Promise<RawFtp> {
  const { ftp } = await RawFtp.connect(port);
  await ftp.login('joe', 'secret');
  return ftp;
}

describe('HASH and the X* digest commands', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({});
    const home = srv.home('joe');
    await putFile(path.join(home, 'big.bin'), big);
    await putFile(path.join(home, 'small.txt'), 'hello');
    await putFile(path.join(home, 'name with spaces 2'), 'spaces');
    await mkdir(path.join(home, 'dir'));
    // A sparse 8 GiB file: hashing it takes seconds, long enough to be stopped.
    const f = await open(path.join(home, 'huge.bin'), 'w');
    await f.truncate(8 * 1024 ** 3);
    await f.close();
    await chown(path.join(home, 'huge.bin'), TEST_UID, TEST_GID);
  });
  after(() => srv.close());

  it('HASH answers the selected algorithm, the range and the digest; OPTS HASH selects; FEAT marks it', async () => {
    const ftp = await login(srv.port);
    try {
      assert.match((await ftp.cmd('FEAT')).text, /^ HASH SHA-1;SHA-256\*;SHA-512;MD5;CRC32$/m);
      assert.match((await ftp.cmd('FEAT')).text, /^ XSHA256$/m);
      assert.equal((await ftp.cmd('OPTS HASH')).text, '200 SHA-256');
      assert.equal(
        (await ftp.cmd('HASH big.bin')).text,
        `213 SHA-256 0-${big.length} ${hex('sha256', big)} big.bin`,
      );
      assert.equal(
        (await ftp.cmd('HASH /small.txt')).text,
        `213 SHA-256 0-5 ${hex('sha256', Buffer.from('hello'))} /small.txt`,
      );
      assert.equal((await ftp.cmd('OPTS HASH md5')).text, '200 MD5');
      assert.match((await ftp.cmd('FEAT')).text, /^ HASH SHA-1;SHA-256;SHA-512;MD5\*;CRC32$/m);
      assert.equal(
        (await ftp.cmd('HASH big.bin')).text,
        `213 MD5 0-${big.length} ${hex('md5', big)} big.bin`,
      );
      assert.equal((await ftp.cmd('OPTS HASH SHA-512')).text, '200 SHA-512');
      assert.equal(
        (await ftp.cmd('HASH big.bin')).text,
        `213 SHA-512 0-${big.length} ${hex('sha512', big)} big.bin`,
      );
      const bad = await ftp.cmd('OPTS HASH WHIRLPOOL');
      assert.equal(bad.text, '501 Unknown algorithm WHIRLPOOL, selection not changed');
      assert.equal((await ftp.cmd('OPTS HASH')).text, '200 SHA-512');
      // Refusals: a directory, a missing file, a path out of the jail.
      assert.equal((await ftp.cmd('HASH dir')).code, 550);
      assert.equal((await ftp.cmd('HASH nothing')).code, 550);
      assert.equal((await ftp.cmd('HASH ../../../../etc/passwd')).code, 550);
    } finally {
      ftp.close();
    }
  });

  it('XSHA1, XSHA256, XSHA512, XMD5 with and without a range; names with spaces and digits', async () => {
    const ftp = await login(srv.port);
    try {
      assert.equal((await ftp.cmd('XSHA1 big.bin')).text, `250 ${hex('sha1', big)}`);
      assert.equal((await ftp.cmd('XSHA256 big.bin')).text, `250 ${hex('sha256', big)}`);
      assert.equal((await ftp.cmd('XSHA512 big.bin')).text, `250 ${hex('sha512', big)}`);
      assert.equal((await ftp.cmd('XMD5 big.bin')).text, `250 ${hex('md5', big)}`);
      assert.equal(
        (await ftp.cmd('XMD5 big.bin 1000 5000')).text,
        `250 ${hex('md5', big.subarray(1000, 5000))}`,
      );
      assert.equal((await ftp.cmd('XSHA1 big.bin, 4096')).text, `250 ${hex('sha1', big.subarray(0, 4096))}`);
      // The whole argument names a file first: "name with spaces 2" is not "name with spaces" + range.
      assert.equal(
        (await ftp.cmd('XMD5 name with spaces 2')).text,
        `250 ${hex('md5', Buffer.from('spaces'))}`,
      );
      assert.equal((await ftp.cmd('XSHA256 nothing')).code, 550);
    } finally {
      ftp.close();
    }
  });

  it("stock Python ftplib: XCRC equals zlib.crc32 and HASH equals hashlib's digest", async (t) => {
    const skip = toolSkip('python3');
    if (skip !== false) return t.skip(skip);
    const local = path.join(srv.dir, 'big-local.bin');
    await writeFile(local, big);
    const r = await ftplib(
      srv.port,
      [
        "ftp.login('joe', 'secret')",
        'import zlib, hashlib',
        `data = open(${JSON.stringify(local)}, 'rb').read()`,
        "crc = ftp.sendcmd('XCRC big.bin').split()[1]",
        "print('crc', int(crc, 16) == zlib.crc32(data))",
        "h = ftp.sendcmd('HASH big.bin').split()",
        "print('hash', h[0], h[1], h[3] == hashlib.sha256(data).hexdigest())",
      ].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'crc True\nhash 213 SHA-256 True');
  });

  it('ABOR stops a long digest at once: 426 for HASH, then 226; the session goes on', async () => {
    const ftp = await login(srv.port);
    try {
      assert.equal((await ftp.cmd('OPTS HASH SHA-512')).code, 200);
      ftp.send('HASH huge.bin');
      await new Promise((r) => setTimeout(r, 200));
      ftp.send('ABOR');
      const first = await ftp.read(5000);
      assert.equal(first.code, 426, first.text);
      assert.equal((await ftp.read(5000)).code, 226);
      assert.equal((await ftp.cmd('NOOP')).code, 200);
    } finally {
      ftp.close();
    }
  });
});

describe('hash limits', () => {
  it('--hash-limit: the budget of a minute is per session; a file larger than it is hashed once', async () => {
    const srv = await startServer({ args: ['--hash-limit', '1'] });
    try {
      await putFile(path.join(srv.home('joe'), 'big.bin'), big);
      await putFile(path.join(srv.home('joe'), 'small.txt'), 'hello');
      const ftp = await login(srv.port);
      assert.equal((await ftp.cmd('XMD5 big.bin')).code, 250);
      const refused = await ftp.cmd('XMD5 small.txt');
      assert.equal(refused.code, 450);
      assert.match(refused.text, /^450 Hash limit of 1 MB per minute reached, try again in \d+ seconds$/);
      ftp.close();
      // Another session has its own budget.
      const other = await login(srv.port);
      assert.equal((await other.cmd('XMD5 small.txt')).code, 250);
      other.close();
    } finally {
      await srv.close();
    }
  });

  it('--hash-limit 0 turns the commands off (and FEAT does not list them)', async () => {
    const srv = await startServer({ args: ['--hash-limit', '0'] });
    try {
      await putFile(path.join(srv.home('joe'), 'small.txt'), 'hello');
      const ftp = await login(srv.port);
      assert.doesNotMatch((await ftp.cmd('FEAT')).text, /HASH|XMD5|XCRC/);
      assert.equal((await ftp.cmd('HASH small.txt')).code, 502);
      assert.equal((await ftp.cmd('XMD5 small.txt')).code, 502);
      ftp.close();
    } finally {
      await srv.close();
    }
  });
});

describe('HASH in the root process model', () => {
  it(
    'the worker hashes the descriptor its storage broker opened',
    { skip: process.geteuid?.() === 0 ? false : 'needs root' },
    async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-hash-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const home = path.join(dir, 'joe');
      await mkdir(home);
      await chown(dir, 0, 0);
      await putFile(path.join(home, 'big.bin'), big);
      const passwd = await writeJoePasswd(dir, home);
      const port = await freePort();
      const child = spawnServer(port, ['--workers', '2', '--passwd-file', passwd]);
      try {
        (await connectWhenUp(port)).close();
        const ftp = await login(port);
        assert.equal(
          (await ftp.cmd('HASH big.bin')).text,
          `213 SHA-256 0-${big.length} ${hex('sha256', big)} big.bin`,
        );
        assert.equal((await ftp.cmd('XSHA1 big.bin 10 20')).text, `250 ${hex('sha1', big.subarray(10, 20))}`);
        ftp.close();
      } finally {
        await killChild(child.child);
      }
    },
  );
});
