/**
 * Per-test resources (servers, sockets, clients) released when the test ends, in reverse order of
 * creation, so that a failing assertion never leaks a server or a socket into the next test. What
 * was made after a server is released before it, so the server's leak check (leaks.ts) sees the
 * test's own clients closed; a leak it finds fails the test.
 */
import type net from 'node:net';
import type { TestContext } from 'node:test';
import { LeakError } from './leaks.js';
import { startServer, type TestServer, type TestServerOptions } from './server.js';

/** The resources of one test; test files extend it with their own kinds of connection. */
export class TestScope {
  private readonly cleanups: (() => unknown)[] = [];

  constructor(t: TestContext) {
    t.after(async () => {
      const leaks: LeakError[] = [];
      for (const fn of this.cleanups.reverse()) {
        // An async wrapper, so that a cleanup throwing synchronously cannot skip the ones after it.
        await (async () => fn())().catch((err: unknown) => {
          if (err instanceof LeakError) leaks.push(err);
        });
      }
      if (leaks.length > 0) throw leaks[0];
    });
  }

  /** Runs `fn` when the test ends; its errors are ignored, except a leak found by a server's close(). */
  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  /** A test server, closed at the end. */
  async server(opts: TestServerOptions = {}): Promise<TestServer> {
    const srv = await startServer(opts);
    this.defer(() => srv.close());
    return srv;
  }

  /** Destroys `s` at the end. */
  socket(s: net.Socket): net.Socket {
    this.defer(() => s.destroy());
    return s;
  }
}
