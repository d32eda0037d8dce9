/**
 * Loopback ceiling helper, run as its own process: a plain Node TCP server on 127.0.0.1 that streams
 * a file to every client with 1 MiB reads, so FTP throughput can be read as a fraction of what one
 * Node process can push through loopback on this machine. Usage: push-server.js FILE PORT
 */
import { createReadStream } from 'node:fs';
import net from 'node:net';

const [file, port] = process.argv.slice(2);
if (file === undefined || port === undefined) {
  process.stderr.write('usage: push-server.js FILE PORT\n');
  process.exit(2);
}
const server = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  createReadStream(file, { highWaterMark: 1 << 20 }).pipe(socket);
});
server.listen({ host: '127.0.0.1', port: Number(port) });
process.on('SIGTERM', () => process.exit(0));
