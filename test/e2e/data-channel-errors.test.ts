/**
 * Bad data-connection arguments and failing downloads, end to end (issue 10 items 3 and 4).
 *
 * Item 3 drives PORT/EPRT/PASV/EPSV over a raw control connection: `EPRT |1|127.0.0.1|70000|` was
 * accepted and the next RETR logged `RangeError ERR_SOCKET_BAD_PORT` as an internal error.
 *
 * Item 4: a download whose file cannot be read, or shrinks under it, must end with 451, an ERROR
 * line and a transfer logged as failed — on every path: the native sendfile pump (plain binary),
 * the JavaScript read loop (TLS), and the streams (ASCII). Files that shrink are real files
 * truncated mid-transfer. Read errors come from the kernel: for one name (`eio.bin`) the storage
 * hands out a read handle whose descriptor is /proc/self/mem (this process is the server): its
 * pread() at address 0 fails with EIO and sendfile() from it with EINVAL. The first MiB of that
 * file reads fine (from memory), so the client gets data before the error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { open, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type net from 'node:net';
import { RawFtp, type RawReply } from '../helpers/raw.js';
import type { TestServer } from '../helpers/server.js';
import { TestScope } from '../helpers/scope.js';
import { ipv6Loopback } from '../helpers/transfer-clients.js';
import { FtpsControl, makePki, readTls, secured, tlsData, type Pki } from '../helpers/tls.js';
import { LocalStorage } from '../../src/storage/local.js';
import type { ReadHandle, VPath } from '../../src/storage/types.js';
import type { Events } from '../../src/telemetry/bus.js';

type TransferEnd = Events['transfer-end'];

/** A server whose transfer-end events are recorded. */
async function server(
  scope: TestScope,
  args: string[] = [],
  host?: string,
): Promise<TestServer & { ends: TransferEnd[] }> {
  const srv = await scope.server({ args, host });
  const ends: TransferEnd[] = [];
  srv.bus.on('transfer-end', (e) => ends.push(e));
  return Object.assign(srv, { ends });
}

async function rawLogin(scope: TestScope, srv: TestServer): Promise<RawFtp> {
  const { ftp } = await RawFtp.connect(srv.port, srv.host);
  scope.defer(() => ftp.close());
  await ftp.login('joe', 'secret');
  return ftp;
}

describe('PORT, EPRT, PASV and EPSV arguments (raw control connection)', () => {
  it('EPRT with port 70000 is refused with 501; RETR then has no data connection and nothing is logged as an error', async (t) => {
    const scope = new TestScope(t);
    const srv = await server(scope);
    await writeFile(path.join(srv.home('joe'), 'f.txt'), 'x');
    const ftp = await rawLogin(scope, srv);
    assert.equal((await ftp.cmd('EPRT |1|127.0.0.1|70000|')).text, '501 Syntax error in IP address');
    assert.equal((await ftp.cmd('RETR f.txt')).text, '425 No data connection');
    assert.deepEqual(
      srv.logs.filter((l) => /ERROR|ERR_SOCKET_BAD_PORT/.test(l)),
      [],
    );
  });

  it('answers each malformed or unsupported argument precisely (IPv4 session)', async (t) => {
    const scope = new TestScope(t);
    const srv = await server(scope);
    const ftp = await rawLogin(scope, srv);
    const rows: [string, string | RegExp][] = [
      ['EPRT |1|127.0.0.1|65536|', '501 Syntax error in IP address'],
      ['EPRT |1|127.0.0.1|0|', '501 Syntax error in IP address'],
      ['EPRT |1|127.0.0.1|99999999999|', '501 Syntax error in IP address'],
      ['EPRT |1|127.0.0.1|-1|', '501 Syntax error in IP address'],
      ['EPRT |1|127.0.0.1|40000', '501 Syntax error in IP address'],
      ['EPRT |1|127.0.0.1|40000|x|', '501 Syntax error in IP address'],
      ['EPRT |1|127.1|40000|', '501 Syntax error in IP address'],
      ['EPRT |2|fe80::1%eth0|40000|', '501 Syntax error in IP address'],
      ['EPRT |2|::ffff:127.0.0.1|40000|', '501 Syntax error in IP address'],
      ['EPRT |x|127.0.0.1|40000|', '501 Syntax error in IP address'],
      ['EPRT |3|127.0.0.1|40000|', '522 Only IPv4 and IPv6 are supported (1,2)'],
      ['EPRT |2|::1|40000|', '522 Network protocol not supported, use (1)'],
      ['EPRT |1|127.0.0.1|1023|', "501 Sorry, but I won't connect to ports < 1024"],
      ['EPRT |1|0.0.0.0|40000|', '501 Syntax error in IP address'],
      ['EPRT |1|127.0.0.1|65535|', '200 PORT command successful'],
      ['PORT 127,0,0,1,256,1', '501 Syntax error in IP address'],
      ['PORT 127,0,0,1,0,0', '501 Syntax error in IP address'],
      ['PORT 127,0,0,1,200', '501 Syntax error in IP address'],
      ['PORT 300,0,0,1,200,1', '501 Syntax error in IP address'],
      ['PORT 127,0,0,1,255,255', '200 PORT command successful'],
      ['EPSV 2', '522 Network protocol not supported, use (1)'],
      ['EPSV 3', '522 Network protocol not supported, use (1)'],
      ['EPSV x', '501 Syntax error in EPSV argument'],
      ['EPSV 1', /^229 Extended Passive mode OK \(\|\|\|\d+\|\)$/],
      ['PASV junk', /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)$/], // ignored, as Pure-FTPd
      ['EPSV all', '200 EPSV ALL OK: active mode is disabled'],
      ['EPRT |1|127.0.0.1|40000|', '501 Active mode is disabled'],
    ];
    for (const [line, want] of rows) {
      const r = await ftp.cmd(line);
      if (typeof want === 'string') assert.equal(r.text, want, line);
      else assert.match(r.text, want, line);
    }
    assert.deepEqual(
      srv.logs.filter((l) => l.includes('[ERROR]')),
      [],
    );
  });

  it('on an IPv6 session, IPv4 targets and EPSV 1 get 522 with the protocol to use', async (t) => {
    const why = await ipv6Loopback();
    if (why !== undefined) return t.skip(why);
    const scope = new TestScope(t);
    const srv = await server(scope, [], '::1');
    const ftp = await rawLogin(scope, srv);
    for (const line of ['EPRT |1|127.0.0.1|40000|', 'PORT 127,0,0,1,200,1', 'EPSV 1']) {
      assert.equal((await ftp.cmd(line)).text, '522 Network protocol not supported, use (2)', line);
    }
    assert.equal((await ftp.cmd('EPRT |2|0:0:0:0:0:0:0:1|40000|')).text, '200 PORT command successful');
    assert.equal((await ftp.cmd('EPRT |2|::|40000|')).text, '501 Syntax error in IP address');
  });
});

// ---------------------------------------------------------------------------------------------

const MIB = 1024 * 1024;
/** Size announced for eio.bin; its first GOOD bytes read fine. */
const EIO_SIZE = 4 * MIB;
const GOOD = MIB;

/** Starts `line` on a fresh EPSV connection; returns the 150 and the (unread) data socket. */
async function startRetr(ftp: RawFtp, line: string): Promise<{ first: RawReply; data: net.Socket }> {
  const data = await ftp.epsv();
  data.on('error', () => undefined);
  data.pause();
  const first = await ftp.cmd(line);
  return { first, data };
}

/** Reads a paused data socket to its end (bounded). */
function readToEnd(s: net.Socket, ms = 20000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error('timeout reading the data connection')), ms);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    s.resume();
  });
}

/** Asserts the failure is visible everywhere: 451, an ERROR line, the transfer logged as failed. */
function assertFailedDownload(
  srv: TestServer & { ends: TransferEnd[] },
  final: RawReply,
  name: string,
  why: RegExp,
): void {
  assert.match(final.text, /^451 Transfer aborted: /, final.text);
  const errors = srv.logs.filter((l) => l.startsWith('[ERROR]') && l.includes(name));
  assert.equal(errors.length, 1, srv.logs.join('\n'));
  assert.match(errors[0], why);
  const end = srv.ends.find((e) => e.path.endsWith(name));
  assert.ok(end !== undefined && end.ok === false, 'the transfer is logged as failed ([aborted])');
}

describe('downloads that fail while reading the file end with 451 on every path', () => {
  let memFd: number;
  let pki: Pki;
  const original = LocalStorage.prototype.openRead;
  before(async () => {
    memFd = openSync('/proc/self/mem', 'r');
    assert.throws(() => readSync(memFd, Buffer.alloc(16), 0, 16, 0), { code: 'EIO' });
    pki = await makePki();
    // `eio.bin` reads through /proc/self/mem past its first MiB (see the file note).
    LocalStorage.prototype.openRead = async function (
      this: LocalStorage,
      p: VPath,
      offset: number,
    ): Promise<ReadHandle> {
      if (!p.endsWith('/eio.bin')) return original.call(this, p, offset);
      const good = Buffer.alloc(GOOD, 0x61);
      const read = async (buf: Buffer, length: number, position: number): Promise<number> => {
        if (position >= GOOD) return readSync(memFd, buf, 0, length, 0); // throws EIO
        return good.copy(buf, 0, position, Math.min(GOOD, position + length));
      };
      return {
        size: EIO_SIZE,
        fd: memFd,
        read,
        stream: () => {
          let position = offset;
          return new Readable({
            read() {
              const buf = Buffer.allocUnsafe(64 * 1024);
              read(buf, buf.length, position).then(
                (n) => {
                  position += n;
                  this.push(n === 0 ? null : buf.subarray(0, n));
                },
                (err: Error) => this.destroy(err),
              );
            },
          });
        },
        close: async () => undefined,
      };
    };
  });
  after(async () => {
    LocalStorage.prototype.openRead = original;
    closeSync(memFd);
    await pki.close();
  });

  for (const type of ['I', 'A'] as const) {
    const path_ = type === 'I' ? 'the native sendfile pump (EINVAL)' : 'the ASCII stream (EIO)';
    it(`plain TYPE ${type}: ${path_}`, async (t) => {
      const scope = new TestScope(t);
      const srv = await server(scope);
      await writeFile(path.join(srv.home('joe'), 'eio.bin'), '');
      const ftp = await rawLogin(scope, srv);
      await ftp.cmd(`TYPE ${type}`);
      const { first, data } = await startRetr(ftp, 'RETR eio.bin');
      scope.socket(data);
      assert.equal(first.code, 150, first.text);
      const got = await readToEnd(data);
      const final = await ftp.read(20000);
      assertFailedDownload(
        srv,
        final,
        'eio.bin',
        type === 'I' ? /read error at byte 0: EINVAL/ : /read error at byte \d+: EIO/,
      );
      assert.ok(got.length < EIO_SIZE, `${got.length} bytes`);
      if (type === 'A')
        assert.ok(got.length >= GOOD - 64 * 1024, `the readable part went out first: ${got.length}`);
    });
  }

  it('TLS (PROT P): the JavaScript read loop (EIO after the first MiB)', async (t) => {
    const scope = new TestScope(t);
    const srv = await server(scope, ['-Y', '1', '-2', pki.server]);
    await writeFile(path.join(srv.home('joe'), 'eio.bin'), '');
    const { ftp } = await FtpsControl.connect(srv.port);
    scope.defer(() => ftp.close());
    assert.equal((await ftp.upgrade()).code, 234);
    await ftp.login();
    assert.equal((await ftp.cmd('PROT P')).code, 200);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const port = await ftp.epsv();
    const { socket } = tlsData(port, { session: ftp.session() });
    scope.defer(() => socket.destroy());
    ftp.send('RETR eio.bin');
    assert.equal((await ftp.read()).code, 150);
    await secured(socket);
    const got = await readTls(socket, 20000);
    const final = await ftp.read(20000);
    assertFailedDownload(srv, final, 'eio.bin', new RegExp(`read error at byte ${GOOD}: EIO`));
    assert.equal(got.length, GOOD, 'the readable MiB, nothing more');
  });
});

describe('a file that shrinks during its download ends with 451, not a short 226', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  });
  after(() => pki.close());

  const SIZE = 256 * MIB; // sparse: far more than the socket buffers hold
  const KEPT = MIB;

  /** Waits for the server to fill the socket buffers of an unread data connection, then cuts the file. */
  async function shrinkMidway(file: string): Promise<void> {
    await new Promise((r) => setTimeout(r, 400));
    await truncate(file, KEPT);
  }

  for (const type of ['I', 'A'] as const) {
    it(`plain TYPE ${type} (${type === 'I' ? 'sendfile pump' : 'ASCII stream'})`, async (t) => {
      const scope = new TestScope(t);
      const srv = await server(scope);
      const file = path.join(srv.home('joe'), 'big.bin');
      const fh = await open(file, 'w');
      await fh.truncate(SIZE);
      await fh.close();
      const ftp = await rawLogin(scope, srv);
      await ftp.cmd(`TYPE ${type}`);
      const { first, data } = await startRetr(ftp, 'RETR big.bin');
      scope.socket(data);
      assert.equal(first.code, 150, first.text);
      await shrinkMidway(file);
      const got = await readToEnd(data, 60000);
      const final = await ftp.read(30000);
      assertFailedDownload(srv, final, 'big.bin', /ended at byte \d+ of the 268435456 announced/);
      assert.ok(got.length < SIZE, `${got.length} bytes`);
    });
  }

  it('TLS (PROT P): the JavaScript read loop', async (t) => {
    const scope = new TestScope(t);
    const srv = await server(scope, ['-Y', '1', '-2', pki.server]);
    const file = path.join(srv.home('joe'), 'big.bin');
    const fh = await open(file, 'w');
    await fh.truncate(SIZE);
    await fh.close();
    const { ftp } = await FtpsControl.connect(srv.port);
    scope.defer(() => ftp.close());
    assert.equal((await ftp.upgrade()).code, 234);
    await ftp.login();
    assert.equal((await ftp.cmd('PROT P')).code, 200);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const port = await ftp.epsv();
    const { socket } = tlsData(port, { session: ftp.session() });
    scope.defer(() => socket.destroy());
    ftp.send('RETR big.bin');
    assert.equal((await ftp.read()).code, 150);
    await secured(socket);
    socket.pause();
    await shrinkMidway(file);
    const reading = readTls(socket, 60000);
    socket.resume();
    const got = await reading;
    const final = await ftp.read(30000);
    assertFailedDownload(srv, final, 'big.bin', /ended at byte \d+ of the 268435456 announced/);
    assert.ok(got.length < SIZE, `${got.length} bytes`);
  });
});
