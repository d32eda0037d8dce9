/**
 * The root process model with real processes and real clients (issue 12; docs/architecture.md
 * "Processes", SECURITY.md "Processes and trust boundaries"). A root parent starts session workers
 * that run as the --run-as user with no supplementary group, and one storage broker per account
 * identity; here we read what the kernel says of each process (/proc), let the kernel judge an
 * account's file operations, race the jail with symlink swaps, log in a system account without -A,
 * kill -9 a worker in the middle of downloads and a broker in the middle of uploads, and check that
 * -c, -C, -y and a per-user rate stay exact when sessions are spread over several workers.
 * Only loopback is used; every server is stopped by its PID, every loop is bounded.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp, withTimeout, type RawReply } from '../helpers/raw.js';
import { TEST_GID, TEST_UID, sha512Hash } from '../helpers/server.js';
import { createUser, removeUsers, systemAccountsUnavailable } from '../helpers/system-accounts.js';
import { ciSkip } from '../helpers/ci.js';
import { addonUnavailable } from '../helpers/native.js';
import { pattern } from '../helpers/transfer-clients.js';

const asRoot = process.getuid?.() === 0;
const skip = ciSkip(
  !asRoot
    ? 'needs root: the process model under test (root parent, workers as --run-as, brokers per uid) only runs when tsftpd is started as root'
    : addonUnavailable('tsftpd_channel'),
);

/** Why real system accounts cannot be made here (case 4), for ciSkip. */
const noSystemAccounts = asRoot ? ciSkip(await systemAccountsUnavailable()) : false;

/** The virtual account of most cases: a uid of its own, neither root's, nor the workers' (nobody). */
const VUID = 47011;
const VGID = 47011;
/** Another owner, for a file the account must not read. */
const OTHER_UID = 12345;
const PASSWORD = 'pm-Secret-1';
const KB = 1024;

// ---------------------------------------------------------------------------------------------
// /proc: processes, identities, titles, socket owners

/** pid → [ppid, start time] of every process. */
async function processTable(): Promise<Map<number, { ppid: number; start: string }>> {
  const table = new Map<number, { ppid: number; start: string }>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    if (text === '') continue;
    // The fields after the command name (in parentheses, which may hold spaces): state ppid ...
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    table.set(Number(name), { ppid: Number(fields[1]), start: fields[19] });
  }
  return table;
}

/** Every descendant of `pid` (children, their children, ...), with its start time. */
async function descendants(pid: number): Promise<{ pid: number; start: string }[]> {
  const table = await processTable();
  const out: { pid: number; start: string }[] = [];
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    for (const [p, info] of table) {
      if (info.ppid === queue[i]) {
        out.push({ pid: p, start: info.start });
        queue.push(p);
      }
    }
  }
  return out;
}

/** A process's title (its command line, as `ps` shows it). */
async function titleOf(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
  return raw.replace(/\0+$/, '').replace(/\0/g, ' ');
}

/** The real, effective, saved and file-system uids and gids, and the supplementary groups. */
interface Ids {
  uid: number[];
  gid: number[];
  groups: number[];
}

async function idsOf(pid: number): Promise<Ids> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number[] => {
    const m = new RegExp(`^${name}:(.*)$`, 'm').exec(text);
    assert.ok(m !== null, `no ${name}: line in /proc/${pid}/status`);
    return m[1]
      .trim()
      .split(/\s+/)
      .filter((x) => x !== '')
      .map(Number);
  };
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

interface Proc {
  pid: number;
  title: string;
}

/** The server's workers and brokers (descendants titled `tsftpd: worker` / `tsftpd: broker`). */
async function family(serverPid: number): Promise<{ all: Proc[]; workers: Proc[]; brokers: Proc[] }> {
  const all: Proc[] = [];
  for (const { pid } of await descendants(serverPid)) all.push({ pid, title: await titleOf(pid) });
  return {
    all,
    workers: all.filter((p) => p.title.startsWith('tsftpd: worker ')),
    brokers: all.filter((p) => p.title.startsWith('tsftpd: broker ')),
  };
}

/** Polls `get` until `test` accepts its value (at most `ms`); returns the last value. */
async function until<T>(get: () => Promise<T>, test: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await get();
  while (!test(v) && Date.now() < deadline) {
    await sleep(50);
    v = await get();
  }
  return v;
}

/** The inode of the server's end of the loopback connection whose client end is `clientPort`. */
async function serverSocketInode(serverPort: number, clientPort: number): Promise<string | undefined> {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1].split(':').at(-1)!, 16);
      const remote = parseInt(f[2].split(':').at(-1)!, 16);
      if (local === serverPort && remote === clientPort && f[9] !== '0') return f[9];
    }
  }
  return undefined;
}

/** Which of `pids` holds the server end of a client's control connection (polled, at most 5 s). */
async function ownerOf(serverPort: number, client: RawFtp, pids: number[]): Promise<number | undefined> {
  const clientPort = client.socket.localPort!;
  const find = async (): Promise<number | undefined> => {
    const inode = await serverSocketInode(serverPort, clientPort);
    if (inode === undefined) return undefined;
    for (const pid of pids) {
      for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
        const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        if (target === `socket:[${inode}]`) return pid;
      }
    }
    return undefined;
  };
  return until(find, (pid) => pid !== undefined, 5000);
}

/** The --run-as user a root server picks by default: the first of tsftpd, ftp, nobody. */
async function defaultRunAs(): Promise<{ name: string; uid: number; gid: number }> {
  const lines = (await readFile('/etc/passwd', 'utf8')).split('\n');
  for (const name of ['tsftpd', 'ftp', 'nobody']) {
    const f = lines.find((l) => l.startsWith(`${name}:`))?.split(':');
    if (f !== undefined && Number(f[2]) !== 0) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error('none of tsftpd, ftp, nobody exists');
}

// ---------------------------------------------------------------------------------------------
// Servers and clients

interface Server {
  port: number;
  pid: number;
  child: ChildProcess;
  output(): string;
}

const running: Server[] = [];

/** Starts `tsftpd args` as root on a free loopback port; resolves once it serves. */
async function startRoot(args: string[]): Promise<Server> {
  const port = await freePort();
  const { child, output } = spawnServer(port, args);
  const srv: Server = { port, pid: child.pid!, child, output };
  running.push(srv);
  const ok = await until(
    () => Promise.resolve(output().includes('serving FTP on') || child.exitCode !== null),
    (v) => v,
    20_000,
  );
  if (!ok || child.exitCode !== null) throw new Error(`server did not start:\n${output()}`);
  return srv;
}

/**
 * Stops a server by its PID (SIGTERM: it stops its workers and brokers; SIGKILL after 5 s); a
 * worker or broker of it still alive 3 s later is killed by its own PID (and start time, so a
 * reused PID is never hit).
 */
async function stopServer(srv: Server): Promise<void> {
  const kids = await descendants(srv.pid);
  if (srv.child.exitCode === null && srv.child.signalCode === null) {
    const exited = new Promise<void>((resolve) => srv.child.once('exit', () => resolve()));
    process.kill(srv.pid, 'SIGTERM');
    await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
    await killChild(srv.child);
  }
  for (const k of kids) {
    const same = async (): Promise<boolean> => (await processTable()).get(k.pid)?.start === k.start;
    if (await until(same, (alive) => !alive, 3000)) {
      try {
        process.kill(k.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  running.splice(running.indexOf(srv), 1);
}

/** Control connections of one test, closed when it ends. */
function clients(t: TestContext): (port: number) => Promise<{ ftp: RawFtp; greeting: RawReply }> {
  const open: RawFtp[] = [];
  t.after(() => {
    for (const c of open) c.close();
  });
  return async (port) => {
    const c = await RawFtp.connect(port);
    open.push(c.ftp);
    return c;
  };
}

/** Logs in and switches to binary mode. */
async function login(ftp: RawFtp, user: string, pass = PASSWORD): Promise<void> {
  await ftp.login(user, pass);
  assert.equal((await ftp.cmd('TYPE I')).code, 200);
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A running download: resolves with the bytes received and the final reply (or why none came). */
interface Download {
  bytes: Buffer;
  final?: RawReply;
  error?: string;
}

/**
 * Sends RETR over a fresh EPSV connection and returns once 150 arrived; the rest runs on in `done`
 * (wrapped: an async function would wait for a promise it returns).
 */
async function startRetr(ftp: RawFtp, name: string): Promise<{ done: Promise<Download> }> {
  const data = await ftp.epsv();
  data.on('error', () => undefined);
  const chunks: Buffer[] = [];
  data.on('data', (c: Buffer) => chunks.push(c));
  const closed = new Promise<void>((resolve) => data.once('close', () => resolve()));
  ftp.send(`RETR ${name}`);
  const first = await ftp.read();
  if (first.code !== 150) data.destroy();
  assert.equal(first.code, 150, first.text);
  const done = (async (): Promise<Download> => {
    try {
      await withTimeout(closed, 20_000, 'the data connection');
      return { bytes: Buffer.concat(chunks), final: await ftp.read(10_000) };
    } catch (err) {
      return { bytes: Buffer.concat(chunks), error: String(err) };
    } finally {
      data.destroy();
    }
  })();
  return { done };
}

/** Names, types, owners, modes and contents below a directory (symlinks not followed). */
async function tree(dir: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    const full = path.join(dir, name);
    const st = await stat(full);
    const head = `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
    if (st.isDirectory()) {
      out.set(prefix + name, `dir ${head}`);
      for (const [k, v] of await tree(full, `${prefix}${name}/`)) out.set(k, v);
    } else {
      out.set(prefix + name, `file ${head} ${sha256(await readFile(full))}`);
    }
  }
  return out;
}

/** The fields of a pureftpd.passwd line after the home, with only the download rate (bytes/s). */
function downRate(bytesPerSecond: number): string {
  return ['', String(bytesPerSecond), '', '', '', '', '', '', '', '', '', ''].join(':');
}

// ---------------------------------------------------------------------------------------------

describe('the root process model, with real processes', { skip }, () => {
  let dir: string;
  /** pureftpd.passwd of the virtual accounts. */
  let passwd: string;
  /** Homes (real paths) of the virtual accounts. */
  const home = (login: string): string => path.join(dir, 'home', login);

  before(async () => {
    const known = await readFile('/etc/passwd', 'utf8');
    assert.ok(!known.split('\n').some((l) => l.split(':')[2] === String(VUID)), `uid ${VUID} is in use`);
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-pm-'));
    await chmod(dir, 0o755);
    const hash = await sha512Hash(PASSWORD);
    const users: { login: string; uid: number; gid: number; extra?: string }[] = [
      { login: 'pmjoe', uid: VUID, gid: VGID },
      // The uid the other e2e tests give their accounts (nobody under root).
      { login: 'pmtess', uid: TEST_UID, gid: TEST_GID },
      { login: 'pmrate', uid: VUID, gid: VGID, extra: downRate(300 * KB) },
    ];
    const lines: string[] = [];
    for (const u of users) {
      await mkdir(home(u.login), { recursive: true, mode: 0o755 });
      await chown(home(u.login), u.uid, u.gid);
      lines.push(`${u.login}:${hash}:${u.uid}:${u.gid}::${home(u.login)}/./:${u.extra ?? ''}`);
    }
    passwd = path.join(dir, 'pureftpd.passwd');
    await writeFile(passwd, lines.join('\n') + '\n', { mode: 0o600 });
  });

  after(async () => {
    for (const srv of [...running]) await stopServer(srv);
    await removeUsers();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Writes a file in a home owned by `uid` (the account's by default). */
  async function put(
    file: string,
    data: Buffer | string,
    mode = 0o644,
    uid = VUID,
    gid = VGID,
  ): Promise<void> {
    await writeFile(file, data);
    await chmod(file, mode);
    await chown(file, uid, gid);
  }

  it(
    'ps: workers run as the --run-as user without groups, brokers as each account; nothing of root',
    { timeout: 30_000 },
    async (t) => {
      const runAs = await defaultRunAs();
      const srv = await startRoot(['--workers', '2', '--passwd-file', passwd]);
      try {
        const connect = clients(t);
        const joe = (await connect(srv.port)).ftp;
        await login(joe, 'pmjoe');
        const tess = (await connect(srv.port)).ftp;
        await login(tess, 'pmtess');
        // Both sessions use their files (the brokers exist from the login on).
        assert.equal((await joe.data('NLST')).final?.code, 226);
        assert.equal((await tess.data('NLST')).final?.code, 226);
        const procs = await until(
          () => family(srv.pid),
          (f) => f.workers.length === 2 && f.brokers.length === 2,
        );
        t.diagnostic(procs.all.map((p) => `${p.pid} ${p.title}`).join(' | '));
        assert.equal(procs.workers.length, 2, procs.all.map((p) => p.title).join(' | '));
        assert.equal(procs.brokers.length, 2, procs.all.map((p) => p.title).join(' | '));
        // Nothing else runs under the parent.
        assert.equal(procs.all.length, 4, procs.all.map((p) => p.title).join(' | '));
        for (const p of procs.all) {
          const ids = await idsOf(p.pid);
          assert.equal(ids.uid.length, 4);
          assert.equal(ids.gid.length, 4);
          assert.ok(!ids.uid.includes(0), `${p.title} has uid 0: ${ids.uid.join(' ')}`);
          assert.ok(!ids.gid.includes(0), `${p.title} has gid 0: ${ids.gid.join(' ')}`);
          assert.ok(!ids.groups.includes(0), `${p.title} is in group 0`);
        }
        for (const w of procs.workers) {
          assert.match(w.title, /^tsftpd: worker [12] \[\d+ sessions?.*\]$/);
          assert.deepEqual(await idsOf(w.pid), {
            uid: [runAs.uid, runAs.uid, runAs.uid, runAs.uid],
            gid: [runAs.gid, runAs.gid, runAs.gid, runAs.gid],
            groups: [],
          });
        }
        // One session each: the parent spread them over both workers.
        const owners = [
          await ownerOf(
            srv.port,
            joe,
            procs.workers.map((w) => w.pid),
          ),
          await ownerOf(
            srv.port,
            tess,
            procs.workers.map((w) => w.pid),
          ),
        ];
        assert.ok(
          owners[0] !== undefined && owners[1] !== undefined && owners[0] !== owners[1],
          String(owners),
        );
        for (const [uid, gid] of [
          [VUID, VGID],
          [TEST_UID, TEST_GID],
        ]) {
          const b = procs.brokers.find((p) => p.title === `tsftpd: broker uid ${uid} gid ${gid}`);
          assert.ok(
            b !== undefined,
            `no broker for uid ${uid}: ${procs.brokers.map((p) => p.title).join(' | ')}`,
          );
          assert.deepEqual(await idsOf(b.pid), {
            uid: [uid, uid, uid, uid],
            gid: [gid, gid, gid, gid],
            groups: [gid],
          });
        }
        // The parent is root and keeps its command line.
        assert.equal((await idsOf(srv.pid)).uid[0], 0);
        assert.match(await titleOf(srv.pid), /main\.js -S 127\.0\.0\.1,\d+ .*--workers 2/);
      } finally {
        await stopServer(srv);
      }
    },
  );

  it(
    "the kernel judges a virtual account's operations: another uid's file, root's directory, its own",
    { timeout: 30_000 },
    async (t) => {
      const h = home('pmjoe');
      const root = path.join(h, 'rootdir');
      const own = path.join(h, 'own');
      await put(path.join(h, 'secret'), 'another uid only\n', 0o600, OTHER_UID, OTHER_UID);
      await mkdir(root, { mode: 0o755 });
      await chmod(root, 0o755);
      await put(path.join(root, 'rootfile'), 'root file\n', 0o644, 0, 0);
      await mkdir(own, { mode: 0o755 });
      await chown(own, VUID, VGID);
      await put(path.join(own, 'todelete'), 'mine\n');
      await put(path.join(own, 'torename'), 'mine too\n');
      const srv = await startRoot(['--workers', '2', '--passwd-file', passwd]);
      try {
        const { ftp } = await clients(t)(srv.port);
        await login(ftp, 'pmjoe');
        const before0 = await tree(h);

        // Another uid's 0600 file: refused, not one byte.
        const secret = await ftp.data('RETR secret');
        assert.equal(secret.first.code, 550, secret.first.text);
        assert.equal(secret.data.length, 0);

        // Root's 0755 directory: no create, no mkdir, no delete, no rename (in it or out of it).
        const refused = (r: RawReply | undefined, what: string): void =>
          assert.ok(r !== undefined && r.code >= 400 && r.code < 600, `${what}: ${r?.text}`);
        const stor = await ftp.data('STOR rootdir/new', 'should not land');
        refused(stor.final ?? stor.first, 'STOR rootdir/new');
        assert.notEqual(stor.final?.code, 226);
        refused(await ftp.cmd('MKD rootdir/made'), 'MKD rootdir/made');
        refused(await ftp.cmd('DELE rootdir/rootfile'), 'DELE rootdir/rootfile');
        for (const to of ['rootdir/moved', 'own/moved']) {
          const rnfr = await ftp.cmd('RNFR rootdir/rootfile');
          if (rnfr.code === 350) refused(await ftp.cmd(`RNTO ${to}`), `RNTO ${to}`);
          else refused(rnfr, 'RNFR rootdir/rootfile');
        }
        refused(await ftp.cmd('RMD rootdir'), 'RMD rootdir');
        assert.deepEqual(await tree(h), before0, 'the disk changed');

        // The same operations in its own directory succeed, and what it makes is its own.
        assert.equal((await ftp.data('STOR own/new', 'landed\n')).final?.code, 226);
        assert.equal((await ftp.cmd('MKD own/made')).code, 257);
        assert.equal((await ftp.cmd('DELE own/todelete')).code, 250);
        assert.equal((await ftp.cmd('RNFR own/torename')).code, 350);
        assert.equal((await ftp.cmd('RNTO own/renamed')).code, 250);
        assert.equal(await readFile(path.join(own, 'new'), 'utf8'), 'landed\n');
        assert.equal(await readFile(path.join(own, 'renamed'), 'utf8'), 'mine too\n');
        assert.deepEqual((await readdir(own)).sort(), ['made', 'new', 'renamed']);
        for (const name of ['new', 'made']) {
          const st = await stat(path.join(own, name));
          assert.deepEqual([st.uid, st.gid], [VUID, VGID], name);
        }
        // A file the worker's user (nobody) could have made would say so: not the account's uid.
        assert.notEqual(VUID, (await defaultRunAs()).uid);
      } finally {
        await stopServer(srv);
        await rm(root, { recursive: true, force: true });
        await rm(own, { recursive: true, force: true });
        await rm(path.join(h, 'secret'), { force: true });
      }
    },
  );

  it(
    '30 first logins at once on one worker, while their broker starts, all get their home',
    { timeout: 60_000 },
    async (t) => {
      // Regression: concurrent grants used to open two channels to a new broker; the worker kept one,
      // and the logins granted on the other failed with "Home directory not available".
      const srv = await startRoot(['--workers', '1', '--passwd-file', passwd]);
      try {
        const connect = clients(t);
        const sessions = await Promise.all(
          Array.from({ length: 30 }, async () => (await connect(srv.port)).ftp),
        );
        const replies = await Promise.all(
          sessions.map(async (ftp) => {
            assert.equal((await ftp.cmd('USER pmjoe')).code, 331);
            return ftp.cmd(`PASS ${PASSWORD}`, 30_000);
          }),
        );
        assert.deepEqual(
          replies.map((r) => r.code),
          replies.map(() => 230),
          replies.map((r) => r.text).join('\n'),
        );
      } finally {
        await stopServer(srv);
      }
    },
  );

  it('the jail holds while a directory is swapped with symlinks to /etc', { timeout: 30_000 }, async (t) => {
    const KNOWN = 'inside the jail, known content\n';
    const race = path.join(home('pmjoe'), 'race');
    await mkdir(path.join(race, 'd'), { recursive: true });
    await put(path.join(race, 'd', 'f'), KNOWN);
    // The same name as /etc's: a read of the outside one would show.
    await put(path.join(race, 'd', 'passwd'), KNOWN);
    await symlink('/etc', path.join(race, 'l1'));
    await symlink('../../../../../../../../../../etc', path.join(race, 'l2'));
    await chown(path.join(race, 'd'), VUID, VGID);
    await chown(race, VUID, VGID);
    const srv = await startRoot(['--workers', '2', '--passwd-file', passwd]);
    let swapper: ChildProcess | undefined;
    try {
      const connect = clients(t);
      const sessions: RawFtp[] = [];
      for (let i = 0; i < 2; i++) {
        const { ftp } = await connect(srv.port);
        await login(ftp, 'pmjoe');
        sessions.push(ftp);
      }
      // `d` is the directory, then l1 (-> /etc), the directory, l2 (-> ../../../etc), ... for 3 s.
      const SWAP = `
        const fs = require('fs');
        const [d, x, l1, l2] = process.argv.slice(1);
        const end = Date.now() + 3000;
        let n = 0;
        process.stdout.write('swapping\\n');
        while (Date.now() < end && n < 5000000) {
          const l = n % 2 === 0 ? l1 : l2;
          fs.renameSync(d, x);
          fs.renameSync(l, d);
          fs.renameSync(d, l);
          fs.renameSync(x, d);
          n++;
        }
        process.stdout.write(n + '\\n');
      `;
      swapper = spawn(
        process.execPath,
        ['-e', SWAP, ...['d', 'x', 'l1', 'l2'].map((n) => path.join(race, n))],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      swapper.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      const done = new Promise<number | null>((resolve) => swapper!.once('exit', (code) => resolve(code)));
      await until(
        () => Promise.resolve(out.includes('swapping') || swapper!.exitCode !== null),
        (v) => v,
      );
      let served = 0;
      let refused = 0;
      let swapping = true;
      void done.then(() => (swapping = false));
      await Promise.all(
        sessions.map(async (ftp, k) => {
          for (let i = 0; i < 2000 && swapping; i++) {
            const name = (i + k) % 2 === 0 ? 'd/f' : 'd/passwd';
            const r = await ftp.data(`RETR race/${name}`);
            if (r.data.length > 0 || r.final?.code === 226) {
              assert.equal(r.data.toString('latin1'), KNOWN, `RETR race/${name} returned other bytes`);
              served++;
            } else refused++;
          }
        }),
      );
      assert.equal(await withTimeout(done, 10_000, 'the swapper'), 0);
      t.diagnostic(`${out.trim().split('\n').at(-1)} swaps; ${served} reads served, ${refused} refused`);
      assert.ok(served > 0, 'no RETR got through: the race proved nothing');
      assert.ok(refused > 0, 'no RETR met a symlink: the race proved nothing');
    } finally {
      if (swapper !== undefined) await killChild(swapper);
      await stopServer(srv);
      await rm(race, { recursive: true, force: true });
    }
  });

  it(
    'a system account without -A reads what its uid may read, not /etc/shadow nor root 0600 files',
    { timeout: 40_000, skip: noSystemAccounts },
    async (t) => {
      const homes = path.join(dir, 'syshomes');
      await mkdir(homes, { mode: 0o755 });
      const user = await createUser('tspm', { password: PASSWORD, homeParent: homes, system: true });
      const pub = path.join(dir, 'public');
      await mkdir(pub, { mode: 0o755 });
      await chmod(pub, 0o755);
      await put(path.join(pub, 'world.txt'), 'anyone may read this\n', 0o644, 0, 0);
      await put(path.join(pub, 'rootonly.txt'), 'root only\n', 0o600, 0, 0);
      const srv = await startRoot(['--workers', '2', '-l', 'unix']);
      try {
        const { ftp } = await clients(t)(srv.port);
        await login(ftp, user.login);
        // Not confined: it starts in its home, named by its real path.
        assert.equal((await ftp.cmd('PWD')).text, `257 "${user.home}" is your current location`);
        const world = await ftp.data(`RETR ${path.join(pub, 'world.txt')}`);
        assert.equal(world.final?.code, 226, world.first.text);
        assert.equal(world.data.toString(), 'anyone may read this\n');
        const hostname = await ftp.data('RETR /etc/hostname');
        assert.equal(hostname.final?.code, 226, hostname.first.text);
        assert.deepEqual(hostname.data, await readFile('/etc/hostname'));
        for (const file of ['/etc/shadow', path.join(pub, 'rootonly.txt')]) {
          const r = await ftp.data(`RETR ${file}`);
          assert.equal(r.first.code, 550, `${file}: ${r.first.text}`);
          assert.equal(r.data.length, 0);
        }
        const brokers = (await family(srv.pid)).brokers;
        assert.deepEqual(
          brokers.map((b) => b.title),
          [`tsftpd: broker uid ${user.uid} gid ${user.gid}`],
        );
        const ids = await idsOf(brokers[0].pid);
        assert.deepEqual([ids.uid, ids.gid], [Array(4).fill(user.uid), Array(4).fill(user.gid)]);
        assert.ok(!ids.groups.includes(0) && ids.groups.includes(user.gid), ids.groups.join(' '));
      } finally {
        await stopServer(srv);
      }
    },
  );

  it(
    'kill -9 of a worker: only its sessions end, the other finishes byte for byte, a new worker serves',
    { timeout: 45_000 },
    async (t) => {
      const SIZE = 2 * 1024 * KB;
      const body = randomBytes(SIZE);
      await put(path.join(home('pmjoe'), 'big.bin'), body);
      await put(path.join(home('pmjoe'), 'small.txt'), 'after the crash\n');
      // 6 sessions of one account share 4096 KB/s: about 3 s for each 2 MiB download.
      const srv = await startRoot(['--workers', '2', '--passwd-file', passwd, '-T', '4096']);
      try {
        const connect = clients(t);
        const before0 = (await family(srv.pid)).workers;
        assert.equal(before0.length, 2);
        const pids = before0.map((w) => w.pid);
        const sessions: { ftp: RawFtp; owner: number }[] = [];
        for (let i = 0; i < 6; i++) {
          const { ftp } = await connect(srv.port);
          await login(ftp, 'pmjoe');
          const owner = await ownerOf(srv.port, ftp, pids);
          assert.ok(owner !== undefined, 'no worker holds the connection');
          sessions.push({ ftp, owner });
        }
        const downloads = await Promise.all(sessions.map((s) => startRetr(s.ftp, 'big.bin')));
        await sleep(700);
        const victim = sessions[0].owner;
        const doomed = sessions.filter((s) => s.owner === victim).length;
        assert.ok(doomed >= 1 && doomed < 6, `${doomed} of 6 sessions on the victim`);
        const victimTitle = before0.find((w) => w.pid === victim)!.title;
        process.kill(victim, 'SIGKILL');
        const results = await Promise.all(downloads.map((d) => d.done));
        t.diagnostic(
          `killed worker pid ${victim}; ` +
            results
              .map(
                (r, i) =>
                  `session ${i} (pid ${sessions[i].owner}): ${r.bytes.length} B, ${r.final?.code ?? r.error}`,
              )
              .join('; '),
        );
        for (const [i, s] of sessions.entries()) {
          const r = results[i];
          if (s.owner === victim) {
            assert.ok(r.bytes.length < SIZE, `session ${i} of the killed worker got everything`);
            assert.ok(r.final === undefined || r.final.code >= 400, `session ${i}: ${r.final?.text}`);
            await s.ftp.waitClosed(5000);
          } else {
            assert.equal(r.error, undefined, `session ${i}: ${r.error}`);
            assert.equal(r.final?.code, 226, `session ${i}: ${r.final?.text}`);
            assert.equal(r.bytes.length, SIZE);
            assert.equal(sha256(r.bytes), sha256(body), `session ${i}: other bytes`);
          }
        }
        // The parent starts a new worker with the same number (0.5 s later).
        const index = /^tsftpd: worker (\d+)/.exec(victimTitle)![1];
        const now = await until(
          () => family(srv.pid),
          (f) => f.workers.length === 2 && f.workers.every((w) => w.pid !== victim),
        );
        const fresh = now.workers.find((w) => !pids.includes(w.pid));
        assert.ok(fresh !== undefined, now.all.map((p) => p.title).join(' | '));
        assert.match(fresh.title, new RegExp(`^tsftpd: worker ${index} `));
        assert.equal((await idsOf(fresh.pid)).uid[0], (await defaultRunAs()).uid);
        assert.match(srv.output(), new RegExp(`worker ${index} exited \\(SIGKILL\\)`));
        // A fresh login works, and lands on the new worker (it has the fewest sessions).
        const { ftp } = await connect(srv.port);
        await login(ftp, 'pmjoe');
        assert.equal(await ownerOf(srv.port, ftp, [fresh.pid]), fresh.pid);
        const small = await ftp.data('RETR small.txt');
        assert.equal(small.final?.code, 226);
        assert.equal(small.data.toString(), 'after the crash\n');
      } finally {
        await stopServer(srv);
        for (const name of ['big.bin', 'small.txt'])
          await rm(path.join(home('pmjoe'), name), { force: true });
      }
    },
  );

  for (const mode of [[], ['-0']]) {
    it(
      `kill -9 of the storage broker in the middle of an upload${mode.length > 0 ? ' (-0)' : ''} keeps the old file`,
      { timeout: 30_000 },
      async (t) => {
        const h = home('pmjoe');
        const OLD = pattern(100 * KB, 5);
        await put(path.join(h, 'keep.bin'), OLD);
        const CHUNK = 64 * KB;
        const CHUNKS = 40;
        const NEW = pattern(CHUNK * CHUNKS, 6);
        const srv = await startRoot(['--workers', '2', '--passwd-file', passwd, ...mode]);
        try {
          const connect = clients(t);
          const { ftp } = await connect(srv.port);
          await login(ftp, 'pmjoe');
          const data = await ftp.epsv();
          data.on('error', () => undefined);
          ftp.send('STOR keep.bin');
          assert.equal((await ftp.read()).code, 150);
          // 64 KiB every 50 ms: 2.5 MiB in about 2 s.
          let i = 0;
          const source = new Readable({
            read() {
              if (i >= CHUNKS) {
                this.push(null);
                return;
              }
              const chunk = NEW.subarray(i * CHUNK, ++i * CHUNK);
              setTimeout(() => this.push(chunk), 50);
            },
          });
          const sent = new Promise<void>((resolve) => {
            data.once('close', () => resolve());
            source.once('end', () => resolve());
          });
          source.pipe(data);
          await sleep(500);
          const brokers = (await family(srv.pid)).brokers;
          assert.deepEqual(
            brokers.map((b) => b.title),
            [`tsftpd: broker uid ${VUID} gid ${VGID}`],
          );
          process.kill(brokers[0].pid, 'SIGKILL');
          await withTimeout(sent, 15_000, 'the upload');
          let final: RawReply | undefined;
          try {
            final = await ftp.read(15_000);
          } catch {
            // the connection closed: also an error the client sees
          }
          source.destroy();
          data.destroy();
          t.diagnostic(`after ${i} of ${CHUNKS} chunks: ${final?.text ?? 'connection closed'}`);
          assert.ok(final === undefined || final.code >= 400, `the upload ended with ${final?.text}`);
          assert.deepEqual(await readFile(path.join(h, 'keep.bin')), OLD, 'keep.bin changed');
          // What the dead broker could not remove: only stale temp files (never a visible name with
          // the new content); their owner can delete them (stale-temp.test.ts).
          const stale = (await readdir(h)).filter((n) => n !== 'keep.bin');
          for (const name of stale) {
            assert.match(name, /^\.pureftpd-upload\./, `${name} was left in the home`);
            const st = await stat(path.join(h, name));
            assert.deepEqual([st.uid, st.gid], [VUID, VGID]);
            t.diagnostic(`stale temp file ${name}: ${st.size} of ${NEW.length} bytes`);
          }
          // A new login gets a new broker and works.
          const again = (await connect(srv.port)).ftp;
          await login(again, 'pmjoe');
          const NEXT = pattern(200 * KB, 7);
          assert.equal((await again.data('STOR keep.bin', NEXT)).final?.code, 226);
          const back = await again.data('RETR keep.bin');
          assert.equal(back.final?.code, 226);
          assert.ok(back.data.equals(NEXT));
          assert.deepEqual(await readFile(path.join(h, 'keep.bin')), NEXT);
          for (const name of stale) assert.equal((await again.cmd(`DELE ${name}`)).code, 250, name);
          assert.deepEqual(await readdir(h), ['keep.bin']);
          const now = (await family(srv.pid)).brokers;
          assert.equal(now.length, 1);
          assert.notEqual(now[0].pid, brokers[0].pid);
        } finally {
          await stopServer(srv);
          for (const name of await readdir(h)) await rm(path.join(h, name), { recursive: true, force: true });
        }
      },
    );
  }

  describe('limits stay exact over 4 workers', () => {
    it('-c 3: the 4th connection gets 421 from the parent', { timeout: 20_000 }, async (t) => {
      const srv = await startRoot(['--workers', '4', '--passwd-file', passwd, '-c', '3']);
      try {
        const connect = clients(t);
        const workers = (await family(srv.pid)).workers.map((w) => w.pid);
        assert.equal(workers.length, 4);
        const held: RawFtp[] = [];
        const owners = new Set<number | undefined>();
        for (let i = 0; i < 3; i++) {
          const { ftp, greeting } = await connect(srv.port);
          assert.equal(greeting.code, 220, greeting.text);
          held.push(ftp);
          owners.add(await ownerOf(srv.port, ftp, workers));
        }
        // Three workers hold one each: a per-worker count would admit a 4th on the 4th worker.
        assert.equal(owners.size, 3);
        const fourth = await connect(srv.port);
        assert.equal(fourth.greeting.text, '421 3 users (the maximum) are already logged in, sorry');
        await fourth.ftp.waitClosed(5000);
        // A freed slot is given again.
        held[0].close();
        let admitted = false;
        for (let i = 0; i < 50 && !admitted; i++) {
          const c = await connect(srv.port);
          admitted = c.greeting.code === 220;
          if (!admitted) await sleep(50);
        }
        assert.ok(admitted, 'the freed slot was not given again');
      } finally {
        await stopServer(srv);
      }
    });

    it('-C 2: the 3rd connection from one address gets 421', { timeout: 20_000 }, async (t) => {
      const srv = await startRoot(['--workers', '4', '--passwd-file', passwd, '-C', '2']);
      try {
        const connect = clients(t);
        const workers = (await family(srv.pid)).workers.map((w) => w.pid);
        const owners = new Set<number | undefined>();
        for (let i = 0; i < 2; i++) {
          const { ftp, greeting } = await connect(srv.port);
          assert.equal(greeting.code, 220, greeting.text);
          owners.add(await ownerOf(srv.port, ftp, workers));
        }
        assert.equal(owners.size, 2);
        const third = await connect(srv.port);
        assert.equal(third.greeting.text, '421 Too many connections (2) from this IP');
        await third.ftp.waitClosed(5000);
      } finally {
        await stopServer(srv);
      }
    });

    it(
      '-y 2: the 3rd login of an account is refused; its two sessions on two workers share its rate',
      { timeout: 30_000 },
      async (t) => {
        const RATE = 300 * KB;
        const EACH = 750 * KB; // 5 s for both at the shared rate (a 0.1 s burst weighs ~5%)
        await put(path.join(home('pmrate'), 'half.bin'), pattern(EACH, 9));
        const srv = await startRoot(['--workers', '4', '--passwd-file', passwd, '-y', '2:1']);
        try {
          const connect = clients(t);
          const workers = (await family(srv.pid)).workers.map((w) => w.pid);
          const sessions: RawFtp[] = [];
          const owners: (number | undefined)[] = [];
          for (let i = 0; i < 3; i++) {
            const { ftp } = await connect(srv.port);
            owners.push(await ownerOf(srv.port, ftp, workers));
            sessions.push(ftp);
          }
          assert.equal(new Set(owners).size, 3, 'the three sessions are not on three workers');
          await login(sessions[0], 'pmrate');
          await login(sessions[1], 'pmrate');
          const third = sessions[2];
          assert.equal((await third.cmd('USER pmrate')).code, 331);
          assert.equal(
            (await third.cmd(`PASS ${PASSWORD}`)).text,
            "421 I can't accept more than 2 connections as the same user",
          );
          await third.waitClosed(5000);
          const logged = await until(
            () => Promise.resolve(srv.output()),
            (text) => text.includes('Too many sessions for [pmrate]: per-user limit -y 2'),
            5000,
          );
          assert.match(logged, /Too many sessions for \[pmrate\]: per-user limit -y 2/);

          // Both download at once, each in its worker: together they get the account's rate.
          const timed = async (ftp: RawFtp): Promise<{ bytes: number; first: number; last: number }> => {
            const data = await ftp.epsv();
            let bytes = 0;
            let first = 0;
            let last = 0;
            const closed = new Promise<void>((resolve, reject) => {
              data.on('data', (c: Buffer) => {
                const now = performance.now();
                if (bytes === 0) first = now;
                bytes += c.length;
                last = now;
              });
              data.once('end', () => resolve());
              data.once('error', reject);
            });
            ftp.send('RETR half.bin');
            assert.equal((await ftp.read()).code, 150);
            await withTimeout(closed, 20_000, 'a download');
            assert.equal((await ftp.read(10_000)).code, 226);
            return { bytes, first, last };
          };
          const [a, b] = await Promise.all([timed(sessions[0]), timed(sessions[1])]);
          assert.equal(a.bytes + b.bytes, 2 * EACH);
          const seconds = (Math.max(a.last, b.last) - Math.min(a.first, b.first)) / 1000;
          const rate = (a.bytes + b.bytes) / seconds;
          const error = (rate - RATE) / RATE;
          t.diagnostic(
            `combined ${(rate / KB).toFixed(1)} KB/s for ${RATE / KB} KB/s (${(error * 100).toFixed(1)}%)`,
          );
          assert.ok(Math.abs(error) <= 0.1, `combined ${rate.toFixed(0)} B/s is not within 10% of ${RATE}`);
        } finally {
          await stopServer(srv);
        }
      },
    );
  });
});
