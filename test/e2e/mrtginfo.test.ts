/**
 * `tsftpd mrtginfo [port]` prints what Debian's pure-mrtginfo prints for the same port: the
 * established connections (twice), the uptime and the host name — here with three sessions open on
 * a running tsftpd with two workers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { MAIN, connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';
import { runTool, toolSkip } from '../helpers/clients.js';
import { countEstablished, uptimeText } from '../../src/tools/mrtginfo.js';

describe('tsftpd mrtginfo', () => {
  it('counts established connections of a port in /proc/net/tcp format; formats the uptime', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:0015 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1',
      '   1: 0100007F:0015 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 2',
      '   2: 0100007F:C350 0100007F:0015 01 00000000:00000000 00:00000000 00000000     0        0 3',
      '   3: 0100007F:0015 0100007F:C351 06 00000000:00000000 00:00000000 00000000     0        0 4',
    ].join('\n');
    assert.equal(countEstablished(table, 21), 1);
    assert.equal(uptimeText(90061.7), '1 days, 1:01:01');
    assert.equal(uptimeText(59), '0 days, 0:00:59');
  });

  it(
    'matches pure-mrtginfo with three sessions open',
    { skip: toolSkip('pure-mrtginfo', 'apt-get install pure-ftpd') },
    async () => {
      const port = await freePort();
      const srv = spawnServer(port, ['--workers', '2']);
      const clients: RawFtp[] = [];
      try {
        clients.push(await connectWhenUp(port));
        for (let i = 0; i < 2; i++) clients.push((await RawFtp.connect(port)).ftp);
        const ours = await runTool(process.execPath, [MAIN, 'mrtginfo', String(port)]);
        const theirs = await runTool('pure-mrtginfo', [String(port)]);
        assert.equal(ours.code, 0, ours.stderr);
        const a = ours.stdout.split('\n');
        const b = theirs.stdout.split('\n');
        assert.deepEqual([a[0], a[1], a[3]], ['3', '3', os.hostname()]);
        assert.deepEqual([a[0], a[1], a[3]], [b[0], b[1], b[3]]);
        assert.match(a[2], /^\d+ days, \d+:\d\d:\d\d$/);
      } finally {
        for (const c of clients) c.close();
        await killChild(srv.child);
      }
    },
  );
});
