/**
 * Recognising an inetd-style start-up: a connected TCP socket on standard input, as inetd, xinetd,
 * tcpserver and systemd `Accept=yes` start Pure-FTPd (upstream §1.1). Such a start serves that one
 * connection (run.ts) and never becomes a daemon on port 21; when it cannot start, the client gets
 * one FTP reply, `421` (RFC 959 §4.2), the reason goes to standard error when that is not the same
 * socket, and the exit status is not 0.
 * Only a TCP socket counts: Node and other supervisors give their children UNIX socket pairs as
 * pipes, and those must keep working.
 */
import { fstatSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { Code } from '../session/codes.js';
import { formatReply, reply } from '../session/reply.js';

/** The reply the client gets when the server cannot start (one line, CRLF). */
export const INETD_REPLY = formatReply(
  reply(Code.SERVICE_UNAVAILABLE, 'Service not available: the server could not start, see its log'),
);

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

/** True when standard error is the client's connection too (inetd gives it 0, 1 and 2). */
export function stderrIsClient(): boolean {
  const inode = socketInode(2);
  return inode !== undefined && inode === socketInode(0);
}

/**
 * A start that failed under inetd: the client gets a 421, the reason goes to standard error unless
 * that is the client's connection too; returns the exit status.
 */
export function refuseInetd(reason: string): number {
  try {
    writeSync(0, INETD_REPLY);
  } catch {
    // The client may be gone already; the refusal stands.
  }
  if (!stderrIsClient()) {
    try {
      writeSync(2, `${reason}\n`);
    } catch {
      // Nowhere to say it.
    }
  }
  return 1;
}
