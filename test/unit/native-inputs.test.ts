/**
 * The native addons' input rules (issue 10 item 4, native/napi-check.h): every N-API call is
 * checked, numbers must be integers in range (an unchecked int32 turned NaN into descriptor 0),
 * and strings copied from JavaScript are taken whole or refused — a NUL byte or an oversized
 * string is never silently cut. The pump's own rules are in data-read-errors.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pythonPath } from '../helpers/clients.js';
import { loadAddon } from '../../src/native-addons.js';

interface SyslogAddon {
  send(path: unknown, lines?: unknown): Promise<number>;
}
interface CryptAddon {
  verify(password: unknown, hash: unknown): Promise<boolean>;
  crypt(password: unknown, setting: unknown): Promise<string | null>;
  gensalt(prefix?: unknown, rounds?: unknown): string | null;
  sodiumHash?(password: unknown, unused: unknown, ops?: unknown, mem?: unknown): Promise<string | null>;
}
interface PamAddon {
  authenticate(service: unknown, login: unknown, password: unknown, rhost: unknown): Promise<unknown>;
}

describe('tsftpd_syslog', () => {
  let addon: SyslogAddon;
  let dir: string;
  let listener: ChildProcess | undefined;
  let received: string[] = [];
  before(async () => {
    addon = await loadAddon<SyslogAddon>('tsftpd_syslog', 'build the addons');
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-native-'));
  });
  after(async () => {
    if (listener?.pid !== undefined && listener.exitCode === null) process.kill(listener.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a socket path it cannot use whole (NUL byte, longer than sun_path) and a non-array', () => {
    assert.throws(() => addon.send('/tmp/log\0sock', []), TypeError);
    assert.throws(() => addon.send(`/tmp/${'x'.repeat(200)}`, []), RangeError);
    assert.throws(() => addon.send(42, []), TypeError);
    assert.throws(() => addon.send('/tmp/x', 'not an array'), TypeError);
    assert.throws(() => addon.send('/tmp/x'), TypeError);
  });

  it('sends whole lines only: a line with a NUL byte, too long or not a string is not sent, and not counted', async () => {
    const python = pythonPath();
    assert.ok(python !== undefined, 'python3 is needed for the datagram listener');
    const sock = path.join(dir, 'log.sock');
    listener = spawn(
      python,
      [
        '-u',
        '-c',
        'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\n' +
          'print("ready",flush=True)\nwhile True:\n  print(repr(s.recv(65536)),flush=True)',
        sock,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    listener.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10000;
    while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(out.includes('ready'), 'the listener started');
    const long = `<13>${'y'.repeat(9000)}`;
    const sent = await addon.send(sock, [
      '<13>first',
      '<13>bad\0line',
      42,
      long,
      `<13>${'é'.repeat(1900)}`,
      '<13>last',
    ]);
    assert.equal(sent, 3);
    while (out.split('\n').length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    received = out.split('\n').filter((l) => l.startsWith('b'));
    assert.equal(received.length, 3, out);
    assert.equal(received[0], "b'<13>first'");
    assert.ok(received[1].length > 1900 * 4, 'the 3800-byte UTF-8 line went out whole');
    assert.equal(received[2], "b'<13>last'");
  });
});

describe('tsftpd_crypt', () => {
  let addon: CryptAddon;
  before(async () => {
    addon = await loadAddon<CryptAddon>('tsftpd_crypt', 'build the addons');
  });

  it('a password or hash with a NUL byte never matches (no truncation to the part before it)', async () => {
    const setting = addon.gensalt('$6$', 0);
    assert.ok(setting !== null);
    const hash = await addon.crypt('pass', setting);
    assert.ok(hash !== null);
    assert.equal(await addon.verify('pass', hash), true);
    assert.equal(await addon.verify('pass\0word', hash), false);
    assert.equal(await addon.verify('pass', `${hash}\0junk`), false);
    assert.equal(await addon.crypt('pass\0word', setting), null);
    assert.equal(await addon.verify(42, hash), false);
    assert.equal(await addon.verify('x'.repeat(5000), hash), false);
  });

  it('gensalt refuses a prefix or rounds it cannot use instead of picking the default scheme', () => {
    assert.throws(() => addon.gensalt(42, 0), TypeError);
    assert.throws(() => addon.gensalt('$6$\0', 0), TypeError);
    assert.throws(() => addon.gensalt('$6$', 2.5), TypeError);
    assert.throws(() => addon.gensalt('$6$', -1), RangeError);
    assert.throws(() => addon.gensalt(), TypeError);
    assert.match(addon.gensalt('$6$') ?? '', /^\$6\$/);
  });

  it('sodiumHash refuses non-integer limits (when built with libsodium)', async (t) => {
    if (addon.sodiumHash === undefined) return t.skip('the addon was built without libsodium');
    assert.throws(() => addon.sodiumHash!('pw', '', NaN, 1 << 20), TypeError);
    assert.throws(() => addon.sodiumHash!('pw', '', 1, 1.5), TypeError);
    assert.throws(() => addon.sodiumHash!('pw', '', 0, 1 << 20), RangeError);
    assert.throws(() => addon.sodiumHash!('pw', ''), TypeError);
  });
});

describe('tsftpd_pam', () => {
  let addon: PamAddon | undefined;
  before(async () => {
    addon = await loadAddon<PamAddon>('tsftpd_pam', 'install libpam0g-dev').catch(() => undefined);
  });

  it('refuses arguments it cannot pass to PAM whole, naming the argument', (t) => {
    if (addon === undefined) return t.skip('the PAM addon is not built here (no libpam headers)');
    const pam = addon;
    const refused = (args: unknown[], type: typeof TypeError | typeof RangeError, name: string): void => {
      assert.throws(
        () => pam.authenticate(...(args as [unknown, unknown, unknown, unknown])),
        (e: unknown) => e instanceof type && e.message.startsWith(name),
        `${name}: ${JSON.stringify(args)}`,
      );
    };
    refused(['pure-ftpd', 'jo\0e', 'pw', '127.0.0.1'], TypeError, 'login');
    refused(['pure-ftpd', 'joe', 'p\0w', '127.0.0.1'], TypeError, 'password');
    refused(['pure-ftpd', 'joe', 'pw', 42], TypeError, 'rhost');
    refused(['pure-ftpd', 'x'.repeat(300), 'pw', '127.0.0.1'], RangeError, 'login');
    refused(['pure\0ftpd', 'joe', 'pw', '127.0.0.1'], TypeError, 'service');
    assert.throws(() => pam.authenticate('pure-ftpd', 'joe', 'pw', undefined), TypeError);
  });
});
