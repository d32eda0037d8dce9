/**
 * Per-account rules end to end (upstream §4.2, §5.1, §5.2, §6.2): virtual quotas (-n and per-user:
 * `.ftpquota` bookkeeping, 552 before and during uploads, status lines, protected names, forced
 * chroot, SITE CHMOD u+rx), ratios (-q, -Q, per-user), bandwidth (-t, -T, per-user, measured on the
 * client side and shared by all sessions of an account), client/local address rules (IPv4 and IPv6),
 * time windows, session caps (-y, max_sessions), -j home creation and `/./` start directories.
 * Every check names the exact reply and the files on disk. Only loopback addresses are used.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { TEST_GID, TEST_UID, type TestServer, type TestServerOptions, putFile } from '../helpers/server.js';
import { RawFtp, type RawReply } from '../helpers/raw.js';
import { TestScope } from '../helpers/scope.js';
import {
  connectTo,
  curl,
  epsvPort,
  haveTool,
  ipv6Loopback,
  pattern,
  readAllBounded,
  waitFor,
  writeAndEnd,
} from '../helpers/transfer-clients.js';
import { attachLogger } from '../../src/telemetry/log.js';

/** Per-test resources: servers with their log lines, raw control connections. */
class Scope extends TestScope {
  /** A server whose operator log lines (the stderr format) are collected in `lines`. */
  override async server(opts: TestServerOptions = {}): Promise<TestServer & { lines: string[] }> {
    const srv = await super.server(opts);
    const lines: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(
          ...chunk
            .toString('utf8')
            .split('\n')
            .filter((l) => l !== ''),
        );
        done();
      },
    });
    this.defer(attachLogger(srv.bus, { format: 'text', verbose: 0, out }));
    return Object.assign(srv, { lines });
  }

  /** A raw control connection (not logged in) and its greeting. */
  async connect(srv: TestServer): Promise<{ ftp: RawFtp; greeting: RawReply }> {
    const c = await RawFtp.connect(srv.port, srv.host);
    this.defer(() => c.ftp.close());
    return c;
  }

  /** A raw control connection logged in, in binary mode; returns the 230 reply too. */
  async login(srv: TestServer, user = 'joe', pass = 'secret'): Promise<{ ftp: RawFtp; r230: RawReply }> {
    const { ftp } = await this.connect(srv);
    const r230 = await ftp.login(user, pass);
    assert.equal((await ftp.cmd('TYPE I')).code, 200);
    return { ftp, r230 };
  }
}

/** The passwd fields after home (upstream §3.2), in file order. */
interface Extra {
  bwUp?: number;
  bwDown?: number;
  ratioUp?: number;
  ratioDown?: number;
  maxSessions?: number;
  quotaFiles?: number;
  quotaBytes?: number;
  allowLocal?: string;
  denyLocal?: string;
  allowClient?: string;
  denyClient?: string;
  time?: string;
}

function extra(e: Extra): string {
  return [
    e.bwUp,
    e.bwDown,
    e.ratioUp,
    e.ratioDown,
    e.maxSessions,
    e.quotaFiles,
    e.quotaBytes,
    e.allowLocal,
    e.denyLocal,
    e.allowClient,
    e.denyClient,
    e.time,
  ]
    .map((v) => (v === undefined ? '' : String(v)))
    .join(':');
}

/** Text lines of a reply without their `NNN-`/`NNN ` prefix. */
function texts(r: RawReply): string[] {
  return r.lines.map((l) => l.slice(4));
}

/** Opens EPSV, connects, sends the command; returns the data socket and the first reply. */
async function startData(
  scope: Scope,
  ftp: RawFtp,
  line: string,
): Promise<{ data: net.Socket; first: RawReply }> {
  const data = scope.socket(await connectTo(await epsvPort(ftp)));
  ftp.send(line);
  return { data, first: await ftp.read() };
}

/** A whole download; returns the bytes, the first and the final reply. */
async function retr(
  scope: Scope,
  ftp: RawFtp,
  name: string,
): Promise<{ first: RawReply; final?: RawReply; bytes: Buffer }> {
  const { data, first } = await startData(scope, ftp, `RETR ${name}`);
  if (first.code !== 150) {
    data.destroy();
    return { first, bytes: Buffer.alloc(0) };
  }
  const bytes = await readAllBounded(data);
  return { first, final: await ftp.read(), bytes };
}

/**
 * A whole upload; returns the first and the final reply. The server may cut the data connection
 * in the middle (quota), so a write error is expected and ignored: the final reply tells.
 */
async function stor(
  scope: Scope,
  ftp: RawFtp,
  name: string,
  content: Buffer | string,
  verb = 'STOR',
): Promise<{ first: RawReply; final?: RawReply }> {
  const { data, first } = await startData(scope, ftp, `${verb} ${name}`);
  if (first.code !== 150) {
    data.destroy();
    return { first };
  }
  await writeAndEnd(data, content).catch(() => undefined);
  return { first, final: await ftp.read() };
}

async function quotaFile(dir: string): Promise<string> {
  return readFile(path.join(dir, '.ftpquota'), 'utf8');
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Leftovers of interrupted uploads and quota updates (`.pureftpd-*` temp names). */
async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('.pureftpd-'));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
describe('virtual quotas (upstream §5.1)', () => {
  it('per-user files:bytes: status lines, .ftpquota after STOR/MKD/RMD/DELE/RNTO, 552 before upload', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [{ login: 'joe', password: 'secret', extra: extra({ quotaFiles: 4, quotaBytes: 10000 }) }],
    });
    const home = srv.home('joe');
    const { ftp, r230 } = await scope.login(srv);
    // Upstream §2.3 PASS: the quota lines close the 230 reply; a missing .ftpquota counts as 0 0.
    assert.deepEqual(texts(r230), [
      'OK. Current directory is /',
      '0 files used (0%) - authorized: 4 files',
      '0 Kbytes used (0%) - authorized: 9 Kb',
    ]);
    assert.equal(r230.lines.at(-1), '230 0 Kbytes used (0%) - authorized: 9 Kb');

    let r = await stor(scope, ftp, 'a.txt', pattern(3000));
    assert.equal(r.final?.code, 226);
    assert.deepEqual(texts(r.final).slice(-2), [
      '1 files used (25%) - authorized: 4 files',
      '2 Kbytes used (30%) - authorized: 9 Kb',
    ]);
    assert.equal(await quotaFile(home), '1 3000\n');
    assert.equal((await stat(path.join(home, '.ftpquota'))).mode & 0o777, 0o600);

    // Overwriting only counts the size difference (upstream §5.1).
    r = await stor(scope, ftp, 'a.txt', pattern(2000, 2));
    assert.equal(r.final?.code, 226);
    assert.equal(await quotaFile(home), '1 2000\n');

    // Directories count as files.
    let c = await ftp.cmd('MKD d');
    assert.deepEqual(c.lines, [
      '257-"d" : The directory was successfully created',
      '257-2 files used (50%) - authorized: 4 files',
      '257 1 Kbytes used (20%) - authorized: 9 Kb',
    ]);
    assert.equal(await quotaFile(home), '2 2000\n');
    c = await ftp.cmd('RMD d');
    assert.deepEqual(c.lines, [
      '250-The directory was successfully removed',
      '250-1 files used (25%) - authorized: 4 files',
      '250 1 Kbytes used (20%) - authorized: 9 Kb',
    ]);
    assert.equal(await quotaFile(home), '1 2000\n');

    r = await stor(scope, ftp, 'b.txt', pattern(1500, 3));
    assert.equal(r.final?.code, 226);
    assert.equal(await quotaFile(home), '2 3500\n');
    c = await ftp.cmd('DELE b.txt');
    assert.deepEqual(c.lines, [
      '250-Deleted b.txt',
      '250-1 files used (25%) - authorized: 4 files',
      '250 1 Kbytes used (20%) - authorized: 9 Kb',
    ]);
    assert.equal(await quotaFile(home), '1 2000\n');
    assert.equal(await exists(path.join(home, 'b.txt')), false);

    // RNTO over an existing file frees what the overwritten file used.
    await stor(scope, ftp, 'c.txt', pattern(700, 4));
    assert.equal(await quotaFile(home), '2 2700\n');
    assert.equal((await ftp.cmd('RNFR c.txt')).code, 350);
    assert.equal((await ftp.cmd('RNTO a.txt')).text, '250 File successfully renamed or moved');
    assert.equal(await quotaFile(home), '1 700\n');
    assert.deepEqual(await readFile(path.join(home, 'a.txt')), pattern(700, 4));

    // Fill the file count: 4 files (3 files + 1 directory), then every new name is refused before 150.
    await stor(scope, ftp, 'f2', 'x');
    await stor(scope, ftp, 'f3', 'y');
    assert.equal((await ftp.cmd('MKD full')).code, 257);
    assert.equal(await quotaFile(home), '4 702\n');
    r = await stor(scope, ftp, 'f5', 'z');
    assert.equal(r.first.text, "552 Quota exceeded: [f5] won't be saved");
    assert.equal(await exists(path.join(home, 'f5')), false);
    // Upstream §5.1: at the file limit even an overwrite is refused.
    r = await stor(scope, ftp, 'f2', 'zz');
    assert.equal(r.first.text, "552 Quota exceeded: [f2] won't be saved");
    assert.equal(await readFile(path.join(home, 'f2'), 'utf8'), 'x');
    assert.equal((await ftp.cmd('MKD more')).text, "552 Quota exceeded: [more] won't be saved");
    assert.equal(await exists(path.join(home, 'more')), false);
    assert.equal(await quotaFile(home), '4 702\n');
    assert.deepEqual(await tempFiles(home), []);
    assert.equal((await ftp.cmd('QUIT')).code, 221);
  });

  it('the byte budget aborts an upload mid-way: 552, nothing left, the old content intact', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [{ login: 'joe', password: 'secret', extra: extra({ quotaBytes: 100_000 }) }],
    });
    const home = srv.home('joe');
    const { ftp, r230 } = await scope.login(srv);
    assert.equal(r230.lines.at(-1), '230 0 Kbytes used (0%) - authorized: 97 Kb');
    const keep = pattern(30_000, 7);
    assert.equal((await stor(scope, ftp, 'keep.bin', keep)).final?.code, 226);
    assert.equal(await quotaFile(home), '1 30000\n');

    // A new file larger than the room left (70000 bytes): cut during the transfer, nothing kept.
    const big = pattern(2 * 1024 * 1024, 8);
    let r = await stor(scope, ftp, 'big.bin', big);
    assert.equal(r.first.code, 150);
    assert.equal(r.final?.text, '552 Transfer aborted (quota)');
    assert.equal(await exists(path.join(home, 'big.bin')), false);
    assert.equal(await quotaFile(home), '1 30000\n');

    // Overwriting: the room is the limit minus the others plus the replaced file (100000 bytes).
    r = await stor(scope, ftp, 'keep.bin', big);
    assert.equal(r.final?.text, '552 Transfer aborted (quota)');
    assert.deepEqual(await readFile(path.join(home, 'keep.bin')), keep, 'the previous content is intact');
    assert.equal(await quotaFile(home), '1 30000\n');

    // APPE counts from the existing size: 70000 more bytes fit exactly, one more does not.
    r = await stor(scope, ftp, 'keep.bin', pattern(70_001, 9), 'APPE');
    assert.equal(r.final?.text, '552 Transfer aborted (quota)');
    assert.deepEqual(await readFile(path.join(home, 'keep.bin')), keep);
    r = await stor(scope, ftp, 'keep.bin', pattern(70_000, 9), 'APPE');
    assert.equal(r.final?.code, 226);
    assert.equal(await quotaFile(home), '1 100000\n');
    assert.equal((await stat(path.join(home, 'keep.bin'))).size, 100_000);
    assert.deepEqual(await tempFiles(home), []);

    // The session goes on after the aborts.
    assert.equal((await ftp.cmd('NOOP')).code, 200);
  });

  it('two sessions cannot both use the last room; an interrupted upload counts what it kept', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [{ login: 'joe', password: 'secret', extra: extra({ quotaBytes: 100_000 }) }],
    });
    const home = srv.home('joe');
    const a = await scope.login(srv);
    const b = await scope.login(srv);
    // Both uploads start with 100000 bytes of room; the second to finish no longer fits.
    const da = await startData(scope, a.ftp, 'STOR a.bin');
    const db = await startData(scope, b.ftp, 'STOR b.bin');
    assert.equal(da.first.code, 150);
    assert.equal(db.first.code, 150);
    await writeAndEnd(da.data, pattern(60_000, 1));
    assert.equal((await a.ftp.read()).code, 226);
    await writeAndEnd(db.data, pattern(60_000, 2));
    assert.equal((await b.ftp.read()).text, "552 Quota exceeded: [b.bin] won't be saved");
    assert.equal(await exists(path.join(home, 'b.bin')), false);
    assert.equal(await quotaFile(home), '1 60000\n');
    assert.ok(srv.logs.some((l) => l.includes('Quota exceeded:') && l.includes('b.bin not saved')));

    // An aborted upload keeps its bytes for a resume (upstream §2.3 REST): they are counted.
    const part = await startData(scope, a.ftp, 'STOR part.bin');
    part.data.write(pattern(10_000, 3));
    const file = path.join(home, 'part.bin');
    assert.ok(await waitFor(async () => (await stat(file).catch(() => undefined))?.size === 10_000));
    a.ftp.send('ABOR');
    assert.equal((await a.ftp.read()).code, 426);
    assert.equal((await a.ftp.read()).code, 226);
    assert.equal(await quotaFile(home), '2 70000\n');
    assert.equal((await a.ftp.cmd('REST 10000')).code, 350);
    const rest = await stor(scope, a.ftp, 'part.bin', pattern(5000, 4));
    assert.equal(rest.final?.code, 226);
    assert.equal(await quotaFile(home), '2 75000\n');
    assert.equal((await stat(file)).size, 15_000);
  });

  it('a real client (curl) fails an upload that runs out of quota, nothing kept', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [{ login: 'joe', password: 'secret', extra: extra({ quotaBytes: 50_000 }) }],
    });
    const local = path.join(srv.dir, 'local-big.bin');
    await writeFile(local, pattern(1024 * 1024, 5));
    if (haveTool(t, 'curl')) {
      const r = await curl(['-T', local, `ftp://joe:secret@127.0.0.1:${srv.port}/by-curl.bin`]);
      // 70 is "Exceeded storage allocation" (curl read the 552). The server closes the data
      // connection with unread data in it, as Pure-FTPd does, so curl may see the reset first (55).
      assert.ok(r.code === 70 || r.code === 55, `curl exit ${String(r.code)}: ${r.stderr}`);
      t.diagnostic(`curl exit status ${String(r.code)}`);
      assert.equal(await exists(path.join(srv.home('joe'), 'by-curl.bin')), false);
    }
    assert.equal(await exists(path.join(srv.home('joe'), '.ftpquota')), false, 'nothing was counted');
  });

  it('-n files:MB for every account; per-user values win field by field; quotas force a chroot', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      args: ['-n', '3:1'],
      users: [
        { login: 'joe', password: 'secret', chroot: false },
        { login: 'ann', password: 'pw', extra: extra({ quotaFiles: 10 }) },
      ],
    });
    // joe has no /./ home: the quota forces a chroot (upstream §6.2 "restricted").
    const { ftp, r230 } = await scope.login(srv);
    assert.deepEqual(texts(r230), [
      'OK. Current restricted directory is /',
      '0 files used (0%) - authorized: 3 files',
      '0 Kbytes used (0%) - authorized: 1024 Kb',
    ]);
    assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location');
    assert.equal((await stor(scope, ftp, 'one', '1')).final?.code, 226);
    assert.equal(await quotaFile(srv.home('joe')), '1 1\n');
    // An existing .ftpquota is read at login.
    await putFile(path.join(srv.home('ann'), '.ftpquota'), '2 2048\n');
    const ann = await scope.login(srv, 'ann', 'pw');
    assert.deepEqual(texts(ann.r230).slice(-2), [
      '2 files used (20%) - authorized: 10 files',
      '2 Kbytes used (0%) - authorized: 1024 Kb',
    ]);
  });

  it('names containing .ftpquota cannot be written under quotas (553) but can without', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [
        { login: 'joe', password: 'secret', extra: extra({ quotaFiles: 100 }) },
        { login: 'free', password: 'pw' },
      ],
    });
    const home = srv.home('joe');
    const { ftp } = await scope.login(srv);
    await stor(scope, ftp, 'plain', 'p');
    const before = await quotaFile(home);
    for (const name of ['.ftpquota', 'x.ftpquota.bak', '/.ftpquota']) {
      const r = await stor(scope, ftp, name, 'forged 0 0\n');
      assert.equal(r.first.text, `553 Prohibited file name: ${name}`);
    }
    assert.equal((await stor(scope, ftp, '.ftpquota', 'x', 'APPE')).first.code, 553);
    assert.equal((await ftp.cmd('DELE .ftpquota')).text, '553 Prohibited file name: .ftpquota');
    assert.equal((await ftp.cmd('RNFR .ftpquota')).text, '553 Prohibited file name: .ftpquota');
    assert.equal((await ftp.cmd('RNFR plain')).code, 350);
    assert.equal((await ftp.cmd('RNTO .ftpquota')).text, '553 Prohibited file name: .ftpquota');
    assert.equal((await ftp.cmd('MKD a.ftpquota')).text, '553 Prohibited directory name');
    assert.equal((await ftp.cmd('SITE CHMOD 666 .ftpquota')).text, '553 Prohibited file name: .ftpquota');
    assert.equal((await ftp.cmd('STOR .pureftpd-upload.x')).code, 553);
    assert.equal(await quotaFile(home), before, '.ftpquota untouched');
    assert.equal(await exists(path.join(home, 'x.ftpquota.bak')), false);
    // Without quotas `.ftpquota` is an ordinary name.
    const free = await scope.login(srv, 'free', 'pw');
    assert.equal((await stor(scope, free.ftp, '.ftpquota', '5 5\n')).final?.code, 226);
    assert.equal(await readFile(path.join(srv.home('free'), '.ftpquota'), 'utf8'), '5 5\n');
  });

  it('SITE CHMOD on a directory keeps u+rx under quotas (not without)', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [
        { login: 'joe', password: 'secret', extra: extra({ quotaFiles: 100 }) },
        { login: 'free', password: 'pw' },
      ],
    });
    const { ftp } = await scope.login(srv);
    assert.equal((await ftp.cmd('MKD d')).code, 257);
    await stor(scope, ftp, 'f', 'data');
    assert.equal((await ftp.cmd('SITE CHMOD 000 d')).text, '200 Permissions changed on d');
    assert.equal((await stat(path.join(srv.home('joe'), 'd'))).mode & 0o7777, 0o500);
    assert.equal((await ftp.cmd('SITE CHMOD 070 d')).code, 200);
    assert.equal((await stat(path.join(srv.home('joe'), 'd'))).mode & 0o7777, 0o570);
    assert.equal((await ftp.cmd('SITE CHMOD 000 f')).code, 200);
    assert.equal((await stat(path.join(srv.home('joe'), 'f'))).mode & 0o7777, 0o000, 'files are not changed');
    const free = await scope.login(srv, 'free', 'pw');
    assert.equal((await free.ftp.cmd('MKD d')).code, 257);
    assert.equal((await free.ftp.cmd('SITE CHMOD 000 d')).code, 200);
    assert.equal((await stat(path.join(srv.home('free'), 'd'))).mode & 0o7777, 0o000);
  });
});

// ---------------------------------------------------------------------------------------------
describe('ratios (upstream §5.2)', () => {
  it('-Q for users: greeting, 230 line, 550 three lines, allowed again after uploading enough', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-Q', '1:2'] });
    await putFile(path.join(srv.home('joe'), 'ten.bin'), pattern(10 * 1024, 1));
    const { ftp, greeting } = await scope.connect(srv);
    assert.ok(greeting.lines.includes('220-RATIOS ARE ENABLED FOR EVERYONE:'), greeting.text);
    assert.ok(
      greeting.lines.includes('220-to download 2 Mb, uploading 1 Mb of goodies is mandatory.'),
      greeting.text,
    );
    const r230 = await ftp.login('joe', 'secret');
    assert.deepEqual(texts(r230), ['You must respect a 1:2 (UL/DL) ratio', 'OK. Current directory is /']);
    await ftp.cmd('TYPE I');
    let r = await retr(scope, ftp, 'ten.bin');
    assert.deepEqual(r.first.lines, [
      '550-Sorry, but the upload/download ratio is 1:2 .',
      '550-You currently uploaded 0 Kb and downloaded 0 Kb.',
      '550 Please upload some goodies and try leeching later.',
    ]);
    // 4 KB up allows 8 KB down: still not enough for 10 KB.
    assert.equal((await stor(scope, ftp, 'up1', pattern(4096, 2))).final?.code, 226);
    r = await retr(scope, ftp, 'ten.bin');
    assert.equal(r.first.lines[1], '550-You currently uploaded 4 Kb and downloaded 0 Kb.');
    assert.equal((await stor(scope, ftp, 'up2', pattern(1024, 3))).final?.code, 226);
    r = await retr(scope, ftp, 'ten.bin');
    assert.equal(r.final?.code, 226);
    assert.deepEqual(r.bytes, pattern(10 * 1024, 1));
    // The next download needs more uploads again.
    r = await retr(scope, ftp, 'ten.bin');
    assert.equal(r.first.lines[1], '550-You currently uploaded 5 Kb and downloaded 10 Kb.');
    assert.equal((await ftp.cmd('QUIT')).lines[0], '221-Goodbye. You uploaded 5 and downloaded 10 kbytes.');
  });

  it('per-user ratio overrides -Q; -q applies to anonymous only', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      args: ['-q', '1:1', '-Q', '1:1'],
      users: [
        { login: 'joe', password: 'secret', extra: extra({ ratioUp: 2, ratioDown: 3 }) },
        { login: 'ann', password: 'pw' },
      ],
    });
    await putFile(path.join(srv.home('joe'), 'f'), pattern(3072));
    const joe = await scope.login(srv);
    assert.equal(joe.r230.lines[0], '230-You must respect a 2:3 (UL/DL) ratio');
    const r = await retr(scope, joe.ftp, 'f');
    assert.equal(r.first.lines[0], '550-Sorry, but the upload/download ratio is 2:3 .');
    // 2 KB up allows 3 KB down.
    await stor(scope, joe.ftp, 'u', pattern(2048));
    assert.equal((await retr(scope, joe.ftp, 'f')).final?.code, 226);
    assert.equal(
      (await scope.login(srv, 'ann', 'pw')).r230.lines[0],
      '230-You must respect a 1:1 (UL/DL) ratio',
    );
  });

  it('-q: anonymous greeting and refusal; users are not held to it', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-q', '1:5'] });
    await writeFile(path.join(srv.anonRoot, 'pub.bin'), pattern(6 * 1024));
    await mkdir(path.join(srv.anonRoot, 'incoming'));
    await chmod(path.join(srv.anonRoot, 'incoming'), 0o777);
    await putFile(path.join(srv.home('joe'), 'mine'), 'mine');
    const { ftp, greeting } = await scope.connect(srv);
    assert.ok(greeting.lines.includes('220-ANONYMOUS USERS ARE SUBJECT TO AN UL/DL RATIO:'), greeting.text);
    assert.ok(greeting.lines.includes('220-to download 5 Mb, uploading 1 Mb of goodies is mandatory.'));
    const anon = await ftp.login('ftp');
    assert.deepEqual(texts(anon), ['You must respect a 1:5 (UL/DL) ratio', 'Anonymous user logged in']);
    await ftp.cmd('TYPE I');
    let r = await retr(scope, ftp, 'pub.bin');
    assert.equal(r.first.code, 550);
    assert.equal(r.first.lines[0], '550-Sorry, but the upload/download ratio is 1:5 .');
    assert.equal((await stor(scope, ftp, 'incoming/gift', pattern(1300))).final?.code, 226);
    r = await retr(scope, ftp, 'pub.bin');
    assert.equal(r.final?.code, 226);
    const joe = await scope.login(srv);
    assert.deepEqual(texts(joe.r230), ['OK. Current directory is /']);
    assert.equal((await retr(scope, joe.ftp, 'mine')).final?.code, 226);
  });
});

// ---------------------------------------------------------------------------------------------
/** One measured transfer: bytes and client-side times of the first and last byte (ms). */
interface Measured {
  bytes: number;
  first: number;
  last: number;
  final: RawReply;
}

/** Downloads `name` and times it on the client side, from the first to the last byte. */
async function timedRetr(scope: Scope, ftp: RawFtp, name: string): Promise<Measured> {
  const { data, first } = await startData(scope, ftp, `RETR ${name}`);
  assert.equal(first.code, 150, first.text);
  let bytes = 0;
  let t0 = 0;
  let t1 = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('download took more than 20 s')), 20_000);
    data.on('data', (c: Buffer) => {
      const now = performance.now();
      if (bytes === 0) t0 = now;
      bytes += c.length;
      t1 = now;
    });
    data.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    data.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  return { bytes, first: t0, last: t1, final: await ftp.read(15_000) };
}

/**
 * Uploads `content` and times it on the client side from the first byte sent to the final reply:
 * loopback socket buffers swallow megabytes at once, so the end of writing says nothing.
 */
async function timedStor(scope: Scope, ftp: RawFtp, name: string, content: Buffer): Promise<Measured> {
  const { data, first } = await startData(scope, ftp, `STOR ${name}`);
  assert.equal(first.code, 150, first.text);
  const t0 = performance.now();
  const written = writeAndEnd(data, content, 20_000);
  const final = await ftp.read(20_000);
  const t1 = performance.now();
  await written;
  return { bytes: content.length, first: t0, last: t1, final };
}

function rateOf(...m: Measured[]): number {
  const bytes = m.reduce((n, x) => n + x.bytes, 0);
  const seconds = (Math.max(...m.map((x) => x.last)) - Math.min(...m.map((x) => x.first))) / 1000;
  return bytes / seconds;
}

/** Asserts a measured rate within `tolerance` (fraction) of the target, and reports it. */
function assertRate(t: TestContext, what: string, rate: number, target: number, tolerance = 0.1): void {
  const error = (rate - target) / target;
  t.diagnostic(
    `${what}: ${(rate / 1024).toFixed(1)} KB/s for ${target / 1024} KB/s (${(error * 100).toFixed(1)}%)`,
  );
  assert.ok(
    Math.abs(error) <= tolerance,
    `${what}: ${rate.toFixed(0)} B/s is not within ${tolerance * 100}% of ${target} B/s`,
  );
}

const KB = 1024;
/** 200 KB/s for 5 s. */
const RATE = 200 * KB;
const FIVE_SECONDS = 5 * RATE;

describe('bandwidth (upstream §4.2, -t/-T and per-user rates)', { concurrency: true }, () => {
  it('-T 200: a 5 s download runs at 200 KB/s within 10% (raw client and curl)', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-T', '200'] });
    await putFile(path.join(srv.home('joe'), 'big'), pattern(FIVE_SECONDS));
    const { ftp, r230 } = await scope.login(srv);
    assert.equal(r230.lines[0], '230-Your bandwidth usage is restricted');
    const m = await timedRetr(scope, ftp, 'big');
    assert.equal(m.bytes, FIVE_SECONDS);
    assert.equal(m.final.code, 226);
    assertRate(t, 'download, raw client', rateOf(m), RATE);
    if (haveTool(t, 'curl')) {
      const r = await curl([
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{size_download} %{time_starttransfer} %{time_total}',
        `ftp://joe:secret@127.0.0.1:${srv.port}/big`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [size, start, total] = r.stdout.toString().trim().split(' ').map(Number) as [
        number,
        number,
        number,
      ];
      assert.equal(size, FIVE_SECONDS);
      assertRate(t, 'download, curl', size / (total - start), RATE);
    }
  });

  it('-T 200: a 5 s upload runs at 200 KB/s within 10%', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-T', '200'] });
    const { ftp } = await scope.login(srv);
    const content = pattern(FIVE_SECONDS, 3);
    const m = await timedStor(scope, ftp, 'up.bin', content);
    assert.equal(m.final.code, 226, m.final.text);
    assertRate(t, 'upload', rateOf(m), RATE);
    assert.deepEqual(await readFile(path.join(srv.home('joe'), 'up.bin')), content);
  });

  it('two sessions of one account share its per-user rate (combined within 10%)', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [{ login: 'joe', password: 'secret', extra: extra({ bwDown: RATE }) }],
    });
    await putFile(path.join(srv.home('joe'), 'half'), pattern(FIVE_SECONDS / 2));
    const a = await scope.login(srv);
    const b = await scope.login(srv);
    assert.equal(b.r230.lines[0], '230-Your bandwidth usage is restricted');
    const [ma, mb] = await Promise.all([timedRetr(scope, a.ftp, 'half'), timedRetr(scope, b.ftp, 'half')]);
    assert.equal(ma.bytes + mb.bytes, FIVE_SECONDS);
    assertRate(t, 'two sessions combined', rateOf(ma, mb), RATE);
    // Each got a fair part of the shared rate.
    assertRate(t, 'session A alone', rateOf(ma), RATE / 2, 0.25);
    assertRate(t, 'session B alone', rateOf(mb), RATE / 2, 0.25);
  });

  it('-t throttles anonymous only; a per-user rate overrides the global one', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      args: ['-t', '100'],
      users: [
        { login: 'joe', password: 'secret' },
        { login: 'fast', password: 'pw', extra: extra({ bwDown: 400 * KB }) },
      ],
    });
    // 4 s transfers (they run alongside the 5 s ones, so they cost no time).
    const size = 400 * KB;
    await writeFile(path.join(srv.anonRoot, 'pub'), pattern(size));
    await putFile(path.join(srv.home('joe'), 'f'), pattern(size));
    await putFile(path.join(srv.home('fast'), 'f'), pattern(4 * size));
    const anon = await scope.login(srv, 'ftp', '');
    assert.deepEqual(texts(anon.r230), ['Your bandwidth usage is restricted', 'Anonymous user logged in']);
    const joe = await scope.login(srv);
    assert.deepEqual(texts(joe.r230), ['OK. Current directory is /']);
    const fast = await scope.login(srv, 'fast', 'pw');
    assert.equal(fast.r230.lines[0], '230-Your bandwidth usage is restricted');
    const [ma, mj, mf] = await Promise.all([
      timedRetr(scope, anon.ftp, 'pub'),
      timedRetr(scope, joe.ftp, 'f'),
      timedRetr(scope, fast.ftp, 'f'),
    ]);
    // Over 4 s the first slice and the 0.1 s burst weigh ~6% (4.5% over 5 s), hence 15%.
    assertRate(t, 'anonymous with -t 100', rateOf(ma), 100 * KB, 0.15);
    assertRate(t, 'per-user 400 KB/s over -t', rateOf(mf), 400 * KB, 0.15);
    assert.ok(rateOf(mj) > 1000 * KB, `joe is not throttled by -t (${rateOf(mj).toFixed(0)} B/s)`);
  });

  it('-T 100: (up:down with an empty side) limits uploads only', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-T', '100:'] });
    await putFile(path.join(srv.home('joe'), 'f'), pattern(400 * KB));
    const { ftp, r230 } = await scope.login(srv);
    assert.equal(r230.lines[0], '230-Your bandwidth usage is restricted');
    const down = await timedRetr(scope, ftp, 'f');
    assert.ok(rateOf(down) > 1000 * KB, `downloads are not throttled (${rateOf(down).toFixed(0)} B/s)`);
    const up = await timedStor(scope, ftp, 'u', pattern(400 * KB));
    assert.equal(up.final.code, 226);
    assertRate(t, 'upload with -T 100:', rateOf(up), 100 * KB, 0.15);
  });
});

// ---------------------------------------------------------------------------------------------
/** USER/PASS expecting a refusal; returns the PASS reply. */
async function refusedLogin(scope: Scope, srv: TestServer, user = 'joe', pass = 'secret'): Promise<RawReply> {
  const { ftp } = await scope.connect(srv);
  assert.equal((await ftp.cmd(`USER ${user}`)).code, 331);
  return ftp.cmd(`PASS ${pass}`);
}

describe('client and local address rules (upstream §4.2)', () => {
  it('deny 127.0.0.0/8 and an allow list without us refuse the login with 530; the log names the rule', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [
        { login: 'joe', password: 'secret', extra: extra({ denyClient: '127.0.0.0/8' }) },
        { login: 'ann', password: 'pw', extra: extra({ allowClient: '10.0.0.0/8,192.168.1.1' }) },
        {
          login: 'bob',
          password: 'pw',
          extra: extra({ allowClient: '10.0.0.0/8,127.0.0.1/32', denyClient: '10.1.1.1' }),
        },
        {
          login: 'eve',
          password: 'pw',
          extra: extra({ allowClient: '127.0.0.0/8', denyClient: '127.0.0.1' }),
        },
      ],
    });
    assert.equal((await refusedLogin(scope, srv)).text, '530 Login authentication failed');
    // Pure-FTPd's line as it is (fail2ban's filter matches it to the end), then the rule.
    assert.ok(
      srv.lines.some((l) => l.endsWith('(?@127.0.0.1) [WARNING] Authentication failed for user [joe]')),
      srv.lines.join('\n'),
    );
    assert.ok(
      srv.lines.some((l) =>
        l.endsWith(
          '(?@127.0.0.1) [INFO] Login of [joe] refused: client address 127.0.0.1 is in the denied list',
        ),
      ),
      srv.lines.join('\n'),
    );
    assert.equal((await refusedLogin(scope, srv, 'ann', 'pw')).text, '530 Login authentication failed');
    assert.ok(
      srv.lines.some((l) => l.includes('[ann] refused: client address 127.0.0.1 is not in the allowed list')),
    );
    // Both lists: must match allow and not deny.
    assert.equal((await scope.login(srv, 'bob', 'pw')).r230.code, 230);
    assert.equal((await refusedLogin(scope, srv, 'eve', 'pw')).text, '530 Login authentication failed');
    // A rule refusal is a failed login like a wrong password: the session may try again.
    const { ftp } = await scope.connect(srv);
    await ftp.cmd('USER eve');
    assert.equal((await ftp.cmd('PASS pw')).code, 530);
    assert.equal((await ftp.cmd('USER bob')).code, 331);
    assert.equal((await ftp.cmd('PASS pw')).code, 230);
  });

  it('local address rules match the address the client connected to', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [
        { login: 'joe', password: 'secret', extra: extra({ allowLocal: '127.0.0.1' }) },
        { login: 'ann', password: 'pw', extra: extra({ allowLocal: '127.0.0.2' }) },
        { login: 'bob', password: 'pw', extra: extra({ denyLocal: '127.0.0.0/30' }) },
      ],
    });
    assert.equal((await scope.login(srv)).r230.code, 230);
    assert.equal((await refusedLogin(scope, srv, 'ann', 'pw')).text, '530 Login authentication failed');
    assert.ok(
      srv.lines.some((l) => l.includes('[ann] refused: local address 127.0.0.1 is not in the allowed list')),
    );
    assert.equal((await refusedLogin(scope, srv, 'bob', 'pw')).text, '530 Login authentication failed');
    assert.ok(
      srv.lines.some((l) => l.includes('[bob] refused: local address 127.0.0.1 is in the denied list')),
    );
  });

  it('IPv6 clients on ::1 are matched against IPv6 networks', async (t) => {
    const skip = await ipv6Loopback();
    if (skip !== undefined) return t.skip(skip);
    const scope = new Scope(t);
    const srv = await scope.server({
      host: '::1',
      users: [
        { login: 'joe', password: 'secret', extra: extra({ denyClient: '127.0.0.0/8' }) },
        { login: 'ann', password: 'pw', extra: extra({ allowClient: '127.0.0.0/8' }) },
        { login: 'v6in', password: 'pw', extra: extra({ allowClient: '[::1]/128' }) },
        { login: 'v6out', password: 'pw', extra: extra({ allowClient: '[2001:db8::]/32' }) },
        { login: 'v6deny', password: 'pw', extra: extra({ denyClient: '[::]/64', allowLocal: '[::1]' }) },
      ],
    });
    // ::1 is not 127.0.0.1: an IPv4 deny list lets it in, an IPv4 allow list keeps it out.
    assert.equal((await scope.login(srv)).r230.code, 230);
    assert.equal((await refusedLogin(scope, srv, 'ann', 'pw')).text, '530 Login authentication failed');
    assert.equal((await scope.login(srv, 'v6in', 'pw')).r230.code, 230);
    assert.equal((await refusedLogin(scope, srv, 'v6out', 'pw')).text, '530 Login authentication failed');
    assert.ok(
      srv.lines.some((l) => l.includes('[v6out] refused: client address ::1 is not in the allowed list')),
    );
    assert.equal((await refusedLogin(scope, srv, 'v6deny', 'pw')).text, '530 Login authentication failed');
    assert.ok(
      srv.lines.some((l) => l.includes('[v6deny] refused: client address ::1 is in the denied list')),
    );
  });
});

// ---------------------------------------------------------------------------------------------
/** `HHMM` (no leading zeros, as pure-pw stores it) of a minute of the day. */
function hhmm(minute: number): string {
  const m = ((minute % 1440) + 1440) % 1440;
  return String(Math.floor(m / 60) * 100 + (m % 60));
}

describe('time window (upstream §4.2)', () => {
  it('a window that excludes now refuses the login; one that includes now (also wrapping) accepts it', async (t) => {
    const now = new Date();
    const m = now.getHours() * 60 + now.getMinutes();
    // Margins of an hour keep the test stable however long it runs.
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [
        { login: 'joe', password: 'secret', extra: extra({ time: `${hhmm(m - 60)}-${hhmm(m + 60)}` }) },
        { login: 'late', password: 'pw', extra: extra({ time: `${hhmm(m + 120)}-${hhmm(m + 180)}` }) },
        // from > to: wraps past midnight and includes now...
        { login: 'wrapin', password: 'pw', extra: extra({ time: `${hhmm(m + 120)}-${hhmm(m + 60)}` }) },
        // ...or excludes it.
        { login: 'wrapout', password: 'pw', extra: extra({ time: `${hhmm(m + 60)}-${hhmm(m - 60)}` }) },
      ],
    });
    assert.equal((await scope.login(srv)).r230.code, 230);
    assert.equal((await scope.login(srv, 'wrapin', 'pw')).r230.code, 230);
    assert.equal((await refusedLogin(scope, srv, 'late', 'pw')).text, '530 Login authentication failed');
    const pad = (s: string): string => s.padStart(4, '0');
    assert.ok(
      srv.lines.some((l) =>
        l.includes(
          `[late] refused: outside the allowed time window ${pad(hhmm(m + 120))}-${pad(hhmm(m + 180))}`,
        ),
      ),
      srv.lines.join('\n'),
    );
    assert.equal((await refusedLogin(scope, srv, 'wrapout', 'pw')).text, '530 Login authentication failed');
  });
});

// ---------------------------------------------------------------------------------------------
describe('session caps (-y, max_sessions; upstream §4.2)', () => {
  it('-y 2:1: the 3rd login of one account gets 421 and is closed; a freed slot is reused', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      args: ['-y', '2:1'],
      users: [
        { login: 'joe', password: 'secret' },
        { login: 'ann', password: 'pw' },
      ],
    });
    const a = await scope.login(srv);
    await scope.login(srv);
    const { ftp } = await scope.connect(srv);
    assert.equal((await ftp.cmd('USER joe')).code, 331);
    assert.equal(
      (await ftp.cmd('PASS secret')).text,
      "421 I can't accept more than 2 connections as the same user",
    );
    await ftp.waitClosed(5000);
    assert.ok(
      srv.logs.includes('[WARNING] Too many sessions for [joe]: per-user limit -y 2'),
      srv.logs.join('\n'),
    );
    // Other accounts have their own count.
    assert.equal((await scope.login(srv, 'ann', 'pw')).r230.code, 230);
    assert.equal((await a.ftp.cmd('QUIT')).code, 221);
    await a.ftp.waitClosed(5000);
    assert.equal((await scope.login(srv)).r230.code, 230, 'the slot of the closed session is free again');
  });

  it('-y 2:1: the 2nd anonymous session gets 421 at USER', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ args: ['-y', '2:1'] });
    const first = await scope.connect(srv);
    assert.equal((await first.ftp.cmd('USER ftp')).code, 230);
    const { ftp } = await scope.connect(srv);
    assert.equal(
      (await ftp.cmd('USER anonymous')).text,
      "421 I can't accept more than 1 connections as the same user",
    );
    await ftp.waitClosed(5000);
    assert.ok(
      srv.logs.includes(
        '[WARNING] anonymous refused: Too many anonymous sessions: per-user limit -y allows 1',
      ),
    );
    first.ftp.close();
    await first.ftp.waitClosed(5000);
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      const again = await scope.connect(srv);
      ok = (await again.ftp.cmd('USER ftp')).code === 230;
      if (!ok) await sleep(50);
    }
    assert.ok(ok, 'a new anonymous session is accepted once the first one is gone');
  });

  it('per-user max_sessions overrides -y', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      args: ['-y', '5:5'],
      users: [{ login: 'joe', password: 'secret', extra: extra({ maxSessions: 1 }) }],
    });
    await scope.login(srv);
    const r = await refusedLogin(scope, srv);
    assert.equal(r.text, "421 I can't accept more than 1 connections as the same user");
    assert.ok(srv.logs.some((l) => l.includes('Too many sessions for [joe]: account limit max_sessions=1')));
  });

  it('a refused session does not keep a slot, nor does a failed login take one', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      users: [{ login: 'joe', password: 'secret', extra: extra({ maxSessions: 1 }) }],
    });
    const bad = await refusedLogin(scope, srv, 'joe', 'wrong');
    assert.equal(bad.code, 530);
    const a = await scope.login(srv);
    assert.equal((await refusedLogin(scope, srv)).code, 421);
    assert.equal((await refusedLogin(scope, srv)).code, 421);
    a.ftp.close();
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      const { ftp } = await scope.connect(srv);
      await ftp.cmd('USER joe');
      ok = (await ftp.cmd('PASS secret')).code === 230;
      if (!ok) await sleep(50);
    }
    assert.ok(ok);
  });
});

// ---------------------------------------------------------------------------------------------
describe('home directories (upstream §6.2)', () => {
  it('-j creates a missing home: parents 0755, the home 0777 & ~umask owned by the account', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      args: ['-j'],
      users: [{ login: 'newbie', password: 'pw', home: 'made/deep/newbie' }],
    });
    await rm(path.join(srv.dir, 'made'), { recursive: true });
    const { ftp, r230 } = await scope.login(srv, 'newbie', 'pw');
    assert.deepEqual(texts(r230), ['OK. Current directory is /']);
    for (const dir of ['made', 'made/deep']) {
      const st = await stat(path.join(srv.dir, dir));
      assert.equal(st.mode & 0o7777, 0o755, dir);
      assert.equal(st.uid, process.getuid!(), `${dir} belongs to the server`);
    }
    const st = await stat(srv.home('newbie'));
    assert.equal(st.mode & 0o7777, 0o755);
    if (process.getuid?.() === 0) {
      assert.equal(st.uid, TEST_UID);
      assert.equal(st.gid, TEST_GID);
    }
    assert.equal((await stor(scope, ftp, 'first', 'hello')).final?.code, 226);
    assert.equal(await readFile(path.join(srv.home('newbie'), 'first'), 'utf8'), 'hello');
  });

  it('-j with -U: the home mode follows the directory umask; without -j a missing home is 421', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({
      args: ['-j', '-U', '133:077'],
      users: [{ login: 'newbie', password: 'pw', home: 'h/newbie' }],
    });
    await rm(srv.home('newbie'), { recursive: true });
    await scope.login(srv, 'newbie', 'pw');
    assert.equal((await stat(srv.home('newbie'))).mode & 0o7777, 0o700);
    const plain = await scope.server({ users: [{ login: 'gone', password: 'pw' }] });
    await rm(plain.home('gone'), { recursive: true });
    const { ftp } = await scope.connect(plain);
    await ftp.cmd('USER gone');
    assert.equal((await ftp.cmd('PASS pw')).text, '421 Home directory not available - aborting');
    await ftp.waitClosed(5000);
    assert.equal(await exists(plain.home('gone')), false);
  });

  it('/./ with a start directory: chroot at the marker, start below it', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server({ users: [{ login: 'joe', password: 'secret', start: 'pub/incoming' }] });
    const home = srv.home('joe');
    await putFile(path.join(home, 'top.txt'), 'top');
    const { ftp, r230 } = await scope.login(srv);
    assert.deepEqual(texts(r230), ['OK. Current directory is /pub/incoming']);
    assert.equal((await ftp.cmd('PWD')).text, '257 "/pub/incoming" is your current location');
    assert.equal((await stor(scope, ftp, 'up.txt', 'u')).final?.code, 226);
    assert.equal(await readFile(path.join(home, 'pub/incoming/up.txt'), 'utf8'), 'u');
    assert.equal((await ftp.cmd('CWD /')).text, '250 OK. Current directory is /');
    assert.equal((await ftp.cmd('CDUP')).text, '250 OK. Current directory is /');
    assert.equal((await retr(scope, ftp, 'top.txt')).bytes.toString(), 'top');
    assert.equal((await ftp.cmd('CWD ~')).text, '250 OK. Current directory is /');
  });
});

describe('operator log of transfers (upstream §9.1)', () => {
  it('file transfers are logged as downloaded/uploaded; listings are not, nor counted as downloads', async (t) => {
    const scope = new Scope(t);
    const srv = await scope.server();
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'twelve bytes');
    const { ftp } = await scope.login(srv);
    for (const verb of ['LIST', 'NLST', 'MLSD']) {
      const { data, first } = await startData(scope, ftp, verb);
      assert.equal(first.code, 150, first.text);
      await readAllBounded(data);
      assert.equal((await ftp.read()).code, 226);
    }
    assert.equal((await retr(scope, ftp, 'f.txt')).final?.code, 226);
    assert.equal((await stor(scope, ftp, 'g.txt', Buffer.from('up'))).final?.code, 226);
    const quit = await ftp.cmd('QUIT');
    assert.equal(quit.lines[0], '221-Goodbye. You uploaded 1 and downloaded 1 kbytes.');
    assert.ok(await waitFor(() => srv.lines.some((l) => l.includes('Logout.'))));
    const transfers = srv.lines.filter((l) => / (down|up)loaded {2}\(/.test(l));
    assert.equal(transfers.length, 2, transfers.join('\n'));
    assert.match(transfers[0], /\[NOTICE\] .*\/f\.txt downloaded {2}\(12 bytes, [\d.]+KB\/sec\)$/);
    assert.match(transfers[1], /\[NOTICE\] .*\/g\.txt uploaded {2}\(2 bytes, [\d.]+KB\/sec\)$/);
  });
});
