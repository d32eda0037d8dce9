/**
 * End-to-end tests of the data path (upstream §2.3, §2.5, §6.4): uploads and downloads with real clients
 * (basic-ftp, curl, lftp, Python ftplib) in passive and active mode and over IPv6, resume both ways,
 * ASCII mode, ABOR/QUIT/STAT during a transfer, atomic (-0) and autorenamed (-r) uploads, STOU,
 * the -U umask, clients that vanish mid-transfer, and the data-channel security rules (passive
 * listener life cycle, FXP, PORT bounce protection, ESTA/ESTP). Only loopback addresses are used.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { putFile, type TestServer } from '../helpers/server.js';
import { TestScope } from '../helpers/scope.js';
import { RawFtp, type RawReply } from '../helpers/raw.js';
import { PUMP_SLOTS, runningPumps } from '../../src/data/pump.js';
import { ciSkip } from '../helpers/ci.js';
import { addonUnavailable } from '../helpers/native.js';
import {
  connectTo,
  curl,
  epsvPort,
  fdCount,
  haveTool,
  ipv6Loopback,
  lftp,
  pasvPort,
  pattern,
  python,
  readAllBounded,
  requireTool,
  waitEnd,
  waitFor,
  writeAndEnd,
} from '../helpers/transfer-clients.js';

/** Per-test resources: raw control connections and basic-ftp clients. */
class Scope extends TestScope {
  /** A raw control connection logged in as joe (or anonymous). */
  async raw(srv: TestServer, user = 'joe', pass = 'secret'): Promise<RawFtp> {
    const { ftp } = await RawFtp.connect(srv.port, srv.host);
    this.defer(() => ftp.close());
    await ftp.login(user, pass);
    return ftp;
  }

  /** A session paused 64 KiB into `RETR big.bin` (256 MiB, sparse), for ABOR/QUIT/cut tests. */
  async midDownload(): Promise<{ srv: TestServer; ftp: RawFtp; data: net.Socket }> {
    const srv = await this.server();
    await sparseFile(path.join(srv.home('joe'), 'big.bin'), 256 * 1024 * 1024);
    const ftp = await this.raw(srv);
    await ftp.cmd('TYPE I');
    const { data } = await startData(ftp, 'RETR big.bin');
    this.socket(data);
    await readSomeThenPause(data, 64 * 1024);
    return { srv, ftp, data };
  }

  /** A server and a client-side directory `local` holding `up.bin`: `size` pattern() bytes. */
  async serverWithUpload(
    size: number,
    seed: number,
  ): Promise<{ srv: TestServer; local: string; content: Buffer }> {
    const srv = await this.server();
    const local = path.join(srv.dir, 'local');
    await mkdir(local);
    const content = pattern(size, seed);
    await writeFile(path.join(local, 'up.bin'), content);
    return { srv, local, content };
  }

  async basic(srv: TestServer): Promise<Client> {
    const client = new Client(10000);
    this.defer(() => client.close());
    await client.access({ host: srv.host, port: srv.port, user: 'joe', password: 'secret' });
    return client;
  }
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Opens a passive data connection, sends a transfer command and checks the 150. */
async function startData(
  ftp: RawFtp,
  line: string,
  opts: { pasv?: boolean } = {},
): Promise<{ data: net.Socket; first: RawReply }> {
  const port = opts.pasv === true ? await pasvPort(ftp) : await epsvPort(ftp);
  const data = await connectTo(port);
  ftp.send(line);
  const first = await ftp.read();
  if (first.code !== 150) {
    data.destroy();
    throw new Error(`${line}: ${first.text}`);
  }
  return { data, first };
}

/** A whole passive download; returns the bytes and the final reply. */
async function rawRetr(
  ftp: RawFtp,
  line: string,
): Promise<{ bytes: Buffer; first: RawReply; final: RawReply }> {
  const { data, first } = await startData(ftp, line);
  const bytes = await readAllBounded(data);
  return { bytes, first, final: await ftp.read() };
}

/** A whole passive upload; returns the final reply. */
async function rawStor(ftp: RawFtp, line: string, content: Buffer | string): Promise<RawReply> {
  const { data } = await startData(ftp, line);
  await writeAndEnd(data, content);
  return ftp.read();
}

/** Reads from a data socket until at least `n` bytes arrived, then pauses it (backpressure builds). */
function readSomeThenPause(data: net.Socket, n: number, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(() => reject(new Error('no data on the data connection')), timeoutMs);
    const onData = (c: Buffer): void => {
      got += c.length;
      if (got >= n) {
        data.pause();
        data.off('data', onData);
        clearTimeout(timer);
        resolve(got);
      }
    };
    data.on('data', onData);
    data.on('error', () => undefined);
  });
}

/** Creates a sparse file of the given size (fast whatever the size). */
async function sparseFile(file: string, size: number): Promise<void> {
  await writeFile(file, '');
  await truncate(file, size);
}

/** Files of a directory whose name starts with the temp-upload prefix (upstream §6.4). */
async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.pureftpd-upload.'));
}

/** A listener on a loopback address for active-mode tests: resolves the first connection's bytes. */
async function activeTarget(
  scope: Scope,
  host = '127.0.0.1',
): Promise<{ port: number; received: Promise<{ bytes: Buffer; peer: string }> }> {
  const server = net.createServer();
  scope.defer(() => server.close());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => resolve());
  });
  const received = new Promise<{ bytes: Buffer; peer: string }>((resolve, reject) => {
    server.once('connection', (s) => {
      scope.socket(s);
      server.close();
      readAllBounded(s).then((bytes) => resolve({ bytes, peer: s.remoteAddress ?? '' }), reject);
    });
  });
  received.catch(() => undefined);
  return { port: (server.address() as net.AddressInfo).port, received };
}

/** True when a loopback port can be bound right now (nobody listens on it). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function portArg(host: string, port: number): string {
  return `${host.split('.').join(',')},${Math.floor(port / 256)},${port % 256}`;
}

// ---------------------------------------------------------------------------------------------

describe('real clients: uploads and downloads', () => {
  it('basic-ftp uploads and downloads in passive mode', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const client = await scope.basic(srv);
    const content = pattern(3 * 1024 * 1024 + 17);
    await client.uploadFrom(Readable.from([content]), 'basic.bin');
    assert.equal(sha(await readFile(path.join(srv.home('joe'), 'basic.bin'))), sha(content));
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    await client.downloadTo(sink, 'basic.bin');
    assert.equal(sha(Buffer.concat(chunks)), sha(content));
    assert.equal(await client.size('basic.bin'), content.length);
  });

  it('curl in passive mode (EPSV and PASV)', async (t) => {
    if (!requireTool(t, 'curl')) return;
    const { srv, local, content } = await new Scope(t).serverWithUpload(1024 * 1024 + 3, 7);
    const base = `ftp://127.0.0.1:${srv.port}`;
    for (const mode of [[], ['--disable-epsv']]) {
      const up = await curl([
        ...mode,
        '--user',
        'joe:secret',
        '-T',
        path.join(local, 'up.bin'),
        `${base}/c.bin`,
      ]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(sha(await readFile(path.join(srv.home('joe'), 'c.bin'))), sha(content));
      const down = await curl([...mode, '--user', 'joe:secret', `${base}/c.bin`]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(sha(down.stdout), sha(content));
    }
  });

  it('curl in active mode (-P 127.0.0.1 with EPRT and with PORT)', async (t) => {
    if (!requireTool(t, 'curl')) return;
    const { srv, local, content } = await new Scope(t).serverWithUpload(512 * 1024 + 1, 9);
    const base = `ftp://127.0.0.1:${srv.port}`;
    for (const mode of [[], ['--disable-eprt']]) {
      const active = ['-P', '127.0.0.1', ...mode, '--user', 'joe:secret'];
      const up = await curl([...active, '-T', path.join(local, 'up.bin'), `${base}/active.bin`]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(sha(await readFile(path.join(srv.home('joe'), 'active.bin'))), sha(content));
      const down = await curl([...active, `${base}/active.bin`]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(sha(down.stdout), sha(content));
    }
  });

  it('lftp puts and gets in passive and active mode', async (t) => {
    if (!requireTool(t, 'lftp')) return;
    const { srv, local, content } = await new Scope(t).serverWithUpload(700 * 1024 + 5, 11);
    for (const passive of [true, false]) {
      const name = passive ? 'lftp-pasv.bin' : 'lftp-port.bin';
      const r = await lftp(srv.port, `put up.bin -o ${name}; get ${name} -o back-${name}`, {
        cwd: local,
        passive,
      });
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout.toString()}`);
      assert.equal(sha(await readFile(path.join(srv.home('joe'), name))), sha(content));
      assert.equal(sha(await readFile(path.join(local, `back-${name}`))), sha(content));
    }
  });

  it('Python ftplib stores and retrieves in passive and active mode', async (t) => {
    if (!requireTool(t, 'python3')) return;
    const { srv, local, content } = await new Scope(t).serverWithUpload(900 * 1024 + 9, 13);
    const script = `
import ftplib, os
for pasv in (True, False):
    f = ftplib.FTP()
    f.connect(os.environ['HOST'], int(os.environ['PORT']), timeout=10)
    f.login('joe', 'secret')
    f.set_pasv(pasv)
    name = 'py-%s.bin' % ('pasv' if pasv else 'port')
    with open('up.bin', 'rb') as fh:
        f.storbinary('STOR ' + name, fh)
    with open('back-' + name, 'wb') as fh:
        f.retrbinary('RETR ' + name, fh.write)
    f.quit()
`;
    const r = await python(script, srv.port, '127.0.0.1', local);
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['py-pasv.bin', 'py-port.bin']) {
      assert.equal(sha(await readFile(path.join(srv.home('joe'), name))), sha(content));
      assert.equal(sha(await readFile(path.join(local, `back-${name}`))), sha(content));
    }
  });

  it('IPv6 on ::1: basic-ftp, curl and ftplib (EPSV and EPRT); PASV is refused', async (t) => {
    const why = await ipv6Loopback();
    if (why !== undefined) {
      t.skip(why);
      return;
    }
    const scope = new Scope(t);
    const srv = await scope.server({ host: '::1' });
    const content = pattern(256 * 1024 + 1, 17);
    const client = await scope.basic(srv);
    await client.uploadFrom(Readable.from([content]), 'v6.bin');
    assert.equal(sha(await readFile(path.join(srv.home('joe'), 'v6.bin'))), sha(content));
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => chunks.push(c));
    await client.downloadTo(sink, 'v6.bin');
    assert.equal(sha(Buffer.concat(chunks)), sha(content));

    const ftp = await scope.raw(srv);
    const r = await ftp.cmd('PASV');
    assert.equal(r.code, 425);
    assert.match(r.text, /Use EPSV instead/);
    const e = await ftp.cmd('EPSV 1');
    assert.equal(e.code, 522);

    if (haveTool(t, 'curl')) {
      const down = await curl(['--user', 'joe:secret', `ftp://[::1]:${srv.port}/v6.bin`]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(sha(down.stdout), sha(content));
      const active = await curl(['-P', '::1', '--user', 'joe:secret', `ftp://[::1]:${srv.port}/v6.bin`]);
      assert.equal(active.code, 0, active.stderr);
      assert.equal(sha(active.stdout), sha(content));
    }
    if (haveTool(t, 'python3')) {
      const script = `
import ftplib, os
for pasv in (True, False):
    f = ftplib.FTP()
    f.connect(os.environ['HOST'], int(os.environ['PORT']), timeout=10)
    f.login('joe', 'secret')
    f.set_pasv(pasv)
    out = []
    f.retrbinary('RETR v6.bin', out.append)
    assert len(b''.join(out)) == ${content.length}, len(b''.join(out))
    f.quit()
`;
      const py = await python(script, srv.port, '::1');
      assert.equal(py.code, 0, py.stderr);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('resume', () => {
  it('REST + RETR resumes a download; REST at and past the end', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const content = pattern(100_000, 3);
    await putFile(path.join(srv.home('joe'), 'r.bin'), content);
    const ftp = await scope.raw(srv);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const rest = await ftp.cmd('REST 40000');
    assert.equal(rest.code, 350);
    assert.equal(rest.lines[0], '350 Restarting at 40000');
    const { bytes, first, final } = await rawRetr(ftp, 'RETR r.bin');
    assert.match(first.text, /150.*\n150 .*kbytes to download|150-Accepted data connection/);
    assert.equal(final.code, 226);
    assert.ok(bytes.equals(content.subarray(40000)));
    // The offset is consumed by one RETR.
    const again = await rawRetr(ftp, 'RETR r.bin');
    assert.equal(again.bytes.length, content.length);

    assert.equal((await ftp.cmd(`REST ${content.length}`)).code, 350);
    const port = await epsvPort(ftp);
    const data = scope.socket(await connectTo(port));
    const done = await ftp.cmd('RETR r.bin');
    assert.equal(done.code, 226);
    assert.match(done.text, /Nothing left to download/);
    data.destroy();
    assert.equal((await ftp.cmd(`REST ${content.length + 1}`)).code, 350);
    await epsvPort(ftp);
    const big = await ftp.cmd('RETR r.bin');
    assert.equal(big.code, 554);
    assert.match(big.text, /Restart offset 100001 is too large for file size 100000/);
  });

  it('curl -C - resumes a download and an upload', async (t) => {
    if (!requireTool(t, 'curl')) return;
    const scope = new Scope(t);
    const srv = await scope.server();
    const local = path.join(srv.dir, 'local');
    await mkdir(local);
    const content = pattern(600_000, 21);
    await putFile(path.join(srv.home('joe'), 'down.bin'), content);
    await writeFile(path.join(local, 'down.bin'), content.subarray(0, 250_000));
    const url = `ftp://127.0.0.1:${srv.port}`;
    const down = await curl([
      '--user',
      'joe:secret',
      '-C',
      '-',
      '-o',
      path.join(local, 'down.bin'),
      `${url}/down.bin`,
    ]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha(await readFile(path.join(local, 'down.bin'))), sha(content));

    await writeFile(path.join(local, 'up.bin'), content);
    await putFile(path.join(srv.home('joe'), 'up.bin'), content.subarray(0, 123_456));
    const up = await curl([
      '--user',
      'joe:secret',
      '-C',
      '-',
      '-T',
      path.join(local, 'up.bin'),
      `${url}/up.bin`,
    ]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha(await readFile(path.join(srv.home('joe'), 'up.bin'))), sha(content));
  });

  it('REST + STOR rewrites from the offset; APPE appends (raw and basic-ftp)', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    const content = pattern(50_000, 5);
    await putFile(
      path.join(home, 'u.bin'),
      Buffer.concat([content.subarray(0, 20_000), Buffer.alloc(9000, 0x41)]),
    );
    const ftp = await scope.raw(srv);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    assert.equal((await ftp.cmd('REST 20000')).code, 350);
    const r = await rawStor(ftp, 'STOR u.bin', content.subarray(20_000));
    assert.equal(r.code, 226, r.text);
    assert.equal(sha(await readFile(path.join(home, 'u.bin'))), sha(content));
    assert.deepEqual(await tempFiles(home), []);

    // REST past the end is clamped to the size (upstream §2.3).
    await putFile(path.join(home, 'c.bin'), 'abc');
    assert.equal((await ftp.cmd('REST 10')).code, 350);
    assert.equal((await rawStor(ftp, 'STOR c.bin', 'def')).code, 226);
    assert.equal(await readFile(path.join(home, 'c.bin'), 'utf8'), 'abcdef');

    await putFile(path.join(home, 'a.txt'), 'hello ');
    assert.equal((await rawStor(ftp, 'APPE a.txt', 'world')).code, 226);
    assert.equal(await readFile(path.join(home, 'a.txt'), 'utf8'), 'hello world');
    assert.equal((await rawStor(ftp, 'APPE new.txt', 'fresh')).code, 226);
    assert.equal(await readFile(path.join(home, 'new.txt'), 'utf8'), 'fresh');

    const client = await scope.basic(srv);
    await client.appendFrom(Readable.from([Buffer.from('!')]), 'a.txt');
    assert.equal(await readFile(path.join(home, 'a.txt'), 'utf8'), 'hello world!');
  });

  it('ftplib retrbinary(rest=...) resumes a download', async (t) => {
    if (!requireTool(t, 'python3')) return;
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'p.txt'), '0123456789');
    const script = `
import ftplib, os, sys
f = ftplib.FTP()
f.connect(os.environ['HOST'], int(os.environ['PORT']), timeout=10)
f.login('joe', 'secret')
out = []
f.retrbinary('RETR p.txt', out.append, rest=4)
sys.stdout.write(b''.join(out).decode())
f.quit()
`;
    const r = await python(script, srv.port);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), '456789');
  });
});

// ---------------------------------------------------------------------------------------------

describe('ASCII mode (upstream §2.5)', () => {
  it('downloads turn every LF into CRLF; uploads drop every CR', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    await putFile(path.join(home, 'unix.txt'), 'one\ntwo\r\nthree\n\nend');
    const ftp = await scope.raw(srv);
    // The initial type is ASCII (upstream §15.4).
    const down = await rawRetr(ftp, 'RETR unix.txt');
    assert.equal(down.bytes.toString('latin1'), 'one\r\ntwo\r\r\nthree\r\n\r\nend');
    assert.equal(down.final.code, 226);
    assert.match(down.final.text, /Warning: client is in ASCII mode/);
    const up = await rawStor(ftp, 'STOR dos.txt', 'a\r\nb\rc\r\r\nd\n\re');
    assert.equal(up.code, 226);
    assert.equal(await readFile(path.join(home, 'dos.txt'), 'latin1'), 'a\nbc\nd\ne');
    // A CR split across two writes is dropped too.
    const { data } = await startData(ftp, 'STOR split.txt');
    data.write('x\r');
    await sleep(30);
    await writeAndEnd(data, '\ny\r');
    assert.equal((await ftp.read()).code, 226);
    assert.equal(await readFile(path.join(home, 'split.txt'), 'latin1'), 'x\ny');
    // SIZE reports the on-disk size even in ASCII mode.
    assert.equal((await ftp.cmd('SIZE unix.txt')).lines[0], '213 19');

    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    const binary = await rawRetr(ftp, 'RETR unix.txt');
    assert.equal(binary.bytes.toString('latin1'), 'one\ntwo\r\nthree\n\nend');
  });

  it('ASCII resume: REST > 1 is refused with 503, REST 1 is accepted', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'a.txt'), 'ab\ncd\n');
    const ftp = await scope.raw(srv);
    assert.equal((await ftp.cmd('TYPE A')).code, 200);
    const rest = await ftp.cmd('REST 2');
    assert.equal(rest.lines[0], "350 Restarting at 2. But we're in ASCII mode");
    const port = await epsvPort(ftp);
    const data = scope.socket(await connectTo(port));
    const r = await ftp.cmd('RETR a.txt');
    assert.equal(r.lines[0], '503 ASCII resume is unsafe, please delete the file first');
    data.destroy();
    assert.equal((await ftp.cmd('REST 1')).code, 350);
    const one = await rawRetr(ftp, 'RETR a.txt');
    assert.equal(one.final.code, 226);
    assert.equal(one.bytes.toString(), 'b\r\ncd\r\n');
  });

  it('curl --use-ascii and ftplib storlines/retrlines', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    await putFile(path.join(home, 'lines.txt'), 'l1\nl2\n');
    if (haveTool(t, 'curl')) {
      const r = await curl(['--user', 'joe:secret', '--use-ascii', `ftp://127.0.0.1:${srv.port}/lines.txt`]);
      assert.equal(r.code, 0, r.stderr);
      // The wire carries CRLF; curl turns it back into LF in ASCII mode.
      assert.equal(r.stdout.toString(), 'l1\nl2\n');
    }
    if (haveTool(t, 'python3')) {
      const script = `
import ftplib, io, os, sys
f = ftplib.FTP()
f.connect(os.environ['HOST'], int(os.environ['PORT']), timeout=10)
f.login('joe', 'secret')
f.storlines('STOR py.txt', io.BytesIO(b'x1\\nx2\\r\\nx3'))
got = []
f.retrlines('RETR lines.txt', got.append)
sys.stdout.write('|'.join(got))
f.quit()
`;
      const r = await python(script, srv.port);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), 'l1|l2');
      assert.equal(await readFile(path.join(home, 'py.txt'), 'utf8'), 'x1\nx2\nx3\n');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('ABOR, QUIT and STAT during a transfer', () => {
  it('an upload that fails before its first byte leaves no empty file; an empty upload is kept', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    const ftp = await scope.raw(srv);
    await ftp.cmd('TYPE I');
    // The client never connects to the passive port, then gives up with ABOR.
    await epsvPort(ftp);
    ftp.send('STOR never.bin');
    await sleep(100);
    const aborted = await ftp.cmd('ABOR');
    const replies = [aborted, ...(aborted.code === 226 ? [] : [await ftp.read()])].map((r) => r.code);
    assert.deepEqual(replies.slice(-1), [226], replies.join(' '));
    assert.ok(await waitFor(async () => !(await readdir(home)).includes('never.bin')), 'empty file left');
    // The data connection opens and closes without a byte: a real, empty upload.
    const r = await rawStor(ftp, 'STOR empty.bin', '');
    assert.equal(r.code, 226, r.text);
    assert.equal((await stat(path.join(home, 'empty.bin'))).size, 0);
    // A new file that got some bytes before the connection broke is kept for a resume.
    const { data } = await startData(ftp, 'STOR part.bin');
    data.write(Buffer.alloc(1000, 0x61));
    const part = path.join(home, 'part.bin');
    assert.ok(await waitFor(async () => (await stat(part).catch(() => undefined))?.size === 1000));
    data.resetAndDestroy();
    assert.equal((await ftp.read()).code, 426);
    assert.equal((await stat(part)).size, 1000);
  });

  it('ABOR mid-download: 426 then 226, the session and the server keep serving', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await sparseFile(path.join(srv.home('joe'), 'big.bin'), 512 * 1024 * 1024);
    await putFile(path.join(srv.home('joe'), 'small.txt'), 'still here');
    const ftp = await scope.raw(srv);
    await ftp.cmd('TYPE I');
    const { data, first } = await startData(ftp, 'RETR big.bin');
    scope.socket(data);
    assert.match(first.text, /kbytes to download/);
    await readSomeThenPause(data, 64 * 1024);
    ftp.send('ABOR');
    const r1 = await ftp.read();
    const r2 = await ftp.read();
    assert.equal(r1.code, 426, r1.text);
    assert.equal(r2.code, 226, r2.text);
    await waitEnd(data);
    assert.equal((await ftp.cmd('NOOP')).code, 200);
    const again = await rawRetr(ftp, 'RETR small.txt');
    assert.equal(again.bytes.toString(), 'still here');
    // ABOR while idle.
    assert.equal((await ftp.cmd('ABOR')).lines[0], "226 Since you see this ABOR must've succeeded");
    // A second session was never disturbed.
    const other = await scope.raw(srv);
    assert.equal((await other.cmd('NOOP')).code, 200);
  });

  it('ABOR with Telnet IP/Synch bytes in front is recognised', async (t) => {
    const { ftp } = await new Scope(t).midDownload();
    // What ftp(1) and ftplib send: IAC IP, IAC (urgent) DM, then ABOR.
    ftp.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2]));
    ftp.send('ABOR');
    assert.equal((await ftp.read()).code, 426);
    assert.equal((await ftp.read()).code, 226);
    assert.equal((await ftp.cmd('NOOP')).code, 200);
  });

  it('QUIT mid-download aborts the transfer and logs out', async (t) => {
    const { srv, ftp, data } = await new Scope(t).midDownload();
    ftp.send('QUIT');
    const r1 = await ftp.read();
    const r2 = await ftp.read();
    assert.equal(r1.code, 426, r1.text);
    assert.equal(r2.code, 221, r2.text);
    assert.match(r2.text, /Logout\.$/);
    await ftp.waitClosed();
    await waitEnd(data);
    assert.ok(await waitFor(() => srv.server.sessionCount === 0));
  });

  it('STAT answers during a transfer, which then completes', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const size = 48 * 1024 * 1024;
    await sparseFile(path.join(srv.home('joe'), 'big.bin'), size);
    const ftp = await scope.raw(srv);
    await ftp.cmd('TYPE I');
    const { data } = await startData(ftp, 'RETR big.bin');
    scope.socket(data);
    const got = await readSomeThenPause(data, 1024 * 1024);
    // A sendfile(2) call still in flight is counted when it returns (the client already holds its
    // first bytes): the count catches up with what the client received once the sends block.
    let st!: RawReply;
    let sent = -1;
    for (let i = 0; i < 40 && sent < got; i++) {
      if (i > 0) await sleep(50);
      st = await ftp.cmd('STAT');
      assert.equal(st.code, 213, st.text);
      const m = /(\d+) of (\d+) bytes/.exec(st.text);
      assert.ok(m !== null, st.text);
      assert.equal(Number(m[2]), size, st.text);
      sent = Number(m[1]);
    }
    assert.ok(sent >= got, `${st.text} (client got ${got})`);
    assert.equal((await ftp.cmd('NOOP')).code, 200);
    let total = got;
    data.on('data', (c: Buffer) => (total += c.length));
    data.resume();
    await waitEnd(data, 15000);
    assert.equal(total, size);
    assert.equal((await ftp.read()).code, 226);
  });

  it('a client closing the data connection mid-download gets 426 and the session goes on', async (t) => {
    const { ftp, data } = await new Scope(t).midDownload();
    data.destroy();
    const r = await ftp.read();
    assert.equal(r.code, 426, r.text);
    assert.equal((await ftp.cmd('NOOP')).code, 200);
  });

  it('a silent data connection times out after the idle time; the old content stays', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    await putFile(path.join(home, 'keep.txt'), 'old');
    const ftp = await scope.raw(srv);
    assert.equal((await ftp.cmd('SITE IDLE 1')).code, 200);
    const { data } = await startData(ftp, 'STOR keep.txt');
    scope.socket(data);
    data.write('new but unfinished');
    const r = await ftp.read(5000);
    assert.ok(r.code === 426 || r.code === 421 || r.code === 451, r.text);
    assert.match(r.text, /Timeout/);
    await waitEnd(data);
    assert.equal(await readFile(path.join(home, 'keep.txt'), 'utf8'), 'old');
    assert.deepEqual(await tempFiles(home), []);
  });

  it('ABOR mid-upload keeps the previous content of the file (with and without -0)', async (t) => {
    for (const args of [[], ['-0']]) {
      const scope = new Scope(t);
      const srv = await scope.server({ args });
      const home = srv.home('joe');
      await putFile(path.join(home, 'keep.txt'), 'precious old content');
      const ftp = await scope.raw(srv);
      await ftp.cmd('TYPE I');
      const { data } = await startData(ftp, 'STOR keep.txt');
      scope.socket(data);
      data.write(Buffer.alloc(300_000, 0x78));
      await sleep(50);
      ftp.send('ABOR');
      const r1 = await ftp.read();
      const r2 = await ftp.read();
      assert.equal(r1.code, 426, `${args.join(' ')}: ${r1.text}`);
      assert.equal(r2.code, 226, r2.text);
      assert.equal(await readFile(path.join(home, 'keep.txt'), 'utf8'), 'precious old content');
      assert.ok(await waitFor(async () => (await tempFiles(home)).length === 0), 'temp file left behind');
      // A reset data connection (the client crashed) is a failure too, never a short file.
      const second = await startData(ftp, 'STOR keep.txt');
      second.data.write('partial');
      await sleep(30);
      second.data.resetAndDestroy();
      const failed = await ftp.read();
      assert.ok(failed.code === 426 || failed.code === 451, failed.text);
      assert.equal(await readFile(path.join(home, 'keep.txt'), 'utf8'), 'precious old content');
      assert.ok(await waitFor(async () => (await tempFiles(home)).length === 0), 'temp file left behind');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('atomic uploads, autorename, STOU, umask (upstream §6.4)', () => {
  /** Starts a slow upload and returns a writer that sends one more chunk per call. */
  async function slowUpload(
    ftp: RawFtp,
    name: string,
  ): Promise<{ data: net.Socket; chunk: (s: string) => Promise<void> }> {
    const { data } = await startData(ftp, `STOR ${name}`);
    return {
      data,
      chunk: async (s: string) => {
        data.write(s);
        await sleep(40);
      },
    };
  }

  it('-0: the target appears only when the upload is complete', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-0'] });
    const home = srv.home('joe');
    await putFile(path.join(home, 'old.txt'), 'OLD');
    const ftp = await scope.raw(srv);
    await ftp.cmd('TYPE I');
    for (const name of ['fresh.txt', 'old.txt']) {
      const up = await slowUpload(ftp, name);
      scope.socket(up.data);
      const parts: string[] = [];
      for (let i = 0; i < 5; i++) {
        const part = `part${i};`;
        parts.push(part);
        await up.chunk(part);
        if (name === 'fresh.txt') {
          await assert.rejects(stat(path.join(home, name)), { code: 'ENOENT' });
        } else {
          assert.equal(await readFile(path.join(home, name), 'utf8'), 'OLD');
        }
        // The data is meanwhile in a temp file of the same directory.
        assert.equal((await tempFiles(home)).length, 1);
      }
      await writeAndEnd(up.data, 'end');
      const r = await ftp.read();
      assert.equal(r.code, 226, r.text);
      assert.equal(await readFile(path.join(home, name), 'utf8'), parts.join('') + 'end');
      assert.deepEqual(await tempFiles(home), []);
    }
  });

  it('a resumed upload goes through a temp file even without -0', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    await putFile(path.join(home, 'r.txt'), 'KEEPxxxx');
    const ftp = await scope.raw(srv);
    await ftp.cmd('TYPE I');
    assert.equal((await ftp.cmd('REST 4')).code, 350);
    const up = await slowUpload(ftp, 'r.txt');
    scope.socket(up.data);
    await up.chunk('NEW1');
    await up.chunk('NEW2');
    assert.equal(await readFile(path.join(home, 'r.txt'), 'utf8'), 'KEEPxxxx');
    await writeAndEnd(up.data, 'NEW3');
    assert.equal((await ftp.read()).code, 226);
    assert.equal(await readFile(path.join(home, 'r.txt'), 'utf8'), 'KEEPNEW1NEW2NEW3');
    assert.deepEqual(await tempFiles(home), []);
  });

  it('-r autorenames: name, name.1, name.2', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-r'] });
    const home = srv.home('joe');
    const ftp = await scope.raw(srv);
    for (const content of ['first', 'second', 'third']) {
      const r = await rawStor(ftp, 'STOR dup.txt', content);
      assert.equal(r.code, 226, r.text);
    }
    assert.equal(await readFile(path.join(home, 'dup.txt'), 'utf8'), 'first');
    assert.equal(await readFile(path.join(home, 'dup.txt.1'), 'utf8'), 'second');
    assert.equal(await readFile(path.join(home, 'dup.txt.2'), 'utf8'), 'third');
    assert.deepEqual(await tempFiles(home), []);
  });

  it('STOU picks a pureftpd.* name and announces it with 150-FILE:', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const ftp = await scope.raw(srv);
    const port = await epsvPort(ftp);
    const data = scope.socket(await connectTo(port));
    ftp.send('STOU');
    const first = await ftp.read();
    assert.equal(first.code, 150);
    const m = /^150-FILE: (pureftpd\.[0-9a-f]{8}\.[0-9a-f]{2}\.[0-9a-f]{4})$/.exec(first.lines[0] ?? '');
    assert.ok(m !== null, first.text);
    assert.equal(first.lines.at(-1), '150 Accepted data connection');
    await writeAndEnd(data, 'unique content');
    assert.equal((await ftp.read()).code, 226);
    assert.equal(await readFile(path.join(srv.home('joe'), m[1]), 'utf8'), 'unique content');
  });

  it('-U sets the modes of new files and directories', async (t) => {
    const cases: { args: string[]; file: number; dir: number }[] = [
      { args: [], file: 0o644, dir: 0o755 },
      { args: ['-U', '022:022'], file: 0o755, dir: 0o755 },
      { args: ['-U', '002:007'], file: 0o775, dir: 0o770 },
      { args: ['-U', '077:077'], file: 0o700, dir: 0o700 },
    ];
    for (const c of cases) {
      const scope = new Scope(t);
      const srv = await scope.server({ args: c.args });
      const home = srv.home('joe');
      const ftp = await scope.raw(srv);
      assert.equal((await rawStor(ftp, 'STOR m.txt', 'x')).code, 226);
      assert.equal((await ftp.cmd('MKD d')).code, 257);
      const label = c.args.join(' ') || 'default';
      assert.equal((await stat(path.join(home, 'm.txt'))).mode & 0o7777, c.file, `file mode, ${label}`);
      assert.equal((await stat(path.join(home, 'd'))).mode & 0o7777, c.dir, `dir mode, ${label}`);
      // Atomic uploads (temp file renamed) get the same mode.
      assert.equal((await ftp.cmd('REST 1')).code, 350);
      assert.equal((await rawStor(ftp, 'STOR m.txt', 'y')).code, 226);
      assert.equal(
        (await stat(path.join(home, 'm.txt'))).mode & 0o7777,
        c.file,
        `resumed file mode, ${label}`,
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('clients that vanish mid-transfer', () => {
  it('mid-download and mid-upload: other sessions keep working and no fd leaks', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    await sparseFile(path.join(home, 'big.bin'), 256 * 1024 * 1024);
    await putFile(path.join(home, 'keep.txt'), 'old content');
    // Warm up: the first session opens whatever the server keeps open for good.
    const warm = await scope.raw(srv);
    await rawRetr(warm, 'RETR keep.txt');
    warm.close();
    assert.ok(await waitFor(() => srv.server.sessionCount === 0));
    const baseline = fdCount();

    const watcher = await scope.raw(srv);
    // Download: read a little, then drop both connections without a word.
    const gone = await scope.raw(srv);
    await gone.cmd('TYPE I');
    const down = await startData(gone, 'RETR big.bin');
    await readSomeThenPause(down.data, 64 * 1024);
    gone.socket.destroy();
    down.data.destroy();
    assert.equal((await watcher.cmd('NOOP')).code, 200);

    // Upload over an existing file: the data connection is reset, the control connection dropped.
    const gone2 = await scope.raw(srv);
    await gone2.cmd('TYPE I');
    const up = await startData(gone2, 'STOR keep.txt');
    up.data.write(Buffer.alloc(200_000, 0x61));
    await sleep(50);
    gone2.socket.destroy();
    up.data.resetAndDestroy();
    assert.equal((await watcher.cmd('NOOP')).code, 200);

    // Upload where only the control connection dies and the data connection stays open and silent.
    const gone3 = await scope.raw(srv);
    const up3 = await startData(gone3, 'STOR keep.txt');
    scope.socket(up3.data);
    up3.data.write('half');
    await sleep(50);
    gone3.socket.destroy();

    const fresh = await rawRetr(watcher, 'RETR keep.txt');
    assert.equal(fresh.final.code, 226);
    assert.ok(await waitFor(() => srv.server.sessionCount === 1), 'vanished sessions were not reaped');
    await waitEnd(up3.data);
    assert.equal(await readFile(path.join(home, 'keep.txt'), 'utf8'), 'old content');
    assert.ok(await waitFor(async () => (await tempFiles(home)).length === 0), 'temp files left behind');
    watcher.close();
    assert.ok(await waitFor(() => srv.server.sessionCount === 0));
    const settled = await waitFor(() => fdCount() <= baseline, 5000);
    assert.ok(settled, `fd count ${fdCount()} did not return to the baseline ${baseline}`);
  });
});

// ---------------------------------------------------------------------------------------------

/** Resumes a paused data connection and counts its bytes until the server closes it. */
function countToEnd(data: net.Socket, timeoutMs = 20_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(
      () => reject(new Error(`data connection still open after ${got} bytes`)),
      timeoutMs,
    );
    data.on('data', (c: Buffer) => (got += c.length));
    data.once('end', () => {
      clearTimeout(timer);
      resolve(got);
    });
    data.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    data.resume();
  });
}

// Without the pump addon these paths do not exist (transfers take the stream path): skip, saying why.
const pumpSkip = ciSkip(addonUnavailable('tsftpd_pump'));
describe('native data paths (sendfile, upload pump) and the thread pool', { skip: pumpSkip }, () => {
  it('big downloads (sendfile): every byte, from a REST offset too', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const content = pattern(3 * 1024 * 1024 + 17, 11);
    await putFile(path.join(srv.home('joe'), 'big.bin'), content);
    const ftp = await scope.raw(srv);
    await ftp.cmd('TYPE I');
    const whole = await rawRetr(ftp, 'RETR big.bin');
    assert.equal(whole.final.code, 226);
    assert.ok(whole.bytes.equals(content), 'whole file');
    assert.equal((await ftp.cmd('REST 1234567')).code, 350);
    const tail = await rawRetr(ftp, 'RETR big.bin');
    assert.equal(tail.final.code, 226);
    assert.ok(tail.bytes.equals(content.subarray(1234567)), 'from the offset');
    assert.equal(runningPumps(), 0);
  });

  it('stalled big downloads hold at most the pump slots; other sessions keep the pool', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    const size = 64 * 1024 * 1024;
    await sparseFile(path.join(home, 'big.bin'), size);
    await putFile(path.join(home, 'small.txt'), 'hello');
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const downloads: { ftp: RawFtp; data: net.Socket; first: number }[] = [];
    for (let i = 0; i < pool + 2; i++) {
      const ftp = await scope.raw(srv);
      await ftp.cmd('TYPE I');
      const { data } = await startData(ftp, 'RETR big.bin');
      scope.socket(data);
      const first = await readSomeThenPause(data, 64 * 1024); // then stop reading: sends block
      downloads.push({ ftp, data, first });
    }
    assert.ok(await waitFor(() => runningPumps() === PUMP_SLOTS), `running pumps: ${runningPumps()}`);
    const other = await scope.raw(srv);
    const got = await rawRetr(other, 'RETR small.txt');
    assert.equal(got.bytes.toString(), 'hello');
    for (const [i, d] of downloads.entries()) {
      assert.equal(d.first + (await countToEnd(d.data)), size, `bytes of download ${i}`);
      assert.equal((await d.ftp.read()).code, 226, `download ${i}`);
    }
    assert.equal(runningPumps(), 0);
  });

  it('only a few uploads hold pool threads at once; a trickle of uploads never starves other sessions', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    await putFile(path.join(home, 'small.txt'), 'hello');
    // More uploads than this process's pool has threads (4 unless UV_THREADPOOL_SIZE says otherwise):
    // had every one of them taken a pool thread, logins, listings and downloads would wait for them.
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const count = pool + 2;
    const uploads: { ftp: RawFtp; data: net.Socket; content: Buffer }[] = [];
    for (let i = 0; i < count; i++) {
      const ftp = await scope.raw(srv);
      await ftp.cmd('TYPE I');
      const { data } = await startData(ftp, `STOR slow${i}.bin`);
      scope.socket(data);
      const content = pattern(300_000, i + 7);
      data.write(content.subarray(0, 100)); // a few bytes, then silence
      uploads.push({ ftp, data, content });
    }
    assert.ok(await waitFor(() => runningPumps() === PUMP_SLOTS), `running pumps: ${runningPumps()}`);
    // A new session: its password check, home lookup, listing and download all need the pool.
    const other = await scope.raw(srv);
    const list = await rawRetr(other, 'NLST');
    assert.equal(list.final.code, 226);
    assert.match(list.bytes.toString(), /small\.txt/);
    const got = await rawRetr(other, 'RETR small.txt');
    assert.equal(got.bytes.toString(), 'hello');
    assert.equal(runningPumps(), PUMP_SLOTS, 'the slow uploads are still running');
    // Every upload, pumped or streamed, completes with every byte on disk.
    for (const [i, u] of uploads.entries()) {
      await writeAndEnd(u.data, u.content.subarray(100));
      assert.equal((await u.ftp.read()).code, 226, `upload ${i}`);
      assert.ok(
        (await readFile(path.join(home, `slow${i}.bin`))).equals(u.content),
        `content of upload ${i}`,
      );
    }
    assert.equal(runningPumps(), 0);
  });

  it('RETR of a FIFO is refused at once and holds no pool thread', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const home = srv.home('joe');
    await promisify(execFile)('mkfifo', [path.join(home, 'pipe')]);
    await putFile(path.join(home, 'small.txt'), 'hello');
    const ftp = await scope.raw(srv);
    // More attempts than the pool has threads: a blocking open() would have taken one each.
    const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    for (let i = 0; i < pool + 2; i++) {
      await epsvPort(ftp);
      const r = await ftp.cmd('RETR pipe');
      assert.equal(r.code, 550, r.text);
      assert.match(r.text, /regular file/);
    }
    const got = await rawRetr(ftp, 'RETR small.txt');
    assert.equal(got.bytes.toString(), 'hello');
  });
});

// ---------------------------------------------------------------------------------------------

describe('passive listeners (upstream §2.5)', () => {
  it('accepts one connection, then stops listening', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'data');
    const ftp = await scope.raw(srv);
    const port = await pasvPort(ftp);
    assert.ok(port >= 20000 && port <= 29999, `port ${port} outside -p 20000:29999`);
    const data = scope.socket(await connectTo(port));
    await assert.rejects(connectTo(port), { code: 'ECONNREFUSED' });
    ftp.send('RETR f.txt');
    assert.equal((await ftp.read()).code, 150);
    assert.equal((await readAllBounded(data)).toString(), 'data');
    assert.equal((await ftp.read()).code, 226);
    // The setup is consumed: a transfer without a new PASV has no data connection.
    assert.equal((await ftp.cmd('RETR f.txt')).code, 425);
  });

  it('an unused listener closes after the idle timeout; a transfer waiting for it gets 425', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'x');
    const ftp = await scope.raw(srv);
    assert.equal((await ftp.cmd('SITE IDLE 1')).code, 200);
    const port = await epsvPort(ftp);
    // Probing by binding (not connecting) so the probe is not the one accepted connection.
    assert.equal(await bindable(port), false, 'listener not open');
    // SIZE keeps the session itself alive meanwhile (it counts as activity, upstream §2.6).
    const probe = async (): Promise<boolean> => (await ftp.cmd('SIZE f.txt')).code === 213 && bindable(port);
    assert.ok(await waitFor(probe, 4000, 100), 'passive listener still open after its timeout');
    assert.equal((await ftp.cmd('RETR f.txt')).code, 425);
    // A transfer that waits for a client that never connects gives up after the idle time too.
    const port2 = await epsvPort(ftp);
    const started = Date.now();
    const first = await ftp.cmd('RETR f.txt', 5000);
    assert.equal(first.code, 425, first.text);
    assert.ok(Date.now() - started < 4000);
    assert.ok(await waitFor(() => bindable(port2), 2000, 50));
    assert.equal((await ftp.cmd('NOOP')).code, 200);
  });

  it('a new PASV releases the previous port', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const ftp = await scope.raw(srv);
    const first = await pasvPort(ftp);
    const second = await pasvPort(ftp);
    if (first !== second) assert.ok(await waitFor(() => bindable(first), 1000), `port ${first} still bound`);
    const third = await epsvPort(ftp);
    if (third !== second)
      assert.ok(await waitFor(() => bindable(second), 1000), `port ${second} still bound`);
    assert.equal(await bindable(third), false);
    scope.socket(await connectTo(third));
  });

  it('refuses a passive connection from another address unless FXP (-w) is on', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'secret data');
    const ftp = await scope.raw(srv);
    const port = await epsvPort(ftp);
    const thief = scope.socket(await connectTo(port, '127.0.0.1', '127.0.0.2'));
    assert.equal((await waitEnd(thief)).length, 0);
    const data = scope.socket(await connectTo(port));
    ftp.send('RETR f.txt');
    assert.equal((await ftp.read()).code, 150);
    assert.equal((await readAllBounded(data)).toString(), 'secret data');
    assert.equal((await ftp.read()).code, 226);
    assert.ok(
      srv.logs.some((l) => l.includes('127.0.0.2')),
      'refusal not logged',
    );

    const fxp = await scope.server({ args: ['-w'] });
    await putFile(path.join(fxp.home('joe'), 'f.txt'), 'fxp data');
    const ftp2 = await scope.raw(fxp);
    const port2 = await epsvPort(ftp2);
    const third = scope.socket(await connectTo(port2, '127.0.0.1', '127.0.0.2'));
    ftp2.send('RETR f.txt');
    assert.equal((await ftp2.read()).code, 150);
    assert.equal((await readAllBounded(third)).toString(), 'fxp data');
    assert.equal((await ftp2.read()).code, 226);
  });
});

// ---------------------------------------------------------------------------------------------

describe('active mode bounce rules (upstream §2.5)', () => {
  it('PORT/EPRT to a third host are refused; port < 1024 too; EPSV ALL disables them', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    const ftp = await scope.raw(srv);
    const port = await ftp.cmd(`PORT ${portArg('127.0.0.2', 40000)}`);
    assert.equal(port.lines[0], "500 I won't open a connection to 127.0.0.2 (only to 127.0.0.1)");
    const eprt = await ftp.cmd('EPRT |1|127.0.0.2|40000|');
    assert.equal(eprt.lines[0], "500 I won't open a connection to 127.0.0.2 (only to 127.0.0.1)");
    assert.equal(
      (await ftp.cmd(`PORT ${portArg('127.0.0.1', 80)}`)).lines[0],
      "501 Sorry, but I won't connect to ports < 1024",
    );
    assert.equal(
      (await ftp.cmd('EPRT |1|127.0.0.1|21|')).lines[0],
      "501 Sorry, but I won't connect to ports < 1024",
    );
    assert.equal((await ftp.cmd('PORT 0,0,0,0,156,64')).lines[0], '501 Syntax error in IP address');
    assert.equal((await ftp.cmd('PORT 127,0,0,1,0,0')).lines[0], '501 Syntax error in IP address');
    assert.equal((await ftp.cmd('EPRT |3|x|40000|')).lines[0], '522 Only IPv4 and IPv6 are supported (1,2)');
    // A refused PORT leaves no data connection behind.
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'x');
    assert.equal((await ftp.cmd('RETR f.txt')).lines[0], '425 No data connection');
    assert.equal(
      (await ftp.cmd(`PORT ${portArg('127.0.0.1', 40000)}`)).lines[0],
      '200 PORT command successful',
    );
    const all = await ftp.cmd('EPSV ALL');
    assert.ok(all.code >= 200 && all.code < 300, all.text);
    assert.equal((await ftp.cmd(`PORT ${portArg('127.0.0.1', 40000)}`)).code, 501);
    assert.equal((await ftp.cmd('EPRT |1|127.0.0.1|40000|')).code, 501);
  });

  it('with -w, PORT to 127.0.0.2 is an FXP transfer that really connects there', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-w'] });
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'to a third host');
    const ftp = await scope.raw(srv);
    const target = await activeTarget(scope, '127.0.0.2');
    const r = await ftp.cmd(`PORT ${portArg('127.0.0.2', target.port)}`);
    assert.equal(r.code, 200);
    assert.deepEqual(r.lines, [
      '200-FXP transfer: from 127.0.0.1 to 127.0.0.2',
      '200 PORT command successful',
    ]);
    const first = await ftp.cmd('RETR f.txt');
    assert.equal(first.code, 150);
    assert.match(first.text, new RegExp(`Connecting to port ${target.port}`));
    const got = await target.received;
    assert.equal(got.bytes.toString(), 'to a third host');
    assert.equal(got.peer, '127.0.0.1');
    assert.equal((await ftp.read()).code, 226);
    // Anonymous sessions need -W, not -w.
    const anon = await scope.raw(srv, 'ftp');
    assert.equal((await anon.cmd(`PORT ${portArg('127.0.0.2', target.port)}`)).code, 500);
    const everybody = await scope.server({ args: ['-W'] });
    const anonW = await scope.raw(everybody, 'ftp');
    const w = await anonW.cmd(`EPRT |1|127.0.0.2|${target.port}|`);
    assert.deepEqual(w.lines, [
      '200-FXP transfer: from 127.0.0.1 to 127.0.0.2',
      '200 PORT command successful',
    ]);
    // Still no privileged ports, FXP or not.
    assert.equal((await anonW.cmd('EPRT |1|127.0.0.2|80|')).code, 501);
  });

  it('an active connection that cannot be made gives 150 then 425', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'x');
    const ftp = await scope.raw(srv);
    // A port nobody listens on: bind one, then close it.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    const free = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    assert.equal((await ftp.cmd(`EPRT |1|127.0.0.1|${free}|`)).code, 200);
    const first = await ftp.cmd('RETR f.txt');
    assert.equal(first.lines[0], `150 Connecting to port ${free}`);
    const r = await ftp.read();
    assert.equal(r.code, 425, r.text);
    assert.match(r.text, new RegExp(`Could not open data connection to port ${free}`));
    assert.equal((await ftp.cmd('NOOP')).code, 200);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ESTA / ESTP', () => {
  it('ESTA reports the established passive connection, ESTP the active one', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'est');
    const ftp = await scope.raw(srv);
    assert.equal((await ftp.cmd('ESTA')).code, 520);
    const port = await epsvPort(ftp);
    const data = scope.socket(await connectTo(port));
    const esta = await ftp.cmd('ESTA');
    assert.equal(esta.lines[0], `225 Connected from (|1|127.0.0.1|${data.localPort}|)`);
    assert.equal((await ftp.cmd('ESTP')).code, 520);
    ftp.send('RETR f.txt');
    assert.equal((await ftp.read()).code, 150);
    assert.equal((await readAllBounded(data)).toString(), 'est');
    assert.equal((await ftp.read()).code, 226);

    const target = await activeTarget(scope);
    assert.equal((await ftp.cmd(`PORT ${portArg('127.0.0.1', target.port)}`)).code, 200);
    const estp = await ftp.cmd('ESTP');
    assert.equal(estp.lines[0], `225 Connected to (|1|127.0.0.1|${target.port}|)`);
    ftp.send('RETR f.txt');
    assert.equal((await ftp.read()).code, 150);
    assert.equal((await target.received).bytes.toString(), 'est');
    assert.equal((await ftp.read()).code, 226);
  });
});
