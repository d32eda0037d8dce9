/**
 * `--metrics` (issue 13): Prometheus text from every process (two session workers here), fed by real
 * transfers and logins made with curl; loopback unless told otherwise; basic authentication; bounded
 * answers for anything else.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';
import { curl, ftpUrl, toolSkip } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** The value of the series `name{labels}` in Prometheus text (labels in any order), or undefined. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(pair[1], pair[2]);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** Waits until the metrics listener answers (at most 10 s). */
async function fetchWhenUp(url: string, init?: RequestInit): Promise<Response> {
  for (let i = 0; i < 100; i++) {
    try {
      return await fetch(url, init);
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`nothing answers at ${url}`);
}

describe('--metrics', { skip: toolSkip('curl') }, () => {
  let files: TestServer;
  before(async () => {
    files = await startServer();
  });
  after(async () => {
    await files.close();
  });

  it('counts sessions, logins, bytes, transfers, durations, errors and processes over two workers', async () => {
    const port = await freePort();
    const mport = await freePort();
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--metrics',
      `127.0.0.1:${mport}`,
    ]);
    const idle: RawFtp[] = [];
    try {
      idle.push(await connectWhenUp(port));
      assert.equal((await idle[0].login('joe', 'secret')).code, 230);
      idle.push((await RawFtp.connect(port)).ftp);
      const login = { user: 'joe', password: 'secret' };
      const up = await curl(ftpUrl(port, '/m.bin'), login, ['-T', '-'], { input: 'x'.repeat(10_000) });
      assert.equal(up.code, 0, up.stderr);
      const down = await curl(ftpUrl(port, '/m.bin'), login);
      assert.equal(down.code, 0, down.stderr);
      const list = await curl(ftpUrl(port, '/'), login);
      assert.equal(list.code, 0, list.stderr);
      const bad = await curl(ftpUrl(port, '/'), { user: 'joe', password: 'not-it' });
      assert.notEqual(bad.code, 0);
      const missing = await curl(ftpUrl(port, '/nothing-here'), login);
      assert.notEqual(missing.code, 0);

      const res = await fetchWhenUp(`http://127.0.0.1:${mport}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.equal(value(text, 'tsftpd_sessions', { state: 'idle', kind: 'user' }), 1, text);
      assert.equal(value(text, 'tsftpd_sessions', { state: 'idle', kind: 'unauthenticated' }), 1);
      assert.equal(value(text, 'tsftpd_sessions', { state: 'download', kind: 'user' }), 0);
      assert.ok((value(text, 'tsftpd_logins_total', { result: 'ok', backend: 'passwd' }) ?? 0) >= 4, text);
      assert.equal(value(text, 'tsftpd_logins_total', { result: 'failed', backend: 'passwd' }), 1);
      assert.equal(value(text, 'tsftpd_transfer_bytes_total', { direction: 'in' }), 10_000);
      assert.equal(value(text, 'tsftpd_transfer_bytes_total', { direction: 'out' }), 10_000);
      assert.equal(value(text, 'tsftpd_transfers_total', { direction: 'upload', result: 'ok' }), 1);
      assert.equal(value(text, 'tsftpd_transfers_total', { direction: 'download', result: 'ok' }), 1);
      assert.equal(value(text, 'tsftpd_transfer_duration_seconds_count', { direction: 'upload' }), 1);
      assert.equal(
        value(text, 'tsftpd_transfer_duration_seconds_bucket', { direction: 'upload', le: '+Inf' }),
        1,
      );
      assert.equal(value(text, 'tsftpd_listing_duration_seconds_count'), 1);
      assert.equal(value(text, 'tsftpd_error_replies_total', { code: '530' }), 1);
      assert.equal(value(text, 'tsftpd_error_replies_total', { code: '550' }), 1);
      // The two idle sessions and five curl sessions.
      assert.equal(value(text, 'tsftpd_connections_total'), 7);
      for (const p of ['worker-1', 'worker-2', 'parent']) {
        const d = value(text, 'tsftpd_event_loop_delay_seconds', { process: p, quantile: '0.99' });
        assert.ok(d !== undefined && d >= 0 && d < 5, `${p}: ${d}`);
        assert.ok((value(text, 'process_resident_memory_bytes', { process: p }) ?? 0) > 0, p);
      }
      assert.equal(value(text, 'tsftpd_processes', { kind: 'worker' }), 2);
      assert.equal(value(text, 'tsftpd_processes', { kind: 'parent' }), 1);
      assert.doesNotMatch(text, /not-it|secret/);

      // Only GET and HEAD; unknown paths are 404.
      assert.equal((await fetch(`http://127.0.0.1:${mport}/metrics`, { method: 'POST' })).status, 405);
      assert.equal((await fetch(`http://127.0.0.1:${mport}/nope`)).status, 404);
      assert.match(srv.output(), new RegExp(`metrics at http://127\\.0\\.0\\.1:${mport}/metrics`));
    } finally {
      for (const c of idle) c.close();
      await killChild(srv.child);
    }
  });

  it('a lone port binds to loopback; --metrics-auth asks for basic authentication', async () => {
    const port = await freePort();
    const mport = await freePort();
    const auth = path.join(files.dir, `metrics-${mport}.auth`);
    await writeFile(auth, 'prom:s3cret-Scrape\n', { mode: 0o600 });
    const srv = spawnServer(port, [
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--metrics',
      String(mport),
      '--metrics-auth',
      auth,
    ]);
    try {
      (await connectWhenUp(port)).close();
      const url = `http://127.0.0.1:${mport}/metrics`;
      const none = await fetchWhenUp(url);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="tsftpd"/);
      const wrong = await fetch(url, { headers: { authorization: `Basic ${btoa('prom:nope')}` } });
      assert.equal(wrong.status, 401);
      const ok = await fetch(url, { headers: { authorization: `Basic ${btoa('prom:s3cret-Scrape')}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /tsftpd_sessions/);
      const page = await fetch(`http://127.0.0.1:${mport}/status`, {
        headers: { authorization: `Basic ${btoa('prom:s3cret-Scrape')}` },
      });
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.match(srv.output(), new RegExp(`metrics at http://127\\.0\\.0\\.1:${mport}/`));
    } finally {
      await killChild(srv.child);
    }
  });

  it('a metrics port already taken stops the start with a clear line', async () => {
    const port = await freePort();
    const mport = await freePort();
    const holder = (await import('node:net')).createServer();
    await new Promise<void>((resolve) => holder.listen(mport, '127.0.0.1', resolve));
    const srv = spawnServer(port, [
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--metrics',
      `127.0.0.1:${mport}`,
    ]);
    try {
      const code = await new Promise<number | null>((resolve) => srv.child.once('exit', resolve));
      assert.equal(code, 1);
      assert.match(
        srv.output(),
        new RegExp(`--metrics 127\\.0\\.0\\.1:${mport}: the port is already in use`),
      );
    } finally {
      holder.close();
      await killChild(srv.child);
    }
  });
});
