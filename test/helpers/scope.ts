/**
 * Per-test resources (servers, sockets, clients) released when the test ends, in reverse order of
 * creation, so that a failing assertion never leaks a server or a socket into the next test.
 */
import type net from 'node:net';
import type { TestContext } from 'node:test';
import { startServer, type TestServer, type TestServerOptions } from './server.js';

/** The resources of one test; test files extend it with their own kinds of connection. */
export class TestScope {
  private readonly cleanups: (() => unknown)[] = [];

  constructor(t: TestContext) {
    t.after(async () => {
      for (const fn of this.cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    });
  }

  /** Runs `fn` when the test ends; its errors are ignored. */
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
