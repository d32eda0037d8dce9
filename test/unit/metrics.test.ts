/**
 * The metrics pieces that need no server: `--metrics` address parsing, the session gauges and byte
 * counters read from a session list, error replies counted once per reply, and the aggregation of
 * two processes' registries.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenAddress } from '../../src/config/switches-ops.js';
import { EventBus } from '../../src/telemetry/bus.js';
import { SessionMetrics, aggregate, sumOf } from '../../src/telemetry/metrics.js';
import type { WhoEntry } from '../../src/telemetry/who.js';

const ref = { id: 1, remoteIp: '127.0.0.1', remotePort: 5000, localIp: '127.0.0.1', localPort: 21 };

function entry(over: Partial<WhoEntry>): WhoEntry {
  return {
    id: 1,
    pid: 1,
    account: 'joe',
    anonymous: false,
    since: 0,
    state: 'IDLE',
    file: '',
    remoteIp: '127.0.0.1',
    remotePort: 5000,
    localIp: '127.0.0.1',
    localPort: 21,
    tls: false,
    transferStart: 0,
    resume: 0,
    current: 0,
    total: 0,
    ...over,
  };
}

describe('metrics', () => {
  it('--metrics: ADDR:PORT, [v6]:PORT, a lone port on loopback; nothing else', () => {
    assert.deepEqual(parseListenAddress('9101'), { host: '127.0.0.1', port: 9101 });
    assert.deepEqual(parseListenAddress('0.0.0.0:9101'), { host: '0.0.0.0', port: 9101 });
    assert.deepEqual(parseListenAddress('[::1]:9101'), { host: '::1', port: 9101 });
    assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
    for (const bad of ['', ':9101', '9101:', '1.2.3.4:0', '1.2.3.4:70000', '::1:9101', 'a b:1']) {
      assert.throws(() => parseListenAddress(bad), bad);
    }
  });

  it('session gauges, live bytes, error replies once per reply; two processes summed', async () => {
    const bus = new EventBus();
    let list: WhoEntry[] = [
      entry({ id: 1 }),
      entry({ id: 2, account: '?' }),
      entry({ id: 3, state: 'DL', current: 1500, resume: 500, transferStart: 1 }),
    ];
    const m = new SessionMetrics(bus, 'worker-1', () => list);
    bus.emit('reply', { session: ref, line: '530-Sorry' });
    bus.emit('reply', { session: ref, line: '530 Login authentication failed' });
    bus.emit('reply', { session: ref, line: '226 Transfer complete' });
    bus.emit('login-failed', { session: ref, login: 'x', reason: 'unknown user', backend: 'none' });
    let json = await m.json();
    assert.equal(sumOf(json, 'tsftpd_sessions', { state: 'idle', kind: 'user' }), 1);
    assert.equal(sumOf(json, 'tsftpd_sessions', { state: 'idle', kind: 'unauthenticated' }), 1);
    assert.equal(sumOf(json, 'tsftpd_sessions', { state: 'download', kind: 'user' }), 1);
    assert.equal(sumOf(json, 'tsftpd_transfer_bytes_total', { direction: 'out' }), 1000);
    assert.equal(sumOf(json, 'tsftpd_error_replies_total', { code: '530' }), 1);
    assert.equal(sumOf(json, 'tsftpd_error_replies_total'), 1);
    assert.equal(sumOf(json, 'tsftpd_logins_total', { result: 'failed', backend: 'none' }), 1);
    // The transfer ends: its bytes stay counted, once.
    bus.emit('transfer-end', {
      session: ref,
      direction: 'download',
      listing: false,
      path: '/f',
      realPath: '/srv/f',
      bytes: 1200,
      seconds: 0.2,
      ok: true,
      ascii: false,
    });
    list = [entry({ id: 1 })];
    json = await m.json();
    assert.equal(sumOf(json, 'tsftpd_transfer_bytes_total', { direction: 'out' }), 1200);
    const other = new SessionMetrics(new EventBus(), 'worker-2', () => [entry({ id: 9 })]);
    const all = aggregate([json, await other.json()]);
    const merged = await all.getMetricsAsJSON();
    assert.equal(sumOf(merged, 'tsftpd_sessions', { state: 'idle', kind: 'user' }), 2);
    assert.equal(sumOf(merged, 'tsftpd_transfer_bytes_total', { direction: 'out' }), 1200);
    const text = await all.metrics();
    assert.match(text, /tsftpd_event_loop_delay_seconds\{process="worker-1",quantile="0\.99"\}/);
    assert.match(text, /tsftpd_event_loop_delay_seconds\{process="worker-2",quantile="0\.99"\}/);
    m.close();
    other.close();
  });
});
