/**
 * Download read errors and the native pump's argument and descriptor rules (issue 10 items 1, 4).
 *
 * How a read error is made without FUSE or a broken disk: /proc/self/mem is a file whose reads fail
 * in the kernel — pread() at address 0 (never mapped) returns EIO, and sendfile() from it returns
 * EINVAL (the file cannot be spliced). Its descriptor is handed to the real download functions
 * (the native sendfile pump and the JavaScript read loop), which meet a genuine kernel error. A
 * file that shrinks is a real file truncated after its size was announced; a write error is
 * /dev/full (ENOSPC).
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pumpDownload, reservePump } from '../../src/data/pump.js';
import { READ_ERROR_TEXT, SHORT_FILE_TEXT, readLoop } from '../../src/data/read-loop.js';
import { FtpError } from '../../src/errors.js';
import { loadAddon } from '../../src/native-addons.js';
import type { ReadHandle } from '../../src/storage/types.js';
import type { Text } from '../../src/i18n/msg.js';

interface Job {
  promise: Promise<{ bytes: number; err: number; fileErr: boolean; eof: boolean; cancelled: boolean }>;
  cancel(): void;
  progress(): number;
}
interface Pump {
  receiveToFile(...args: unknown[]): Job;
  sendFromFile(...args: unknown[]): Job;
}

const EINVAL = 22;
const ENOSPC = 28;

/** A connected TCP pair on loopback: [server side, client side]. */
async function tcpPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const s = await accepted;
  server.close();
  s.on('error', () => undefined);
  client.on('error', () => undefined);
  return [s, client];
}

function fdOf(s: net.Socket): number {
  return (s as unknown as { _handle: { fd: number } })._handle.fd;
}

/** Reads a socket until its end (bounded). */
function drain(s: net.Socket, ms = 10000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error('drain timeout')), ms);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    s.resume();
  });
}

const is451 =
  (text: Text) =>
  (e: unknown): boolean =>
    e instanceof FtpError && e.reply === 451 && e.code === 'ERR_IO' && String(e.text) === String(text);

let dir: string;
let memFd: number;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-readerr-'));
  memFd = openSync('/proc/self/mem', 'r');
  // The premise of these tests: reading this descriptor at 0 fails with EIO.
  assert.throws(() => readSync(memFd, Buffer.alloc(16), 0, 16, 0), { code: 'EIO' });
});
after(async () => {
  closeSync(memFd);
  await rm(dir, { recursive: true, force: true });
});

describe('native pump: arguments and descriptors (native/pump.c)', () => {
  let pump: Pump;
  before(async () => {
    pump = await loadAddon<Pump>('tsftpd_pump', 'build the addons');
  });

  it('refuses descriptors that are not non-negative integers, and other non-integers, with a TypeError', async () => {
    const [s, c] = await tcpPair();
    const file = await open(path.join(dir, 'args.bin'), 'w');
    try {
      const sock = fdOf(s);
      const bad: [string, unknown[], RegExp][] = [
        ['NaN socket', [NaN, file.fd, 0, 1, 1000], /sock/],
        ['negative socket', [-1, file.fd, 0, 1, 1000], /sock/],
        ['fractional socket', [sock + 0.5, file.fd, 0, 1, 1000], /sock/],
        ['string socket', [String(sock), file.fd, 0, 1, 1000], /sock/],
        ['undefined socket', [undefined, file.fd, 0, 1, 1000], /sock/],
        ['socket beyond int32', [2 ** 32 + sock, file.fd, 0, 1, 1000], /sock/],
        ['negative file', [sock, -1, 0, 1, 1000], /file/],
        ['NaN length', [sock, file.fd, 0, NaN, 1000], /limit/],
        ['a file as the socket', [file.fd, file.fd, 0, 1, 1000], /not an open socket/],
        ['a closed descriptor as the file', [sock, 1_000_000, 0, 1, 1000], /file/],
        ['missing arguments', [sock, file.fd], /expected/],
      ];
      for (const [what, args, message] of bad) {
        for (const fn of ['sendFromFile', 'receiveToFile'] as const) {
          assert.throws(
            () => pump[fn](...args),
            (e: unknown) => e instanceof TypeError && message.test(e.message),
            `${fn}: ${what}`,
          );
        }
      }
      assert.throws(() => pump.sendFromFile(sock, file.fd, 0, 2 ** 60, 1000), RangeError);
      assert.throws(() => pump.sendFromFile(sock, file.fd, -1, 1, 1000), RangeError);
    } finally {
      await file.close();
      s.destroy();
      c.destroy();
    }
  });

  it('works on its own copy of the socket: closing the JavaScript side never gives it EBADF', async () => {
    const [s, c] = await tcpPair();
    const file = await open(path.join(dir, 'dup.bin'), 'w');
    try {
      const job = pump.receiveToFile(fdOf(s), file.fd, 0, -1, 10_000);
      c.write('before');
      await new Promise((r) => setTimeout(r, 150));
      s.destroy(); // Node closes its descriptor; the number may be reused by anything
      await new Promise((r) => setTimeout(r, 250));
      job.cancel();
      const r = await job.promise;
      assert.equal(r.err, 0, `errno ${r.err}`);
      assert.equal(r.cancelled, true);
      assert.equal(r.bytes, 6);
    } finally {
      await file.close();
      c.destroy();
    }
  });

  it('sendFromFile: a file that cannot be read is a file error, not an end of file', async () => {
    const [s, c] = await tcpPair();
    try {
      const job = pump.sendFromFile(fdOf(s), memFd, 0, 4096, 5000);
      const r = await job.promise;
      assert.equal(r.err, EINVAL);
      assert.equal(r.fileErr, true);
      assert.equal(r.bytes, 0);
    } finally {
      s.destroy();
      c.destroy();
    }
  });

  it('receiveToFile: a write error is a file error (ENOSPC from /dev/full)', async () => {
    const [s, c] = await tcpPair();
    const full = await open('/dev/full', 'w');
    try {
      const job = pump.receiveToFile(fdOf(s), full.fd, -1, -1, 5000);
      c.end(Buffer.alloc(1000, 1));
      const r = await job.promise;
      assert.equal(r.err, ENOSPC);
      assert.equal(r.fileErr, true);
    } finally {
      await full.close();
      s.destroy();
      c.destroy();
    }
  });
});

describe('pumpDownload (sendfile path): read errors and short files are 451', () => {
  it('a read error of the file rejects with 451 (never a short success)', async () => {
    const [s, c] = await tcpPair();
    try {
      const slot = await reservePump(s, true);
      assert.ok(slot, 'a pump slot');
      const received = drain(c);
      await assert.rejects(
        pumpDownload(slot, s, memFd, 0, 1 << 20, new AbortController().signal, 5000, () => undefined),
        is451(READ_ERROR_TEXT),
      );
      s.destroy();
      assert.equal((await received).length, 0);
    } finally {
      s.destroy();
      c.destroy();
    }
  });

  it('a file shorter than announced (it shrank) rejects with 451 after sending what it had', async () => {
    const [s, c] = await tcpPair();
    const file = path.join(dir, 'short.bin');
    await writeFile(file, Buffer.alloc(300_000, 3));
    const fh = await open(file, 'r');
    try {
      const slot = await reservePump(s, true);
      assert.ok(slot, 'a pump slot');
      const received = drain(c);
      await assert.rejects(
        pumpDownload(slot, s, fh.fd, 0, 1_000_000, new AbortController().signal, 5000, () => undefined),
        is451(SHORT_FILE_TEXT),
      );
      s.destroy();
      assert.equal((await received).length, 300_000);
    } finally {
      await fh.close();
      s.destroy();
      c.destroy();
    }
  });
});

describe('readLoop (JavaScript read loop): read errors and short files are 451', () => {
  /** A handle whose positional reads go to `read`. */
  function handleOf(size: number, read: ReadHandle['read']): ReadHandle & { closed: boolean } {
    const h = {
      size,
      read,
      closed: false,
      stream: () => {
        throw new Error('not used');
      },
      close: async () => {
        h.closed = true;
      },
    };
    return h;
  }

  /** Real positional reads of a descriptor (the kernel's errors included). */
  const pread =
    (fd: number, base = 0) =>
    (buf: Buffer, length: number, position: number): Promise<number> =>
      new Promise((resolve, reject) => {
        try {
          resolve(readSync(fd, buf, 0, length, base + position));
        } catch (err) {
          reject(err);
        }
      });

  it('EIO at the first read: 451, nothing sent, the handle closed', async () => {
    const out = new PassThrough();
    const h = handleOf(1 << 20, pread(memFd));
    await assert.rejects(readLoop(h, out, 0, 1 << 20, new AbortController().signal), (e: unknown) => {
      assert.ok(is451(READ_ERROR_TEXT)(e), String(e));
      assert.match((e as FtpError).detail ?? '', /read error at byte 0: EIO/);
      return true;
    });
    assert.equal(h.closed, true);
    assert.equal(out.readableLength, 0);
  });

  it('EIO in the middle (real data, then the kernel error): 451 after the first chunks', async () => {
    const file = path.join(dir, 'middle.bin');
    const chunk = 512 * 1024;
    await writeFile(file, Buffer.alloc(2 * chunk, 5));
    const fh = await open(file, 'r');
    try {
      const real = pread(fh.fd);
      const failing = pread(memFd);
      // The first two chunks come from a real file, the third read hits /proc/self/mem at 0: EIO.
      const h = handleOf(4 * chunk, (buf, length, position) =>
        position < 2 * chunk ? real(buf, length, position) : failing(buf, length, 0),
      );
      const out = new PassThrough();
      const got: Buffer[] = [];
      out.on('data', (c: Buffer) => got.push(c));
      await assert.rejects(readLoop(h, out, 0, 4 * chunk, new AbortController().signal), (e: unknown) => {
        assert.ok(is451(READ_ERROR_TEXT)(e), String(e));
        assert.match((e as FtpError).detail ?? '', new RegExp(`read error at byte ${2 * chunk}: EIO`));
        return true;
      });
      assert.equal(out.writableEnded, false, 'the data connection is not ended as if complete');
      assert.ok(Buffer.concat(got).length <= 2 * chunk);
    } finally {
      await fh.close();
    }
  });

  it('a file that shrank (read returns 0 early): 451, not a short success', async () => {
    const file = path.join(dir, 'shrank.bin');
    await writeFile(file, Buffer.alloc(100_000, 9));
    const fh = await open(file, 'r');
    try {
      const out = new PassThrough();
      out.resume();
      const h = handleOf(1_000_000, pread(fh.fd));
      await assert.rejects(readLoop(h, out, 0, 1_000_000, new AbortController().signal), (e: unknown) => {
        assert.ok(is451(SHORT_FILE_TEXT)(e), String(e));
        assert.match((e as FtpError).detail ?? '', /ended at byte 100000 of the 1000000 announced/);
        return true;
      });
    } finally {
      await fh.close();
    }
  });

  it('a file read with its open that came back short: 451', async () => {
    const out = new PassThrough();
    out.resume();
    const h: ReadHandle = {
      size: 5000,
      data: Buffer.alloc(1000),
      stream: () => {
        throw new Error('not used');
      },
      close: async () => undefined,
    };
    await assert.rejects(readLoop(h, out, 0, 5000, new AbortController().signal), is451(SHORT_FILE_TEXT));
    // The complete case still works, from an offset too.
    const whole: ReadHandle = { ...h, data: Buffer.alloc(4000, 1) };
    assert.equal(
      await readLoop(whole, new PassThrough().resume(), 1000, 4000, new AbortController().signal),
      4000,
    );
  });
});
