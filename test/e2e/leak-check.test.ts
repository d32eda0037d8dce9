/**
 * The leak check of the test servers (test/helpers/leaks.ts, run by close()) catches what a server
 * scope leaves behind: a listener, a socket, a file descriptor, a timer, and the server's own passive
 * listener or untaken data connection when their close is broken (simulated by patching
 * PassiveListener.close for one test). A clean session passes; overlapping servers are checked when
 * the last one closes; an opted-out server turns the check off for its group.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { PassiveListener } from '../../src/data/passive.js';
import { LeakError, excess, snapshot } from '../helpers/leaks.js';
import { RawFtp } from '../helpers/raw.js';
import { TestScope } from '../helpers/scope.js';
import { startServer } from '../helpers/server.js';

/** A short settle period: these tests leak on purpose, and the default 2 s would only slow them. */
const QUICK = { settleMs: 300 };

function listen(): Promise<net.Server> {
  const s = net.createServer();
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

function connect(port: number): Promise<net.Socket> {
  const c = net.connect(port, '127.0.0.1');
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

function closeServer(s: net.Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** A rejection by the leak check whose message matches every pattern. */
function leakMatching(...patterns: RegExp[]): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof LeakError, String(err));
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

/** Waits until the process holds no more than `base` (what a leak test leaked is closed again). */
async function settled(base: ReturnType<typeof snapshot>): Promise<void> {
  for (let i = 0; i < 100 && excess(base, snapshot()).length > 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(excess(base, snapshot()), [], 'the leak test cleaned up after itself');
}

describe('leak check after a server scope', () => {
  it('a whole session (login, listing, upload, download, QUIT) leaves nothing behind', async () => {
    const srv = await startServer();
    const { ftp } = await RawFtp.connect(srv.port);
    try {
      await ftp.login('joe', 'secret');
      const up = await ftp.data('STOR a.txt', 'hello');
      assert.equal(up.final?.code, 226);
      const down = await ftp.data('RETR a.txt');
      assert.equal(down.data.toString(), 'hello');
      const list = await ftp.data('LIST');
      assert.equal(list.final?.code, 226);
      assert.equal((await ftp.cmd('PASV')).code, 227); // a passive listener left for QUIT to close
      assert.equal((await ftp.cmd('QUIT')).code, 221);
      await ftp.waitClosed();
    } finally {
      ftp.close();
    }
    await srv.close();
  });

  it('a session still open at close() is ended by the server and leaves nothing behind', async () => {
    const srv = await startServer();
    const { ftp } = await RawFtp.connect(srv.port);
    await ftp.login('joe', 'secret');
    await ftp.cmd('EPSV');
    await srv.close(); // the server ends the session; the client's socket closes on the FIN
    assert.ok(ftp.closed);
  });

  it('catches a listener left open (TCPServerWrap) and says which', async () => {
    const base = snapshot();
    const srv = await startServer({ leakCheck: QUICK });
    const leaked = await listen();
    const port = (leaked.address() as net.AddressInfo).port;
    await assert.rejects(
      srv.close(),
      leakMatching(/TCPServerWrap \+1/, new RegExp(`listener 127\\.0\\.0\\.1:${port}`)),
    );
    await closeServer(leaked);
    await settled(base);
  });

  it('catches a connection left open (TCPSocketWrap, socket fds)', async () => {
    const base = snapshot();
    const srv = await startServer({ leakCheck: QUICK });
    const listener = await listen();
    const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
    const client = await connect((listener.address() as net.AddressInfo).port);
    const server = await accepted;
    listener.close(); // stops listening now (its callback would wait for the pair): only the pair leaks
    await assert.rejects(srv.close(), leakMatching(/TCPSocketWrap \+2/, /file descriptors \+2 .*socket:\[/));
    client.destroy();
    server.destroy();
    await settled(base);
  });

  it('catches a file descriptor left open, with its path', async () => {
    const base = snapshot();
    const srv = await startServer({ leakCheck: QUICK });
    const fd = openSync('/dev/null', 'r');
    await assert.rejects(srv.close(), leakMatching(/file descriptors \+1 \(new: \d+ → \/dev\/null\)/));
    closeSync(fd);
    await settled(base);
  });

  it('catches a timer left running (Timeout), not an unref()ed one', async () => {
    const base = snapshot();
    const srv = await startServer({ leakCheck: QUICK });
    const ticking = setInterval(() => undefined, 1000);
    const background = setInterval(() => undefined, 1000);
    background.unref(); // does not keep the process alive: not a leak
    await assert.rejects(srv.close(), leakMatching(/^[^;]*Timeout \+1[^;]*$/));
    clearInterval(ticking);
    clearInterval(background);
    await settled(base);
  });

  it("catches the server's own passive listener when its close() is broken", async () => {
    const base = snapshot();
    const real = PassiveListener.prototype.close;
    const kept: PassiveListener[] = [];
    PassiveListener.prototype.close = function (this: PassiveListener) {
      kept.push(this); // a bug: the listener is forgotten, never closed
    };
    try {
      const srv = await startServer({ leakCheck: QUICK });
      const { ftp } = await RawFtp.connect(srv.port);
      await ftp.login('joe', 'secret');
      const r = await ftp.cmd('EPSV');
      const port = Number(/\|\|\|(\d+)\|/.exec(r.text)?.[1]);
      await ftp.cmd('QUIT');
      await ftp.waitClosed();
      ftp.close();
      await assert.rejects(
        srv.close(),
        leakMatching(/TCPServerWrap \+1/, new RegExp(`listener 127\\.0\\.0\\.1:${port}`)),
      );
      assert.equal(kept.length, 1);
    } finally {
      PassiveListener.prototype.close = real;
      for (const l of kept) l.close();
    }
    await settled(base);
  });

  it('catches a data connection nobody took when the server does not destroy it', async () => {
    const base = snapshot();
    const real = PassiveListener.prototype.close;
    const kept: PassiveListener[] = [];
    PassiveListener.prototype.close = function (this: PassiveListener) {
      // A bug: stops listening but keeps the accepted connection (it is paused: it never sees EOF).
      kept.push(this);
      (this as unknown as { server: net.Server }).server.close();
    };
    try {
      const srv = await startServer({ leakCheck: QUICK });
      const { ftp } = await RawFtp.connect(srv.port);
      await ftp.login('joe', 'secret');
      const data = await ftp.epsv();
      await new Promise((r) => setTimeout(r, 50)); // the server accepts it
      await ftp.cmd('QUIT');
      await ftp.waitClosed();
      ftp.close();
      data.destroy();
      await assert.rejects(srv.close(), leakMatching(/TCPSocketWrap \+1/, /socket 127\.0\.0\.1:\d+ ⇄/));
    } finally {
      PassiveListener.prototype.close = real;
      for (const l of kept) l.close();
    }
    await settled(base);
  });

  it('overlapping servers are checked when the last one closes', async () => {
    const base = snapshot();
    const a = await startServer({ leakCheck: QUICK });
    const b = await startServer({ leakCheck: QUICK });
    await a.close(); // b's listener is not a leak of a
    const leaked = await listen();
    await assert.rejects(b.close(), leakMatching(/TCPServerWrap \+1/));
    await closeServer(leaked);
    await settled(base);
  });

  it('a server with leakCheck: false turns the check off for its group; close() twice checks once', async () => {
    const base = snapshot();
    const a = await startServer({ leakCheck: QUICK });
    const b = await startServer({ leakCheck: false });
    const leaked = await listen();
    await b.close();
    await a.close();
    await a.close();
    await closeServer(leaked);
    // The next group is checked again.
    const c = await startServer({ leakCheck: QUICK });
    const again = await listen();
    await assert.rejects(c.close(), LeakError);
    await assert.rejects(c.close(), LeakError); // the same outcome, not a second check
    await closeServer(again);
    await settled(base);
  });

  it('TestScope fails the test on a leak, after running every cleanup', async () => {
    const base = snapshot();
    const hooks: (() => Promise<void>)[] = [];
    const fakeContext = { after: (fn: () => Promise<void>) => hooks.push(fn) } as unknown as TestContext;
    const scope = new TestScope(fakeContext);
    let cleanedBefore = false;
    scope.defer(() => {
      cleanedBefore = true; // made before the server: cleaned after it
    });
    await scope.server({ leakCheck: QUICK });
    const leaked = await listen();
    let cleanedAfter = false;
    scope.defer(() => {
      cleanedAfter = true; // made after the server: cleaned before it
      throw new Error('an ordinary cleanup error stays ignored');
    });
    assert.equal(hooks.length, 1);
    await assert.rejects(hooks[0](), leakMatching(/TCPServerWrap \+1/));
    assert.ok(cleanedBefore && cleanedAfter);
    await closeServer(leaked);
    await settled(base);
  });
});
