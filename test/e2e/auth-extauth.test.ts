/**
 * End-to-end tests of `-l extauth:SOCKET` with `tsftpd authd` (upstream §3.5): authd runs as a child
 * process with a shell script written in the style of Pure-FTPd's documentation; the server logs
 * users in through it. Covered: success and upload, refusal (-1), fall-through (0), uid 0, a reply
 * without `end`, a program that hangs (killed, refused in time), the AUTHD_* environment, socket
 * mode 0600, -u/-g (when root), -B with -p, and a helper that is not running (421 within seconds).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from 'basic-ftp';
import { ExtAuthAuthenticator } from '../../src/auth/backends/extauth.js';
import { startServer, TEST_GID, TEST_UID, type TestServer } from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const isRoot = process.getuid?.() === 0;

/** The pure-authd program: plain sh, `echo` lines and `end`, as in README.Authentication-Modules. */
function script(base: string): string {
  return `#! /bin/sh
if test "$AUTHD_ACCOUNT" = "alice" && test "$AUTHD_PASSWORD" = "alice-pw"; then
  echo 'auth_ok:1'
  echo 'uid:${TEST_UID}'
  echo 'gid:${TEST_GID}'
  echo 'dir:${base}/alice/./'
  echo 'throttling_bandwidth_dl:1048576'
  echo 'user_quota_files:100'
  echo 'end'
elif test "$AUTHD_ACCOUNT" = "alice"; then
  echo 'auth_ok:-1'
  echo 'end'
elif test "$AUTHD_ACCOUNT" = "rooty"; then
  printf 'auth_ok:1\\nuid:0\\ngid:0\\ndir:${base}\\nend\\n'
elif test "$AUTHD_ACCOUNT" = "noend"; then
  printf 'auth_ok:1\\nuid:${TEST_UID}\\ngid:${TEST_GID}\\ndir:${base}\\n'
elif test "$AUTHD_ACCOUNT" = "slow"; then
  sleep 30
elif test "$AUTHD_ACCOUNT" = "env"; then
  env | grep -e '^AUTHD_' -e '^TSFTPD_TEST_MARK=' | sort > '${base}/env.txt'
  printf 'auth_ok:1\\nuid:${TEST_UID}\\ngid:${TEST_GID}\\ndir:${base}\\nend\\n'
elif test "$AUTHD_ACCOUNT" = "whoami"; then
  printf 'auth_ok:1\\nuid:%s\\ngid:%s\\ndir:${base}\\nend\\n' "$(id -u)" "$(id -g)"
else
  echo 'auth_ok:0'
  echo 'end'
fi
`;
}

/** Starts `tsftpd authd` and waits for its socket (bounded). */
async function startAuthd(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, 'authd', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TSFTPD_TEST_MARK: 'kept' },
  });
  const sock = args[args.indexOf('-s') + 1];
  await waitFor(async () => (await stat(sock).catch(() => undefined))?.isSocket() === true, 'authd socket');
  return child;
}

/** Polls `check` every 50 ms for up to 10 s (a loaded CI machine starts node slowly). */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM by PID, SIGKILL if it is still there after 3 s. */
async function stopByPid(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 3000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) process.kill(pid, 'SIGKILL');
}

async function login(srv: TestServer, user: string, pass: string): Promise<number> {
  const { ftp } = await RawFtp.connect(srv.port, srv.host);
  try {
    const r = await ftp.cmd(`USER ${user}`);
    return (r.code === 331 ? await ftp.cmd(`PASS ${pass}`, 15000) : r).code;
  } finally {
    ftp.close();
  }
}

describe('-l extauth with tsftpd authd', () => {
  let base = '';
  let sock = '';
  let authd: ChildProcess | undefined;
  let srv: TestServer | undefined;

  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-extauth-'));
    await chmod(base, 0o755); // the -u/-g test runs the program as nobody
    await mkdir(path.join(base, 'alice'));
    await chown(path.join(base, 'alice'), TEST_UID, TEST_GID);
    await writeFile(path.join(base, 'auth.sh'), script(base), { mode: 0o755 });
    sock = path.join(base, 'authd.sock');
    authd = await startAuthd([
      '-s',
      sock,
      '-r',
      path.join(base, 'auth.sh'),
      '-t',
      '1',
      '-p',
      path.join(base, 'a.pid'),
    ]);
    srv = await startServer({ args: ['-l', `extauth:${sock}`], anonymous: false });
  });

  after(async () => {
    await srv?.close();
    if (authd?.pid !== undefined) await stopByPid(authd.pid);
    await rm(base, { recursive: true, force: true });
  });

  it('creates the socket 0600 and writes the PID file', async () => {
    assert.equal((await stat(sock)).mode & 0o777, 0o600);
    assert.equal((await readFile(path.join(base, 'a.pid'), 'utf8')).trim(), String(authd!.pid));
  });

  it('logs in through the program and uploads into the /./ home; -1 gives 530', async () => {
    const client = new Client(10000);
    try {
      await client.access({ host: srv!.host, port: srv!.port, user: 'alice', password: 'alice-pw' });
      assert.equal(await client.pwd(), '/');
      await client.uploadFrom(Readable.from(Buffer.from('via authd\n')), 'x.txt');
    } finally {
      client.close();
    }
    assert.equal(await readFile(path.join(base, 'alice', 'x.txt'), 'utf8'), 'via authd\n');
    assert.equal(await login(srv!, 'alice', 'wrong'), 530);
  });

  it('auth_ok:0 falls through to the passwd file; uid 0 and a reply without end are refused', async () => {
    assert.equal(await login(srv!, 'joe', 'secret'), 230);
    assert.equal(await login(srv!, 'rooty', 'x'), 530);
    assert.equal(await login(srv!, 'noend', 'x'), 530);
  });

  it('a program that hangs is killed after -t and the login refused, without a hang', async () => {
    const started = Date.now();
    assert.equal(await login(srv!, 'slow', 'x'), 530);
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
  });

  it('passes the AUTHD_* environment on top of its own', async () => {
    const a = new ExtAuthAuthenticator(sock);
    const r = await a.authenticate('env', {
      password: 'p w:x',
      remoteIp: '192.0.2.7',
      localIp: '127.0.0.1',
      localPort: 2121,
      tls: true,
      sni: 'ftp.example',
    });
    assert.equal(r.kind, 'ok');
    assert.deepEqual((await readFile(path.join(base, 'env.txt'), 'utf8')).trim().split('\n'), [
      'AUTHD_ACCOUNT=env',
      'AUTHD_CLIENT_SNI_NAME=ftp.example',
      'AUTHD_ENCRYPTED=1',
      'AUTHD_LOCAL_IP=127.0.0.1',
      'AUTHD_LOCAL_PORT=2121',
      'AUTHD_PASSWORD=p w:x',
      'AUTHD_REMOTE_IP=192.0.2.7',
      'TSFTPD_TEST_MARK=kept',
    ]);
  });

  it('-u/-g run the program under that uid/gid', { skip: isRoot ? false : 'needs root' }, async () => {
    const sock2 = path.join(base, 'nobody.sock');
    const child = await startAuthd([
      '-s',
      sock2,
      '-r',
      path.join(base, 'auth.sh'),
      '-u',
      '65534',
      '-g',
      '65534',
    ]);
    try {
      const r = await new ExtAuthAuthenticator(sock2).authenticate('whoami', {
        password: 'x',
        remoteIp: '127.0.0.1',
        localIp: '127.0.0.1',
        localPort: 21,
        tls: false,
      });
      assert.ok(r.kind === 'ok');
      assert.deepEqual([r.account.uid, r.account.gid], [65534, 65534]);
    } finally {
      await stopByPid(child.pid!);
    }
  });

  it('-B daemonizes and -p records the daemon PID; SIGTERM removes socket and PID file', async () => {
    const sock3 = path.join(base, 'daemon.sock');
    const pidFile = path.join(base, 'daemon.pid');
    const parent = spawn(
      process.execPath,
      [MAIN, 'authd', '-B', '-s', sock3, '-r', path.join(base, 'auth.sh'), '-p', pidFile],
      {
        stdio: 'ignore',
      },
    );
    await new Promise((resolve) => parent.on('exit', resolve));
    await waitFor(
      async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() !== '',
      'the PID file',
    );
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    try {
      assert.notEqual(pid, parent.pid);
      assert.equal((await stat(sock3)).isSocket(), true);
    } finally {
      await stopByPid(pid);
    }
    await waitFor(async () => (await stat(sock3).catch(() => undefined)) === undefined, 'socket removal');
    await waitFor(async () => (await stat(pidFile).catch(() => undefined)) === undefined, 'PID file removal');
  });
});

it('a helper that is not running gives 421 within seconds, not a hang', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-extauth-down-'));
  const srv = await startServer({ args: ['-l', `extauth:${path.join(dir, 'none.sock')}`], anonymous: false });
  try {
    const started = Date.now();
    assert.equal(await login(srv, 'alice', 'x'), 421);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.ok(
      srv.logs.some((l) => l.includes('unavailable')),
      srv.logs.join('\n'),
    );
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
