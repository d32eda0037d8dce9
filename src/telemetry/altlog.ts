/**
 * Transfer logs in Pure-FTPd's alternative formats (`-O [format:]/path`, upstream §9.2): clf, stats,
 * w3c and xferlog, one line per file transfer (a partial one too, with the bytes actually moved),
 * the same fields, quoting and time zones as Pure-FTPd's, so webalizer, GoAccess, pure-statsdecode
 * and xferlog readers take them unchanged.
 *
 * Lines are built where the transfer ran (a session worker) and written by the process that
 * opened the file (the parent when started as root: it may open /var/log, the workers may not),
 * each with one append write of a whole line, so lines of different processes never interleave.
 * The file is opened O_APPEND | O_NOFOLLOW, created 0600, and opened again on SIGHUP and SIGUSR1
 * (logrotate's `postrotate`); with `copytruncate` the appends simply continue at the new end.
 */
import { closeSync, constants as C, fstatSync, openSync, writeSync } from 'node:fs';
import { nameToBytes } from '../storage/name-bytes.js';
import type { EventBus } from './bus.js';

/** The four formats. */
export const ALTLOG_FORMATS = ['clf', 'stats', 'w3c', 'xferlog'] as const;
export type AltLogFormat = (typeof ALTLOG_FORMATS)[number];

/** `-O` parsed: a format and an absolute path. */
export interface AltLogSpec {
  format: AltLogFormat;
  file: string;
}

/** Longest path accepted for the log file. */
const MAX_PATH = 4096;

/** Parses `[format:]/abs/path` (no format: clf), as Pure-FTPd does; throws a message on bad input. */
export function parseAltLog(value: string): AltLogSpec {
  let format: AltLogFormat = 'clf';
  let file = value;
  const colon = value.indexOf(':');
  if (colon > 0 && !value.startsWith('/')) {
    const name = value.slice(0, colon).toLowerCase();
    if (!(ALTLOG_FORMATS as readonly string[]).includes(name)) {
      throw new Error(`unknown log format "${value.slice(0, colon)}" (clf, stats, w3c or xferlog)`);
    }
    format = name as AltLogFormat;
    file = value.slice(colon + 1);
  }
  if (!file.startsWith('/')) throw new Error('the log file must be an absolute path (starting with /)');
  if (file.length > MAX_PATH || file.includes('\0')) throw new Error('the log file path is not valid');
  return { format, file };
}

/** One finished file transfer, as the logs need it. */
export interface TransferRecord {
  /** When it ended. */
  time: Date;
  /** Client address (tsftpd never resolves names, as with -H). */
  host: string;
  /** Account name (`ftp` for anonymous), empty when unknown. */
  user: string;
  upload: boolean;
  /** The real path of the file (a name's raw bytes are kept). */
  path: string;
  bytes: number;
  seconds: number;
  /** TYPE A (ASCII) rather than binary. */
  ascii: boolean;
  /** When the session started, and the process that served it (the stats format's session id). */
  sessionStart: Date;
  pid: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Bytes kept as they are by the URL encoding of the clf and w3c formats. */
function plain(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x30 && b <= 0x39) ||
    b === 0x2e ||
    b === 0x2f ||
    b === 0x5f ||
    b === 0x2d
  );
}

/** `%XX` (upper-case hex) for every byte but letters, digits and `./_-`. */
export function urlEncode(path: string): string {
  let out = '';
  for (const b of nameToBytes(path)) {
    out += plain(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The path with white space and control bytes as `_` (xferlog fields are space-separated). */
function xferlogPath(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return path.replace(/[\s\x00-\x1f\x7f]/g, '_');
}

/** The path for the stats format: raw, but a line break could forge a line, so control bytes go. */
function statsPath(path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return path.replace(/[\x00-\x1f\x7f]/g, '_');
}

/** `[DD/Mon/YYYY:HH:MM:SS -HHMM]`'s date: local time, with Pure-FTPd's inverted offset sign. */
function clfDate(t: Date): string {
  // getTimezoneOffset() is UTC minus local, the value Pure-FTPd prints: "-0000" on UTC, "-0100" at UTC+1.
  const diff = t.getTimezoneOffset();
  const sign = diff > 0 ? '+' : '-';
  const abs = Math.abs(diff);
  return (
    `${pad(t.getDate())}/${MONTHS[t.getMonth()]}/${t.getFullYear()}:` +
    `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
function utcStamp(t: Date): string {
  return (
    `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ` +
    `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`
  );
}

/** One log line (with its newline) in `format`. */
export function formatTransfer(format: AltLogFormat, r: TransferRecord): string {
  const host = r.host === '' ? '-' : r.host;
  const user = r.user === '' ? '-' : r.user;
  const bytes = Math.max(0, Math.trunc(r.bytes));
  const seconds = Math.max(0, Math.floor(r.seconds + 0.5));
  switch (format) {
    case 'clf':
      return `${host} - ${user} [${clfDate(r.time)}] "${r.upload ? 'PUT' : 'GET'} ${urlEncode(r.path)}" 200 ${bytes}\n`;
    case 'stats': {
      const now = Math.floor(r.time.getTime() / 1000);
      const start = Math.floor(r.sessionStart.getTime() / 1000).toString(16);
      return `${now} ${start}.${r.pid.toString(16)} ${user} ${host} ${r.upload ? 'U' : 'D'} ${bytes} ${seconds} ${statsPath(r.path)}\n`;
    }
    case 'w3c':
      return `${utcStamp(r.time)} ${host} []${r.upload ? 'created' : 'sent'} ${urlEncode(r.path)} 226 ${r.user} ${bytes}\n`;
    case 'xferlog': {
      const t = r.time;
      const date =
        `${DAYS[t.getDay()]} ${MONTHS[t.getMonth()]} ${pad(t.getDate())} ` +
        `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())} ${t.getFullYear()}`;
      return (
        `${date} ${seconds} ${host} ${bytes} ${xferlogPath(r.path)} ${r.ascii ? 'a' : 'b'} _ ` +
        `${r.upload ? 'i' : 'o'} r ${user} ftp 1 * c\n`
      );
    }
  }
}

/** The header a w3c log starts with (written only into a new, empty file). */
export function w3cHeader(now: Date): string {
  return (
    '#Software: tsftpd\n#Version: 1.0\n' +
    `#Date: ${utcStamp(now)}\n` +
    '#Fields: date time c-ip cs-method cs-uri-stem sc-status cs-username sc-bytes\n'
  );
}

/** Longest line written (a path is at most 4096 bytes, URL-encoding triples it). */
const MAX_LINE = 16 * 1024;

/** The open log file: appends whole lines, opens again on reopen(). */
export class AltLogFile {
  private fd: number | undefined;

  /** Opens (and creates) the file now; throws what open(2) said. */
  constructor(
    readonly spec: AltLogSpec,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.fd = this.openFile();
  }

  private openFile(): number {
    const fd = openSync(
      this.spec.file,
      // libuv adds O_CLOEXEC itself.
      C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NOFOLLOW,
      0o600,
    );
    try {
      if (!fstatSync(fd).isFile()) throw new Error(`${this.spec.file} is not a regular file`);
      // A w3c log gets its header when it is new (empty), as Pure-FTPd writes it.
      if (this.spec.format === 'w3c' && fstatSync(fd).size === 0) writeSync(fd, w3cHeader(new Date()));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  /** Appends lines, each with one write(2) (O_APPEND: lines of several writers never mix). */
  write(lines: readonly string[]): void {
    if (this.fd === undefined) return;
    for (const line of lines) {
      if (line.length === 0 || line.length > MAX_LINE || !line.endsWith('\n')) continue;
      try {
        writeSync(this.fd, line);
      } catch (err) {
        this.warn(`cannot write the transfer log ${this.spec.file}: ${(err as Error).message}`);
        return;
      }
    }
  }

  /** Opens the file again (after logrotate moved it); keeps the old descriptor if that fails. */
  reopen(): void {
    let fd: number;
    try {
      fd = this.openFile();
    } catch (err) {
      this.warn(`cannot reopen the transfer log ${this.spec.file}: ${(err as Error).message}`);
      return;
    }
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = fd;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Most sessions whose start time is remembered (one entry per live session of this process). */
const MAX_TRACKED = 200_000;

/**
 * Turns this process's finished file transfers (not listings) into `format` lines for `sink`: the
 * file itself, or the parent that writes it. Returns what stops it.
 */
export function attachTransferLog(
  bus: EventBus,
  format: AltLogFormat,
  sink: (lines: string[]) => void,
): () => void {
  const started = new Map<number, Date>();
  const offs = [
    bus.on('connect', ({ session }) => {
      if (started.size < MAX_TRACKED) started.set(session.id, new Date());
    }),
    bus.on('disconnect', ({ session }) => void started.delete(session.id)),
    bus.on('transfer-end', (e) => {
      if (e.listing) return;
      const time = new Date();
      sink([
        formatTransfer(format, {
          time,
          host: e.session.remoteIp.replace(/^::ffff:/, ''),
          user: e.session.account ?? '',
          upload: e.direction === 'upload',
          path: e.realPath,
          bytes: e.bytes,
          seconds: e.seconds,
          ascii: e.ascii,
          sessionStart: started.get(e.session.id) ?? time,
          pid: process.pid,
        }),
      ]);
    }),
  ];
  return () => offs.forEach((off) => off());
}
