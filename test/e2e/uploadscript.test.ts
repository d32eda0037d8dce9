/**
 * Upload hooks (`-o` and `tsftpd uploadscript`, upstream §8): a server with -o passes each
 * completed upload to the upload pipe; `tsftpd uploadscript -r PROGRAM` runs PROGRAM once per
 * upload, in order, with the path and Pure-FTPd's UPLOAD_* variables; a slow program never slows
 * uploads; the script keeps working across a restart of the server; the pipe's records have
 * Pure-FTPd's byte format.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { curl, ftpUrl, toolSkip } from '../helpers/clients.js';
import { startServer, TEST_UID, type TestServer } from '../helpers/server.js';
import { RecordReader } from '../../src/tools/uploadscript.js';
import { uploadRecord } from '../../src/telemetry/upload-pipe.js';

/** Polls until `file` has `n` lines (at most `ms`). */
async function lines(file: string, n: number, ms = 15_000): Promise<string[]> {
  let got: string[] = [];
  for (let i = 0; i < ms / 100; i++) {
    got = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    if (got.length >= n) return got;
    await sleep(100);
  }
  return got;
}

describe('upload hooks (-o, tsftpd uploadscript)', { skip: toolSkip('curl') }, () => {
  let files: TestServer;
  let pipe: string;
  let script: string;
  let out: string;
  const login = { user: 'joe', password: 'secret' };
  const children: ChildProcess[] = [];
  before(async () => {
    files = await startServer();
    pipe = path.join(files.dir, 'upload.pipe');
    out = path.join(files.dir, 'hook.out');
    script = path.join(files.dir, 'hook.sh');
    // Appends what it was given, once the gate file exists (at most 30 s): a program as slow as the
    // test wants, with no timing involved.
    await writeFile(
      script,
      `#!/bin/sh\ni=0\nwhile [ ! -e "\${HOOK_GATE:-/}" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n` +
        `echo "$1|$UPLOAD_SIZE|$UPLOAD_PERMS|$UPLOAD_UID|$UPLOAD_VUSER|$UPLOAD_USER" >> ${out}\n`,
    );
    await chmod(script, 0o755);
    // Written by the program, possibly as another user.
    await writeFile(out, '');
    await chmod(out, 0o666);
    await chmod(files.dir, 0o755);
  });
  after(async () => {
    for (const c of children) await killChild(c);
    await files.close();
  });

  function server(port: number): ReturnType<typeof spawnServer> {
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '-o',
      '--upload-pipe',
      pipe,
    ]);
    children.push(srv.child);
    return srv;
  }

  it('records have Pure-FTPd bytes: 02 login 01 path 00; the reader skips malformed ones', () => {
    const rec = uploadRecord('joe', '/srv/a b');
    assert.deepEqual([...rec.subarray(0, 5)], [0x02, 0x6a, 0x6f, 0x65, 0x01]);
    assert.equal(rec[rec.length - 1], 0x00);
    const r = new RecordReader();
    const junk = Buffer.from('\x02bad\nuser\x01/x\x00garbage\x02ann\x01relative\x00');
    assert.deepEqual(r.push(Buffer.concat([junk, rec.subarray(0, 4)])), []);
    assert.deepEqual(r.push(rec.subarray(4)), [{ user: 'joe', path: '/srv/a b' }]);
  });

  it('runs the program per upload, in order, with UPLOAD_*; slow programs never slow uploads; survives a server restart', async () => {
    const port = await freePort();
    const gate = path.join(files.dir, 'hook.gate');
    let srv = server(port);
    (await connectWhenUp(port)).close();
    const st = await stat(pipe);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o600);
    const hook = spawn(process.execPath, [MAIN, 'uploadscript', '-r', script, '--pipe', pipe], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOOK_GATE: gate },
    });
    children.push(hook);
    let hookErr = '';
    hook.stderr.on('data', (d: Buffer) => (hookErr += d.toString()));
    // 8 uploads in a row while the program is held at its gate: they all finish without it.
    for (let i = 0; i < 8; i++) {
      const r = await curl(ftpUrl(port, `/hook${i}.txt`), login, ['-T', '-'], { input: 'x'.repeat(i + 1) });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(
      (await readFile(out, 'utf8')).trim(),
      '',
      'the program had not run yet: uploads did not wait for it',
    );
    await writeFile(gate, '');
    const got = await lines(out, 8);
    assert.equal(got.length, 8, hookErr);
    const home = files.home('joe');
    for (let i = 0; i < 8; i++) {
      const [p, size, perms, uid, vuser] = got[i].split('|');
      assert.equal(p, path.join(home, `hook${i}.txt`));
      assert.equal(size, String(i + 1));
      assert.match(perms, /^[0-7]{3}$/);
      assert.equal(uid, String(TEST_UID));
      assert.equal(vuser, 'joe');
    }
    // The server restarts; the program keeps running and gets the next upload.
    await killChild(srv.child);
    srv = server(port);
    (await connectWhenUp(port)).close();
    const r = await curl(ftpUrl(port, '/after-restart.txt'), login, ['-T', '-'], { input: 'again' });
    assert.equal(r.code, 0, r.stderr);
    const more = await lines(out, 9);
    assert.equal(more.length, 9, hookErr);
    assert.match(more[8], /after-restart\.txt\|5\|/);
    assert.equal(hook.exitCode, null, 'the upload script is still running');
    // SIGTERM stops it.
    const exited = new Promise<number | null>((resolve) => hook.once('exit', (code) => resolve(code)));
    hook.kill('SIGTERM');
    assert.equal(await exited, 0);
    await killChild(srv.child);
  });

  it('without -r, or with a relative program, uploadscript stops with its usage', async () => {
    for (const args of [[], ['-r', 'relative.sh']]) {
      const child = spawn(process.execPath, [MAIN, 'uploadscript', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 2);
      assert.match(err, /Usage: tsftpd uploadscript -r <program>/);
    }
  });
});
