/**
 * The operator log: Pure-FTPd's line shape `(<account|?>@<host>) [LEVEL] text` (upstream §9.1), written
 * to stderr (text, or one JSON object per line with `--log-format json`) or to syslog (-f). Passwords
 * never reach it: the session logs `PASS <*>` (upstream §9.1 DEBUG) and events carry no credentials.
 * Lines are gathered and written once per event-loop turn (bounded), so a burst of 10,000
 * disconnects costs one write, not 10,000.
 */
import type { Writable } from 'node:stream';
import type { EventBus, LogSink, SessionRef } from './bus.js';
import { syslogSink, type SyslogOptions } from './syslog.js';

/** Options of the logger. */
export interface LoggerOptions {
  format: 'text' | 'json';
  /** -d: 0 none, 1 commands, 2 commands and replies. */
  verbose: number;
  /** Where text/json lines go (default stderr); ignored when `syslog` is set. */
  out?: Writable;
  /** -f: log to syslog instead of stderr. */
  syslog?: SyslogOptions;
}

/** The `(account@host) ` prefix of Pure-FTPd's lines (upstream §9.1). */
export function who(s: SessionRef | undefined): string {
  if (s === undefined) return '';
  return `(${s.account ?? '?'}@${s.remoteIp}) `;
}

/** Log text gathered before a write is forced. */
const LOG_BUFFER_BYTES = 64 * 1024;

/** Text or JSON lines on a stream, written once per event-loop turn. */
function streamSink(out: Writable, format: 'text' | 'json'): LogSink {
  let pending: string[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    pendingBytes = 0;
    out.write(text);
  };
  const emit = (line: string): void => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(line);
    pendingBytes += line.length;
    if (pendingBytes >= LOG_BUFFER_BYTES) flush();
  };
  return {
    flush,
    write(level, session, message, fields) {
      if (format === 'json') {
        const rec: Record<string, unknown> = { time: new Date().toISOString(), level, event: 'log' };
        if (session) {
          rec.session = session.id;
          rec.ip = session.remoteIp;
          rec.port = session.remotePort;
          if (session.account !== undefined) rec.account = session.account;
        }
        Object.assign(rec, fields, { message });
        emit(JSON.stringify(rec) + '\n');
      } else {
        emit(`${new Date().toISOString()} tsftpd: ${who(session)}[${level}] ${message}\n`);
      }
    },
  };
}

/** Subscribes a logger to the bus; returns the unsubscribe function. */
export function attachLogger(bus: EventBus, opts: LoggerOptions): () => void {
  const sink = opts.syslog ? syslogSink(opts.syslog) : streamSink(opts.out ?? process.stderr, opts.format);
  const write = sink.write.bind(sink);
  const offs = [
    bus.on('log', (e) => write(e.level, e.session, e.message)),
    bus.on('connect', (e) =>
      write('INFO', e.session, `New connection from ${e.session.remoteIp}`, {
        event: 'connect',
        local: `${e.session.localIp}:${e.session.localPort}`,
      }),
    ),
    bus.on('disconnect', (e) =>
      write('INFO', e.session, e.reason === '' ? 'Logout.' : e.reason, {
        event: 'disconnect',
        reason: e.reason === '' ? 'logout' : e.reason,
      }),
    ),
    bus.on('login', (e) =>
      write(
        'INFO',
        e.session,
        !e.anonymous
          ? `${e.account} is now logged in`
          : e.vhost === undefined
            ? 'Anonymous user logged in'
            : `Anonymous user logged in the virtual FTP: ${e.vhost}`,
        {
          event: 'login',
          result: 'ok',
          account: e.account,
          anonymous: e.anonymous,
          backend: e.backend,
          ...(e.vhost === undefined ? {} : { vhost: e.vhost }),
        },
      ),
    ),
    bus.on('login-failed', (e) => {
      // Pure-FTPd's exact line (fail2ban's pure-ftpd filter anchors it at the end of the line), then
      // why, on a line of its own.
      write('WARNING', e.session, `Authentication failed for user [${e.login}]`, {
        event: 'login',
        result: 'failed',
        login: e.login,
        reason: e.reason,
      });
      if (e.reason !== '')
        write('INFO', e.session, `Login of [${e.login}] refused: ${e.reason}`, { event: 'log' });
    }),
    bus.on('transfer-end', (e) => {
      if (e.listing) return; // Pure-FTPd logs file transfers only
      const rate = e.seconds > 0 ? (e.bytes / 1024 / e.seconds).toFixed(2) : '0.00';
      const verb = e.direction === 'upload' ? 'uploaded' : 'downloaded';
      const status = e.ok ? '' : ' [aborted]';
      write('NOTICE', e.session, `${e.realPath} ${verb}  (${e.bytes} bytes, ${rate}KB/sec)${status}`, {
        event: 'transfer',
        direction: e.direction,
        path: e.realPath,
        bytes: e.bytes,
        duration: Math.round(e.seconds * 1000) / 1000,
        result: e.ok ? 'ok' : 'aborted',
        type: e.ascii ? 'ascii' : 'binary',
      });
    }),
  ];
  if (opts.verbose >= 1) {
    offs.push(
      bus.on('command', (e) =>
        write(
          'DEBUG',
          e.session,
          `Command [${e.verb.toLowerCase()}] [${e.verb === 'PASS' ? '<*>' : e.arg}]`,
          {
            event: 'command',
            verb: e.verb,
          },
        ),
      ),
    );
  }
  if (opts.verbose >= 2) {
    offs.push(bus.on('reply', (e) => write('DEBUG', e.session, e.line, { event: 'reply' })));
  }
  return () => {
    offs.forEach((off) => off());
    sink.flush();
  };
}
