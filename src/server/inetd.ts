/**
 * inetd-style start-up (a connected TCP socket on standard input, as inetd, xinetd, tcpserver and
 * systemd `Accept=yes` start Pure-FTPd, upstream §1.1) is not supported yet. Guarantee: such a start never
 * becomes a daemon on port 21 and never writes anything to the client but one FTP reply, `421`
 * (RFC 959 §4.2: service not available, closing control connection); the reason goes to standard
 * error when that is not the same socket, and the exit status is not 0.
 * Only a TCP socket counts: Node and other supervisors give their children UNIX socket pairs as
 * pipes, and those must keep working.
 */
import { fstatSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { Code } from '../session/codes.js';
import { formatReply, reply } from '../session/reply.js';

/** The reply the client gets (one line, CRLF). */
export const INETD_REPLY = formatReply(
  reply(
    Code.SERVICE_UNAVAILABLE,
    'This server cannot be started by inetd yet: run tsftpd as a standalone server',
  ),
);

/** The explanation on standard error. */
export const INETD_MESSAGE = [
  'tsftpd: standard input is a network connection (started by inetd, xinetd, tcpserver or systemd',
  'Accept=yes?): inetd mode is not supported yet, and the client was told 421. Run tsftpd as a',
  'standalone server instead, for example "tsftpd -S 21 -B" or a systemd service running "tsftpd -S 21".',
  '',
].join('\n');

/** The socket inode behind a descriptor (`socket:[1234]` in /proc), or undefined. */
function socketInode(fd: number): string | undefined {
  try {
    if (!fstatSync(fd).isSocket()) return undefined;
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  } catch {
    return undefined; // closed descriptor, or no /proc: behave as before
  }
}

/** True when the socket inode is a TCP socket of this network namespace (/proc/net/tcp, tcp6). */
function isTcpInode(inode: string): boolean {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    // Columns: sl local rem st queues tr/tm retrnsmt uid timeout inode ...
    for (const line of text.split('\n').slice(1)) {
      if (line.trim().split(/\s+/)[9] === inode) return true;
    }
  }
  return false;
}

/** True when standard input (or `fd`) is a TCP connection: the way inetd starts a server. */
export function isInetdStart(fd = 0): boolean {
  const inode = socketInode(fd);
  return inode !== undefined && isTcpInode(inode);
}

/** Answers the client 421 on standard input and explains on standard error; returns the exit status. */
export function refuseInetd(): number {
  try {
    writeSync(0, INETD_REPLY);
  } catch {
    // The client may be gone already; the refusal stands.
  }
  // Under inetd, standard error is the client's socket too: the 421 line is all it gets.
  if (socketInode(2) !== socketInode(0)) {
    try {
      writeSync(2, INETD_MESSAGE);
    } catch {
      // Nowhere to say it.
    }
  }
  return 1;
}
