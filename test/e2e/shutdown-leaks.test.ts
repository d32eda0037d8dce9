/**
 * Connections that are not sessions must not outlive FtpServer.close() (found by the leak check of
 * the test servers): a connection refused at the -c or -C limit used to stay open as long as its
 * client kept it (close() waited for it, so tsftpd ignored SIGTERM meanwhile), and an implicit-TLS
 * connection still in its handshake until the 30 s handshake timeout.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { describeSockets } from '../helpers/leaks.js';
import { RawFtp } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';
import { makePki } from '../helpers/tls.js';

/** Resolves with true when `p` settles within `ms`, false otherwise (p keeps running). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The server's side of the connections to `port` that are still open. */
function serverSide(port: number): string[] {
  return describeSockets().filter((d) => d.startsWith(`socket 127.0.0.1:${port} `));
}

/** A client that reads what the server sends but never closes its side (allowHalfOpen). */
async function stubbornClient(port: number): Promise<{ socket: net.Socket; text: () => string }> {
  let text = '';
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, text: () => text };
}

async function until(fn: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('FtpServer.close() ends every connection it accepted', () => {
  for (const limit of ['-c', '-C'] as const) {
    it(`a connection refused at the ${limit} limit and kept open by its client`, async () => {
      const srv = await startServer({ args: [limit, '1'], leakCheck: false });
      const { ftp } = await RawFtp.connect(srv.port);
      const refused = await stubbornClient(srv.port);
      let closing: Promise<void> | undefined;
      try {
        await until(() => refused.text().includes('\r\n'), 5000);
        assert.match(refused.text(), /^421 /);
        closing = srv.close();
        assert.ok(
          await within(closing, 2000),
          'close() resolves while a refused client keeps its connection',
        );
        assert.deepEqual(serverSide(srv.port), []);
      } finally {
        refused.socket.destroy();
        ftp.close();
        await (closing ?? srv.close());
      }
    });
  }

  it('an implicit-TLS connection still in its handshake', async () => {
    const pki = await makePki();
    const srv = await startServer({
      args: ['-Y', '1', '-2', pki.server, '--implicit-tls', '127.0.0.1,0'],
      leakCheck: false,
    });
    const implicitPort = srv.ports[1];
    const silent = net.connect({ port: implicitPort, host: '127.0.0.1' });
    silent.on('error', () => undefined);
    let closing: Promise<void> | undefined;
    try {
      await new Promise((resolve) => silent.once('connect', resolve));
      await until(() => serverSide(implicitPort).length === 1, 2000);
      closing = srv.close();
      assert.ok(await within(closing, 2000), 'close() resolves while a TLS handshake is in progress');
      assert.deepEqual(serverSide(implicitPort), []);
    } finally {
      silent.destroy();
      await (closing ?? srv.close());
      await pki.close();
    }
  });
});
