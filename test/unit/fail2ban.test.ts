/**
 * fail2ban's stock pure-ftpd filter reads tsftpd's log: its failregex (config/filter.d/pure-ftpd.conf,
 * the English message) matches the line of a failed login to the end, and captures the client's
 * address; the reason follows on a line of its own, which the filter ignores.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { EventBus } from '../../src/telemetry/bus.js';
import { attachLogger } from '../../src/telemetry/log.js';

/** The filter's failregex after its prefix (a syslog line's `tsftpd[pid]: `), in JavaScript. */
const FAILREGEX = /^\(.+?@(?<host>[\w.:-]+)\) \[WARNING\] Authentication failed for user \[.*\]\s*$/;

describe('fail2ban pure-ftpd filter', () => {
  it('matches a failed login line and only that one', async () => {
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const bus = new EventBus();
    const stop = attachLogger(bus, { format: 'text', verbose: 0, out });
    const session = { id: 1, remoteIp: '192.0.2.7', remotePort: 4000, localIp: '192.0.2.1', localPort: 21 };
    bus.emit('login-failed', { session, login: 'joe', reason: 'wrong password', backend: 'puredb' });
    await tick();
    stop();
    const bodies = text
      .trim()
      .split('\n')
      .map((l) => l.slice(l.indexOf('tsftpd: ') + 'tsftpd: '.length));
    assert.equal(bodies.length, 2);
    assert.equal(FAILREGEX.exec(bodies[0])?.groups?.host, '192.0.2.7');
    assert.equal(bodies[1], '(?@192.0.2.7) [INFO] Login of [joe] refused: wrong password');
    assert.equal(FAILREGEX.test(bodies[1]), false);
  });
});
