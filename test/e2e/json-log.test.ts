/**
 * `--log-format json` (issue 13): every event is one JSON object with structured fields — event
 * type, session id, peer, account, and per event path, bytes, duration, direction and result —
 * from the session workers too; passwords never appear.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { curl, ftpUrl, toolSkip } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('structured JSON logs', { skip: toolSkip('curl') }, () => {
  let files: TestServer;
  before(async () => {
    files = await startServer();
  });
  after(async () => {
    await files.close();
  });

  it('login, failed login, transfer and disconnect carry their fields; no password', async () => {
    const port = await freePort();
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--log-format',
      'json',
    ]);
    try {
      (await connectWhenUp(port)).close();
      const up = await curl(ftpUrl(port, '/j.txt'), { user: 'joe', password: 'secret' }, ['-T', '-'], {
        input: '12345',
      });
      assert.equal(up.code, 0, up.stderr);
      const bad = await curl(ftpUrl(port, '/'), { user: 'joe', password: 'Wr0ng-pass' });
      assert.notEqual(bad.code, 0);
      let records: Record<string, unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        records = srv
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        if (records.some((r) => r.event === 'login' && r.result === 'failed')) break;
        await sleep(100);
      }
      const transfer = records.find((r) => r.event === 'transfer');
      assert.ok(transfer, srv.output());
      assert.equal(transfer.direction, 'upload');
      assert.equal(transfer.bytes, 5);
      assert.equal(transfer.result, 'ok');
      assert.equal(transfer.account, 'joe');
      assert.equal(transfer.ip, '127.0.0.1');
      assert.equal(typeof transfer.session, 'number');
      assert.equal(typeof transfer.duration, 'number');
      assert.equal(transfer.path, path.join(files.home('joe'), 'j.txt'));
      const login = records.find((r) => r.event === 'login' && r.result === 'ok');
      assert.ok(login);
      assert.equal(login.account, 'joe');
      assert.equal(login.session, transfer.session);
      const failed = records.find((r) => r.event === 'login' && r.result === 'failed');
      assert.ok(failed);
      assert.equal(failed.login, 'joe');
      assert.ok(records.some((r) => r.event === 'connect' && typeof r.local === 'string'));
      assert.ok(records.some((r) => r.event === 'disconnect' && r.session === transfer.session));
      assert.doesNotMatch(srv.output(), /Wr0ng-pass|secret/);
    } finally {
      await killChild(srv.child);
    }
  });
});
