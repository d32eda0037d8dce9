/**
 * The listening sockets of -S (and the implicit-TLS ones): bound the same way by a single-process
 * server and by the parent of session workers (which accepts without reading: pauseOnConnect, so
 * nothing a client sends is read before the worker that serves it has the socket).
 */
import net from 'node:net';
import type { Config } from '../config/types.js';

/** Binds every listener -S/-4/-6 and --implicit-tls ask for, in that order; closes them all on failure. */
export async function bindListeners(
  config: Readonly<Config>,
  pauseOnConnect: boolean,
  onConnection: (socket: net.Socket, implicitTls: boolean) => void,
): Promise<net.Server[]> {
  const wanted = [
    { host: config.bind.host, port: config.bind.port, implicitTls: false },
    ...config.implicitTls.map((e) => ({ host: e.host, port: e.port, implicitTls: true })),
  ];
  const servers: net.Server[] = [];
  try {
    for (const w of wanted) {
      const host = w.host ?? (config.ipv4Only ? '0.0.0.0' : '::');
      const server = net.createServer({ noDelay: true, pauseOnConnect }, (socket) =>
        onConnection(socket, w.implicitTls),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: w.port, ipv6Only: config.ipv6Only, backlog: 511 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return servers;
}
