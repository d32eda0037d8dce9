/**
 * Syslog output (-f facility, -1 for the PID; upstream §9.1): RFC 3164 datagrams to the local syslog
 * socket (/dev/log, or --syslog-socket), sent by the tsftpd_syslog addon on the thread pool — Node
 * has no UNIX datagram sockets. The body is Pure-FTPd's `(<account>@<host>) [LEVEL] text`, so
 * existing log watchers (fail2ban's pure-ftpd filter with `_daemon = tsftpd`) keep working.
 * A missing addon or socket loses log lines, never the server; the loss is reported once on stderr.
 */
import { loadAddon } from '../native-addons.js';
import type { LogLevel, LogSink, SessionRef } from './bus.js';

/** Where and how to send syslog records. */
export interface SyslogOptions {
  facility: string;
  /** The program name in each record. */
  ident: string;
  /** -1: add [pid] after the ident. */
  logPid: boolean;
  socketPath: string;
  /** Where the one "cannot send to syslog" warning goes (default stderr; inetd: nowhere, stderr is the client). */
  warn?: (line: string) => void;
  /**
   * Who sends the formatted records (default: this process, to the socket). A session worker hands
   * them to its parent, which may reach a socket the worker's user may not.
   */
  deliver?: (records: string[]) => void;
}

interface SyslogAddon {
  send(path: string, lines: string[]): Promise<number>;
}

/** Facility codes of syslog(3) (`security` is the old name of `auth`). */
const FACILITIES: Record<string, number> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  security: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  mark: 24,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const SEVERITIES: Record<LogLevel, number> = { ERROR: 3, WARNING: 4, NOTICE: 5, INFO: 6, DEBUG: 7 };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Longest record body kept (at most ~5.8 KB of UTF-8: the addon refuses records over 8 KiB). */
const MAX_MESSAGE = 1900;

/** The facility code of a name, or undefined. */
export function facilityCode(name: string): number | undefined {
  return FACILITIES[name.toLowerCase()];
}

/** RFC 3164 timestamp: `Mmm dd hh:mm:ss`, local time, day padded with a space. */
function timestamp(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** One RFC 3164 record. */
export function syslogRecord(opts: SyslogOptions, level: LogLevel, body: string, now = new Date()): string {
  const pri = (facilityCode(opts.facility) ?? 11) * 8 + SEVERITIES[level];
  const tag = opts.logPid ? `${opts.ident}[${process.pid}]` : opts.ident;
  // eslint-disable-next-line no-control-regex
  const text = body.replace(/[\x00-\x1f\x7f]/g, '_').slice(0, MAX_MESSAGE);
  return `<${pri}>${timestamp(now)} ${tag}: ${text}`;
}

/** Sends formatted records to the syslog socket (a loss is reported once). */
export function syslogSender(opts: Pick<SyslogOptions, 'socketPath' | 'warn'>): (records: string[]) => void {
  const addon = loadAddon<SyslogAddon>('tsftpd_syslog', 'run "npm install"').catch((err: unknown) => {
    process.stderr.write(`tsftpd: syslog unavailable (${(err as Error).message}); log lines are lost\n`);
    return undefined;
  });
  let warned = false;
  return (lines) => {
    void addon.then(async (a) => {
      if (a === undefined) return;
      let sent = 0;
      try {
        sent = await a.send(opts.socketPath, lines);
      } catch {
        // The addon refuses a socket path it cannot use whole (too long, NUL byte): lines are lost.
      }
      if (sent < lines.length && !warned) {
        warned = true;
        (opts.warn ?? ((line: string) => process.stderr.write(line)))(
          `tsftpd: cannot send to syslog at ${opts.socketPath}; some log lines are lost\n`,
        );
      }
    });
  };
}

/** A log sink that sends records to syslog once per event-loop turn. */
export function syslogSink(opts: SyslogOptions): LogSink {
  const deliver = opts.deliver ?? syslogSender(opts);
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const lines = pending;
    pending = [];
    deliver(lines);
  };
  return {
    flush,
    write(level: LogLevel, session: SessionRef | undefined, message: string) {
      if (pending.length === 0) setImmediate(flush);
      const prefix = session === undefined ? '' : `(${session.account ?? '?'}@${session.remoteIp}) `;
      pending.push(syslogRecord(opts, level, `${prefix}[${level}] ${message}`));
      if (pending.length >= 1024) flush();
    },
  };
}
