/**
 * The first transfer after a start (issue 10 item 1): each case starts a NEW server process, so
 * the transfer under test is the very first one that process runs (lazily loaded addons, first
 * pump, first active connection). Active and passive, upload and download, plain (Python ftplib)
 * and TLS (curl passive, lftp active: curl < 8 cannot do active FTPS, curl issue #10666), plus
 * the first FXP transfer between two fresh servers over raw control connections. Every server is
 * stopped by its PID; every client run is bounded.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha512Hash, TEST_GID, TEST_UID } from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';
import { curl, pattern, requireTool, runProgram, waitFor } from '../helpers/transfer-clients.js';
import { lftpTls, makePki, type Pki } from '../helpers/tls.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
/** Uploads small enough to arrive whole, with the FIN, in one read of the socket (below 16 KiB). */
const UPLOAD_SIZE = 10_000;
/** Downloads large enough for the native sendfile path (not read with the open). */
const DOWNLOAD_SIZE = 3 * 1024 * 1024;

/** A tsftpd process started for one case. */
interface Fresh {
  port: number;
  home: string;
  /** Everything the process wrote on stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 3000);
  await exited;
  clearTimeout(timer);
}

/** Starts `node .build/src/main.js` with user joe/secret (home holding `files`) and `extra` switches. */
async function freshServer(files: Record<string, Buffer>, extra: string[] = []): Promise<Fresh> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-first-'));
  const home = path.join(dir, 'joe');
  await mkdir(home);
  for (const [name, body] of Object.entries(files)) await writeFile(path.join(home, name), body);
  if (process.getuid?.() === 0) await chown(home, TEST_UID, TEST_GID);
  const passwd = path.join(dir, 'passwd');
  const line = `joe:${await sha512Hash('secret')}:${TEST_UID}:${TEST_GID}::${home}/./:\n`;
  await writeFile(passwd, line, { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [MAIN, '-S', '127.0.0.1,0', '-p', '20000:29999', '--passwd-file', passwd, '-E', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async (): Promise<void> => {
    await stopByPid(child);
    await rm(dir, { recursive: true, force: true });
  };
  const listening = /serving FTP on ftp:\/\/127\.0\.0\.1:(\d+)/;
  if (!(await waitFor(() => listening.test(output), 10000))) {
    await stop();
    throw new Error(`the server did not start: ${output}`);
  }
  return { port: Number(listening.exec(output)![1]), home, output: () => output, stop };
}

/** Asserts that the server logged neither an error nor a failed transfer. */
function assertCleanLog(srv: Fresh, what: string): void {
  assert.doesNotMatch(srv.output(), /\[ERROR\]|errno|\[aborted\]/, `${what}: server log\n${srv.output()}`);
}

/** Runs a Python ftplib program logged in as joe (PORT when active); prints the final reply. */
function ftplibRun(port: number, passive: boolean, body: string, cwd: string): Promise<string> {
  const program = [
    'import ftplib, os, sys',
    'ftp = ftplib.FTP(timeout=10)',
    "ftp.connect('127.0.0.1', int(os.environ['PORT']))",
    "ftp.login('joe', 'secret')",
    `ftp.set_pasv(${passive ? 'True' : 'False'})`,
    'try:',
    ...body.split('\n').map((l) => `    ${l}`),
    'except ftplib.all_errors as e:',
    "    print('FTPERR', e)",
    'finally:',
    '    ftp.close()',
  ].join('\n');
  return runProgram('python3', ['-c', program], { cwd, env: { PORT: String(port) }, timeoutMs: 30000 }).then(
    (r) => r.stdout.toString() + r.stderr,
  );
}

describe('the first transfer after a start (a new server process per case)', () => {
  let local: string;
  let pki: Pki;
  const upload = pattern(UPLOAD_SIZE, 11);
  const download = pattern(DOWNLOAD_SIZE, 12);
  before(async () => {
    local = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-first-local-'));
    await writeFile(path.join(local, 'up.bin'), upload);
    pki = await makePki();
  });
  after(async () => {
    await rm(local, { recursive: true, force: true });
    await pki.close();
  });

  for (const passive of [false, true]) {
    const mode = passive ? 'passive' : 'active';

    it(`plain ${mode} upload (Python ftplib)`, async (t: TestContext) => {
      if (!requireTool(t, 'python3')) return;
      const srv = await freshServer({});
      t.after(() => srv.stop());
      const out = await ftplibRun(
        srv.port,
        passive,
        "print(ftp.storbinary('STOR up.bin', open('up.bin', 'rb')))",
        local,
      );
      assert.match(out, /^226[ -]/m, `${out}\n${srv.output()}`);
      assert.deepEqual(await readFile(path.join(srv.home, 'up.bin')), upload);
      assertCleanLog(srv, mode);
    });

    it(`plain ${mode} download (Python ftplib)`, async (t: TestContext) => {
      if (!requireTool(t, 'python3')) return;
      const srv = await freshServer({ 'down.bin': download });
      t.after(() => srv.stop());
      const name = `got-${mode}.bin`;
      const out = await ftplibRun(
        srv.port,
        passive,
        `with open('${name}', 'wb') as f:\n    print(ftp.retrbinary('RETR down.bin', f.write))`,
        local,
      );
      assert.match(out, /^226[ -]/m, `${out}\n${srv.output()}`);
      assert.ok((await readFile(path.join(local, name))).equals(download), 'downloaded bytes');
      assertCleanLog(srv, mode);
    });
  }

  it('TLS passive upload (curl --ssl-reqd)', async (t: TestContext) => {
    if (!requireTool(t, 'curl')) return;
    const srv = await freshServer({}, ['-Y', '1', '-2', pki.server]);
    t.after(() => srv.stop());
    const url = `ftp://joe:secret@127.0.0.1:${srv.port}/up.bin`;
    const r = await curl(['--ssl-reqd', '-k', '-T', path.join(local, 'up.bin'), url]);
    assert.equal(r.code, 0, `${r.stderr}\n${srv.output()}`);
    assert.deepEqual(await readFile(path.join(srv.home, 'up.bin')), upload);
    assertCleanLog(srv, 'TLS passive upload');
  });

  it('TLS passive download (curl --ssl-reqd)', async (t: TestContext) => {
    if (!requireTool(t, 'curl')) return;
    const srv = await freshServer({ 'down.bin': download }, ['-Y', '1', '-2', pki.server]);
    t.after(() => srv.stop());
    const r = await curl(['--ssl-reqd', '-k', `ftp://joe:secret@127.0.0.1:${srv.port}/down.bin`]);
    assert.equal(r.code, 0, `${r.stderr}\n${srv.output()}`);
    assert.ok(r.stdout.equals(download), 'downloaded bytes');
    assertCleanLog(srv, 'TLS passive download');
  });

  it('TLS active upload (lftp ftp:ssl-force, passive-mode off)', async (t: TestContext) => {
    if (!requireTool(t, 'lftp')) return;
    const srv = await freshServer({}, ['-Y', '1', '-2', pki.server]);
    t.after(() => srv.stop());
    const r = await lftpTls(srv.port, 'put up.bin', { cwd: local, passive: false });
    assert.equal(r.code, 0, `${r.stderr}\n${srv.output()}`);
    assert.deepEqual(await readFile(path.join(srv.home, 'up.bin')), upload);
    assertCleanLog(srv, 'TLS active upload');
  });

  it('TLS active download (lftp ftp:ssl-force, passive-mode off)', async (t: TestContext) => {
    if (!requireTool(t, 'lftp')) return;
    const srv = await freshServer({ 'down.bin': download }, ['-Y', '1', '-2', pki.server]);
    t.after(() => srv.stop());
    const r = await lftpTls(srv.port, 'get down.bin -o got-tls-active.bin', { cwd: local, passive: false });
    assert.equal(r.code, 0, `${r.stderr}\n${srv.output()}`);
    assert.ok((await readFile(path.join(local, 'got-tls-active.bin'))).equals(download), 'downloaded bytes');
    assertCleanLog(srv, 'TLS active download');
  });

  it('FXP: the first transfer of two fresh servers (PASV on the source, PORT on the target)', async (t) => {
    const body = pattern(UPLOAD_SIZE, 13);
    const source = await freshServer({ 'f.bin': body }, ['-w']);
    t.after(() => source.stop());
    const target = await freshServer({}, ['-w']);
    t.after(() => target.stop());
    const { ftp: a } = await RawFtp.connect(source.port);
    t.after(() => a.close());
    const { ftp: b } = await RawFtp.connect(target.port);
    t.after(() => b.close());
    await a.login('joe', 'secret');
    await b.login('joe', 'secret');
    assert.equal((await a.cmd('TYPE I')).code, 200);
    assert.equal((await b.cmd('TYPE I')).code, 200);
    const pasv = await a.cmd('PASV');
    const m = /\((\d+,\d+,\d+,\d+,\d+,\d+)\)/.exec(pasv.text);
    assert.ok(pasv.code === 227 && m !== null, pasv.text);
    assert.equal((await b.cmd(`PORT ${m[1]}`)).code, 200);
    // The target connects to the source's passive port as soon as STOR arrives.
    b.send('STOR copy.bin');
    assert.equal((await b.read()).code, 150);
    a.send('RETR f.bin');
    assert.equal((await a.read()).code, 150);
    const [doneA, doneB] = await Promise.all([a.read(15000), b.read(15000)]);
    assert.equal(doneA.code, 226, doneA.text);
    assert.equal(doneB.code, 226, `${doneB.text}\n${target.output()}`);
    assert.deepEqual(await readFile(path.join(target.home, 'copy.bin')), body);
    assertCleanLog(source, 'FXP source');
    assertCleanLog(target, 'FXP target');
  });
});
