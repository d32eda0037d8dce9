/**
 * Start-up behaviour of the real program (issue 10 items 5, 6, 7, 12): -B waits for the child and
 * reports its failure, `Daemonize yes` in a file does not respawn, logs in the background go to
 * syslog, a config file's bad lines come all at once, and the start-up
 * messages. Each test runs `node .build/src/main.js` on 127.0.0.1 (port 0 or a port held by the test)
 * and stops every process it started by its PID (daemons: the PID from the PID file, and a /proc
 * scan for the test's temp directory as a safety net).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, symlink, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { SWITCHES } from '../../src/config/index.js';
import { pythonPath } from '../helpers/clients.js';
import { ciSkip } from '../helpers/ci.js';
import { RawFtp } from '../helpers/raw.js';
import {
  isAlive,
  killAllMentioning,
  killQuietly,
  MAIN,
  pidsMentioning,
  runMain,
  shellEnv,
  startMain,
  waitGone,
} from '../helpers/main-process.js';

/** A temp directory (0755) removed at the end, after every process that mentions it is killed. */
async function tempDir(t: TestContext, name: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `tsftpd-${name}-`));
  await chmod(dir, 0o755);
  t.after(async () => {
    await killAllMentioning(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The port in a `serving FTP on ftp://127.0.0.1:PORT` line. */
function servedPort(stdout: string): number {
  const port = Number(/serving FTP on ftp:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
  assert.ok(port > 0, `no serving line in ${JSON.stringify(stdout)}`);
  return port;
}

/** Reads the PID file; stops that daemon when the test ends. */
function daemonPid(t: TestContext, pidFile: string): number {
  assert.ok(existsSync(pidFile), `no PID file ${pidFile}`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  assert.ok(pid > 1, `bad PID file content`);
  t.after(async () => {
    if (isAlive(pid)) killQuietly(pid);
    await waitGone(pid, 5000);
  });
  return pid;
}

/** A TCP port held by the test (so that tsftpd finds it busy), released at the end. */
async function busyPort(t: TestContext): Promise<number> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as net.AddressInfo).port;
}

/** The greeting's code from a fresh connection (0 when nobody answers). */
async function greetingCode(port: number): Promise<number> {
  try {
    const { ftp, greeting } = await RawFtp.connect(port);
    ftp.close();
    return greeting.code;
  } catch {
    return 0;
  }
}

/** A python3 UNIX datagram listener standing in for syslog; `records` collects what it receives. */
async function fakeSyslog(t: TestContext, socketPath: string): Promise<{ records: () => string[] }> {
  const python = pythonPath();
  assert.ok(python !== undefined, 'python3 is needed for the syslog listener');
  const listener: ChildProcess = spawn(
    python,
    [
      '-u',
      '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\n' +
        'print("ready",flush=True)\nwhile True:\n  print(s.recv(4096).decode("utf8","replace"),flush=True)',
      socketPath,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => {
    if (listener.pid !== undefined) killQuietly(listener.pid);
  });
  let text = '';
  listener.stdout?.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const deadline = Date.now() + 10_000;
  while (!text.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.ok(text.includes('ready'), 'the syslog listener did not start');
  return { records: () => text.split('\n') };
}

describe('-B, the background mode (item 5)', () => {
  it(
    'returns once the child listens and wrote its PID file; logs go to syslog by default',
    { skip: ciSkip(pythonPath() === undefined ? 'python3 is needed for the syslog listener' : undefined) },
    async (t) => {
      const dir = await tempDir(t, 'daemon');
      const pidFile = path.join(dir, 'tsftpd.pid');
      const sock = path.join(dir, 'log.sock');
      const syslog = await fakeSyslog(t, sock);
      const r = await runMain(['-B', '-S', '127.0.0.1,0', '-E', '-g', pidFile, '--syslog-socket', sock]);
      assert.equal(r.timedOut, false);
      assert.equal(r.code, 0, r.stderr);
      const pid = daemonPid(t, pidFile);
      assert.match(
        r.stdout,
        new RegExp(`running in the background, pid ${pid}; logs go to syslog \\(facility ftp, ${sock}\\)`),
      );
      // Listening the moment the parent has exited: no retry loop.
      const port = servedPort(r.stdout);
      assert.equal(await greetingCode(port), 220);
      // ftp = 11, INFO = 6: <94>. The daemon's log lines reach syslog instead of /dev/null.
      const deadline = Date.now() + 10_000;
      while (!syslog.records().some((l) => l.includes('New connection')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(
        syslog.records().some((l) => /^<94>.* tsftpd: \(\?@127\.0\.0\.1\) \[INFO\] New connection/.test(l)),
        syslog.records().join('\n'),
      );
      // The daemon left its start-up directory (Pure-FTPd: chdir /).
      assert.equal(readlinkSync(`/proc/${pid}/cwd`), '/');
      process.kill(pid, 'SIGTERM');
      assert.ok(await waitGone(pid), 'the daemon did not stop on SIGTERM');
      assert.equal(existsSync(pidFile), false, 'the PID file is removed at exit');
    },
  );

  it("returns the child's failure: a busy port gives status 1 and the reason", async (t) => {
    const dir = await tempDir(t, 'daemon-busy');
    const port = await busyPort(t);
    const pidFile = path.join(dir, 'tsftpd.pid');
    const r = await runMain(['-B', '-S', `127.0.0.1,${port}`, '-E', '-g', pidFile]);
    assert.equal(r.timedOut, false);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`cannot listen on 127\\.0\\.0\\.1 port ${port}: the port is already in use; choose another`),
    );
    assert.doesNotMatch(r.stdout, /running in the background/);
    assert.equal(existsSync(pidFile), false);
    assert.deepEqual(pidsMentioning(pidFile), [], 'a background process was left behind');
  });

  it('`Daemonize yes` in a config file starts one daemon that serves (no respawn loop)', async (t) => {
    const dir = await tempDir(t, 'daemon-conf');
    const pidFile = path.join(dir, 'tsftpd.pid');
    const conf = path.join(dir, 'pure-ftpd.conf');
    await writeFile(conf, `Daemonize yes\nBind 127.0.0.1,0\nNoAnonymous yes\nPIDFile ${pidFile}\n`);
    const r = await runMain([conf], { timeoutMs: 20_000 });
    assert.equal(r.code, 0, r.stderr);
    const port = servedPort(r.stdout);
    const pid = daemonPid(t, pidFile);
    assert.equal(await greetingCode(port), 220);
    // A respawning chain would show other processes with the file in their command line.
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(pidsMentioning(conf), [pid]);
  });

  it('the daemon gets the command line unchanged (the old copy lost letters next to -2, -J, -O)', async (t) => {
    const dir = await tempDir(t, 'daemon-args');
    const pidFile = path.join(dir, 'tsftpd.pid');
    // A cluster ending in -2 with a value that contains a B: the old code deleted every B of it.
    const args = [
      '-dEB2' + path.join(dir, 'BigB.pem'),
      '-S',
      '127.0.0.1,0',
      '-J',
      'HIGH',
      '-g',
      pidFile,
      '-f',
      'none',
    ];
    const r = await runMain(args);
    assert.equal(r.code, 0, r.stderr);
    const pid = daemonPid(t, pidFile);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.deepEqual(argv.slice(argv.indexOf(MAIN) + 1, -1), args);
    assert.match(r.stdout, /logs are discarded \(-f none/);
  });

  it('a PID file that cannot be written stops the start (it used to serve without one, forever)', async (t) => {
    const dir = await tempDir(t, 'pidfile');
    const pidFile = path.join(dir, 'missing-dir', 'x.pid');
    const r = await runMain(['-S', '127.0.0.1,0', '-E', '-g', pidFile], { timeoutMs: 10_000 });
    assert.equal(r.timedOut, false, 'still running after the PID file failed');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `tsftpd: -g ${pidFile}: cannot write the PID file: its directory does not exist`,
    );
    const b = await runMain(['-B', '-S', '127.0.0.1,0', '-E', '-g', pidFile], { timeoutMs: 10_000 });
    assert.equal(b.code, 1);
    assert.match(b.stderr, /cannot write the PID file/);
  });
});

describe('tsftpd authd -B (the same bug class as item 5)', () => {
  it('returns once the socket and the PID file exist', async (t) => {
    const dir = await tempDir(t, 'authd');
    const sock = path.join(dir, 'authd.sock');
    const pidFile = path.join(dir, 'authd.pid');
    const r = await runMain(['authd', '-B', '-s', sock, '-r', '/bin/true', '-p', pidFile]);
    assert.equal(r.code, 0, r.stderr);
    const pid = daemonPid(t, pidFile);
    assert.match(r.stdout, new RegExp(`^tsftpd authd: running in the background, pid ${pid}\n$`));
    assert.ok(existsSync(sock), 'no socket when -B returned');
  });

  it("returns the helper's failure and its message", async (t) => {
    const dir = await tempDir(t, 'authd-fail');
    const pidFile = path.join(dir, 'authd.pid');
    const r = await runMain([
      'authd',
      '-B',
      '-s',
      path.join(dir, 'no', 'such', 'dir.sock'),
      '-r',
      '/bin/true',
      '-p',
      pidFile,
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^tsftpd authd: listen E[A-Z]+/);
    assert.doesNotMatch(r.stdout, /running in the background/);
    assert.equal(existsSync(pidFile), false);
  });
});

describe('inetd (item 6)', () => {
  it('a pipe or a UNIX socket pair on standard input is not inetd (supervisors use them)', async (t) => {
    const server = startMain(['-S', '127.0.0.1,0', '-E'], { stdin: 'pipe' });
    t.after(() => server.stop());
    assert.ok(await server.waitFor('stdout', /serving FTP/), server.stderr());
  });
});

describe('config files report every bad line (item 7)', () => {
  const stock = '/etc/pure-ftpd/pure-ftpd.conf';
  it(
    "Debian's stock pure-ftpd.conf starts unchanged (MaxLoad, AntiWarez, MaxDiskUsage, CustomerProof included)",
    { skip: ciSkip(existsSync(stock) ? undefined : `${stock} is missing (apt-get install pure-ftpd)`) },
    async (t) => {
      const dir = await tempDir(t, 'stockconf');
      const conf = path.join(dir, 'pure-ftpd.conf');
      const pidFile = path.join(dir, 'tsftpd.pid');
      // The file as shipped, plus where to listen and the PID file (the stock one says port 21).
      await writeFile(
        conf,
        `${await readFile(stock, 'utf8')}\nBind 127.0.0.1,0\nPIDFile ${pidFile}\nSyslogSocket ${path.join(dir, 'no-log')}\n`,
      );
      // Nothing of the file is refused as unknown or unsupported any more.
      assert.deepEqual(
        SWITCHES.filter((s) => s.kind === 'unsupported')
          .flatMap((s) => (s.conf ?? []).map((c) => c.key))
          .filter((key) => new RegExp(`^\\s*${key}\\s+(?!no\\b)`, 'im').test(readFileSync(stock, 'utf8'))),
        [],
      );
      const r = await runMain([conf], { timeoutMs: 20_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /running in the background/);
      const port = servedPort(r.stdout);
      daemonPid(t, pidFile);
      assert.equal(await greetingCode(port), 220);
    },
  );

  it('a typo gets the nearest key, with the other bad lines', async (t) => {
    const dir = await tempDir(t, 'typoconf');
    const conf = path.join(dir, 'typo.conf');
    await writeFile(conf, 'ChrootEveryon yes\nBonjour myftp\nUmask 133:022\nMaxClientsNumber many\n');
    const r = await runMain([conf], { timeoutMs: 10_000 });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      [
        `tsftpd: ${conf}:1: unknown key "ChrootEveryon" (did you mean ChrootEveryone?)`,
        `tsftpd: ${conf}:2: Bonjour: Bonjour registration exists only in macOS builds; not available on Linux`,
        `tsftpd: ${conf}:4: MaxClientsNumber many: the number of clients must be a whole number`,
        'tsftpd: 3 problems in the configuration; nothing was started',
        '',
      ].join('\n'),
    );
  });
});

describe('start-up messages (item 12)', () => {
  it('the start-up line is a URL, and the users part has no trailing colon', async (t) => {
    const server = startMain(['-S', '127.0.0.1,0', '-E', '-l', 'unix']);
    t.after(() => server.stop());
    assert.ok(await server.waitFor('stdout', /users:/), server.stderr());
    assert.match(
      server.stdout(),
      /^tsftpd: serving FTP on ftp:\/\/127\.0\.0\.1:\d+ \(anonymous: off\)\ntsftpd: users: unix\n/,
    );
  });

  it('--passwd-file is what the users part names (not a default .pdb that does not exist)', async (t) => {
    const dir = await tempDir(t, 'passwdfile');
    const passwd = path.join(dir, 'pureftpd.passwd');
    await writeFile(passwd, '');
    const server = startMain(['-S', '127.0.0.1,0', '-E', '--passwd-file', passwd], {
      env: shellEnv({ PURE_DBFILE: path.join(dir, 'none.pdb') }),
    });
    t.after(() => server.stop());
    assert.ok(await server.waitFor('stdout', /users:/), server.stderr());
    assert.match(server.stdout(), new RegExp(`\\ntsftpd: users: ${passwd}\\n`));
  });

  it('a missing .pdb: one warning at start with the path and the command; one line with the path per login', async (t) => {
    const dir = await tempDir(t, 'nopdb');
    const pdb = path.join(dir, 'users.pdb');
    const server = startMain(['-S', '127.0.0.1,0', '-E', '-l', `puredb:${pdb}`, '--auth-delay', '5']);
    t.after(() => server.stop());
    assert.ok(await server.waitFor('stdout', /users:/), server.stderr());
    assert.match(server.stdout(), new RegExp(`users: puredb:${pdb} \\(missing\\)`));
    assert.ok(await server.waitFor('stderr', /WARNING/), server.stderr());
    const fix = `tsftpd pw mkdb ${pdb}`;
    assert.match(
      server.stderr(),
      new RegExp(`\\[WARNING\\] -l puredb: user database ${pdb} does not exist; create it with: ${fix}`),
    );
    const before = server.stderr().length;
    const { ftp } = await RawFtp.connect(servedPort(server.stdout()));
    await ftp.cmd('USER joe');
    const reply = await ftp.cmd('PASS secret');
    ftp.close();
    assert.equal(reply.code, 421);
    assert.ok(await server.waitFor('stderr', /Unable to read the indexed puredb file/));
    await new Promise((r) => setTimeout(r, 200));
    const login = server
      .stderr()
      .slice(before)
      .split('\n')
      .filter((l) => l.includes('puredb') || l.includes(pdb));
    assert.equal(login.filter((l) => l.includes(pdb)).length, 1, login.join('\n'));
    assert.equal(
      login.filter((l) => l.includes('Unable to read the indexed puredb file')).length,
      1,
      login.join('\n'),
    );
    assert.ok(
      login.some((l) => l.includes(`[ERROR] user database ${pdb} does not exist; create it with: ${fix}`)),
    );
  });

  it('a global install (tsftpd on PATH) suggests `tsftpd pw`, not `npx tsftpd pw`', async (t) => {
    const dir = await tempDir(t, 'global');
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    await symlink(MAIN, path.join(bin, 'tsftpd'));
    const server = startMain(['--quickstart', '-S', '127.0.0.1,0', '-E'], {
      cwd: dir,
      script: path.join(bin, 'tsftpd'),
      env: shellEnv({ PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` }),
    });
    t.after(() => server.stop());
    assert.ok(await server.waitFor('stdout', /pw useradd/), server.stdout() + server.stderr());
    assert.match(server.stdout(), /\n {2}tsftpd pw useradd joe /);
    assert.doesNotMatch(server.stdout(), /npx/);
  });

  it('a busy port under npm start says `npm start -- -S ...`', async (t) => {
    const dir = await tempDir(t, 'busy');
    const port = await busyPort(t);
    const r = await runMain(['--quickstart', '-S', `127.0.0.1,${port}`], {
      cwd: dir,
      env: shellEnv({ npm_lifecycle_event: 'start', npm_command: 'start' }),
      timeoutMs: 10_000,
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `tsftpd: cannot listen on 127.0.0.1 port ${port}: the port is already in use; choose another port with: npm start -- -S 127.0.0.1,${port + 1}`,
    );
  });

  it('`-c -S 127.0.0.1,3208` names -c', async () => {
    const r = await runMain(['-c', '-S', '127.0.0.1,3208'], { timeoutMs: 10_000 });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'tsftpd: -c: needs a value (count), got the switch -S\n');
  });

  it('`tsftpd frobnicate` is an unknown command, with the list, not a config file', async () => {
    const r = await runMain(['frobnicate'], { timeoutMs: 10_000 });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^tsftpd: unknown command "frobnicate"\nCommands: pw, quotacheck, authd, certd, statsdecode, uploadscript, who, ban, mrtginfo, gencert;/,
    );
    assert.doesNotMatch(r.stderr, /config file/);
  });

  it('`tsftpd -h` fits in 100 columns and lists the subcommands', async () => {
    const r = await runMain(['-h'], { timeoutMs: 10_000 });
    assert.equal(r.code, 0);
    const widest = Math.max(...r.stdout.split('\n').map((l) => l.length));
    assert.ok(widest <= 100, `a help line of ${widest} columns`);
    for (const name of ['pw', 'quotacheck', 'authd', 'gencert']) {
      assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'), name);
    }
  });
});
