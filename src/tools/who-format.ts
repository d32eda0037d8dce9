/**
 * The session list as Debian's pure-ftpwho (Pure-FTPd 1.0.50) prints it, byte for byte for the same
 * sessions (upstream §7): the text table (default, `-v`), the `|`-separated shell lines (`-s`), the
 * XHTML page or table (`-w`, `-W`, CGI), XML (`-x`) and the Apple plist (`-p`), plus tsftpd's JSON.
 * Compared with the real pure-ftpwho in test/unit/who-format.test.ts.
 *
 * What pure-ftpwho does, and so what this does:
 * - The PID column holds the session's `id` (tsftpd serves many sessions per process).
 * - Times are whole clock seconds (`now` and the session's start each taken in whole seconds).
 * - Sizes count only for a download or an upload: other states show no size, speed or percentage.
 *   The total size is shown for downloads only; a REST offset larger than the current size counts as 0.
 * - Speed: bytes moved since the transfer started (without the REST offset) over its whole seconds,
 *   nothing until a whole second has passed; bytes/s in XML and plist, KB/s (1024) in shell and
 *   HTML, and `b/s`, `K/s`, `M/s`, `G/s` (each unit while below 1024) in the text table.
 * - Percentage of a download: current size (offset included) over total size, rounded half up, at
 *   most 100; the text table shows it only when more than 0 and once data has moved.
 * - Escaping: none in the text table (names are printed raw, control characters included; the
 *   columns are padded in bytes and never cut, except the host names: `->` keeps the first 39
 *   bytes, `<-` the first 33 and the port's first 5). Shell: `|` and `\` get a `\`, control
 *   characters (below 32, and 127) become `_`. XML, plist and HTML: `<`, `>`, `&` become entities,
 *   control characters `?`, quotes are left as they are (so a `"` in a name ends an XML attribute, as
 *   with pure-ftpwho); an escaped field stops before the entity that would pass 4127 bytes.
 * - The file name is what Pure-FTPd's scoreboard can hold: names of 1024 bytes or more show the 1024
 *   bytes that end one byte before the name's end (nothing for a name of exactly 1024 bytes).
 *
 * Strings are bytes: file names, accounts and host names carry their bytes as src/storage/name-bytes.ts
 * says (UTF-8, other bytes as U+DC80..U+DCFF), and so does the returned string: write it with
 * nameToBytes(). Internally, each byte is one char (latin1 "binary" strings), so that widths, cuts
 * and escapes count bytes as printf does.
 */
import { entryPercent, entrySpeed, type WhoEntry } from '../telemetry/who.js';
import { bytesToName, nameToBytes } from '../storage/name-bytes.js';

/** Which output: pure-ftpwho's default, `-v`, `-s`, `-w`, `-W`, `-x`, `-p`, or tsftpd's JSON. */
export type WhoMode = 'text' | 'verbose' | 'shell' | 'html' | 'html-table' | 'xml' | 'plist' | 'json';

export interface WhoFormatOptions {
  /** Milliseconds since the epoch, for the time and speed columns. */
  now: number;
  /** Host name to show for an IP (pure-ftpwho resolves addresses unless -n/-H); absent → the IP. */
  hostOf?: (ip: string) => string;
  /**
   * CGI: the HTML outputs start with `Content-Type: text/html` and a blank line. pure-ftpwho's `-c`/`-C`
   * is `html-table` with this; GATEWAY_INTERFACE in its environment is `html` with this.
   */
  cgi?: boolean;
}

/** One session as pure-ftpwho reads it from the scoreboard; strings are binary (one char per byte). */
interface Line {
  id: number;
  account: string;
  /** Whole seconds since the session started (0 when the clock went back). */
  since: number;
  /** Whole seconds since the transfer started (0 when idle or in its first second). */
  xferSince: number;
  state: string;
  file: string;
  host: string;
  localHost: string;
  localPort: string;
  /** REST offset (0 when larger than the current size). */
  restart: number;
  /** Size of the file being downloaded (0 for anything else). */
  total: number;
  /** Bytes of the file so far (0 unless downloading or uploading). */
  current: number;
}

/** pure-ftpwho's state names; LIST (a directory listing being sent) is tsftpd's. */
const STATE_NAMES: Record<WhoEntry['state'], string> = { IDLE: 'IDLE', DL: ' DL ', UL: ' UL ', LIST: 'LIST' };
/** Bytes pure-ftpwho's escape buffers hold (PATH_MAX + 32, less the final NUL). */
const ESCAPE_LIMIT = 4127;
/** Size of the scoreboard's file name field (Debian, amd64). */
const SCOREBOARD_NAME = 1024;
const RULE = '+------+---------+-------+------+-------------------------------------------+\n';

/** A string's bytes as a binary string, up to its first NUL (where a C string ends). */
function binary(s: string): string {
  const bytes = nameToBytes(s);
  const nul = bytes.indexOf(0);
  return bytes.toString('latin1', 0, nul < 0 ? bytes.length : nul);
}

/** The part of a file name (binary) that Pure-FTPd's scoreboard keeps: see the header. */
function scoreboardName(name: string): string {
  if (name.length < SCOREBOARD_NAME) return name;
  const start = name.length - SCOREBOARD_NAME - 1;
  // The byte before the name is the NUL that ended the command word: the stored name is empty.
  return start < 0 ? '' : name.slice(start, start + SCOREBOARD_NAME);
}

/** True for what pure-ftpwho counts as a control character: bytes below 32, and 127. */
function isControl(code: number): boolean {
  return code < 32 || code === 0x7f;
}

/** Seconds between two millisecond times, each taken in whole seconds as time_t would be. */
function wholeSeconds(from: number, to: number): number {
  return Math.floor(to / 1000) - Math.floor(from / 1000);
}

/** An entry as pure-ftpwho would read it from the scoreboard. */
function lineOf(e: WhoEntry, opts: WhoFormatOptions): Line {
  const host = (ip: string): string => binary(opts.hostOf !== undefined ? opts.hostOf(ip) : ip);
  const since = wholeSeconds(e.since, opts.now);
  const xferSince = e.transferStart > 0 ? wholeSeconds(e.transferStart, opts.now) : 0;
  return {
    id: e.id,
    account: binary(e.account),
    since: since > 0 ? since : 0,
    xferSince: xferSince > 0 ? xferSince : 0,
    state: STATE_NAMES[e.state] ?? 'ERR!',
    file: scoreboardName(binary(e.file)),
    host: host(e.remoteIp),
    localHost: host(e.localIp),
    localPort: String(e.localPort),
    restart: e.resume <= e.current ? e.resume : 0,
    total: e.state === 'DL' ? e.total : 0,
    current: e.state === 'DL' || e.state === 'UL' ? e.current : 0,
  };
}

/** Bytes per second of a transfer (0 when nothing moved or before its first whole second). */
function bandwidth(l: Line): number {
  return l.current > l.restart && l.xferSince > 0 ? Math.floor((l.current - l.restart) / l.xferSince) : 0;
}

/** Whole KB per second of a transfer, as the shell and HTML outputs show it. */
function kbPerSecond(l: Line): number {
  return l.current > l.restart && l.xferSince > 0
    ? Math.floor((l.current - l.restart) / (l.xferSince * 1024))
    : 0;
}

/** Percentage of a download (current over total, rounded half up, at most 100; 0 if unknown). */
function percentage(l: Line): number {
  if (l.current <= 0 || l.total <= 0) return 0;
  const total = BigInt(l.total);
  const rounded = Number((BigInt(l.current) * 200n + total) / (total * 2n));
  return Math.min(100, rounded);
}

/** Whole KB of a size. */
function kb(n: number): number {
  return Math.floor(n / 1024);
}

/** `HH:MM` of a number of seconds (hours may take more digits). */
function hoursMinutes(s: number): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}`;
}

/** XML, plist and HTML text: `<>&` as entities, control characters as `?`, cut at ESCAPE_LIMIT. */
function markupEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length && out.length < ESCAPE_LIMIT; i++) {
    const c = s[i];
    const piece = isControl(s.charCodeAt(i))
      ? '?'
      : c === '<'
        ? '&lt;'
        : c === '>'
          ? '&gt;'
          : c === '&'
            ? '&amp;'
            : c;
    if (out.length + piece.length > ESCAPE_LIMIT) break;
    out += piece;
  }
  return out;
}

/** Shell fields: `|` and `\` preceded by `\`, control characters as `_`, cut at ESCAPE_LIMIT. */
function shellEscape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length && out.length < ESCAPE_LIMIT; i++) {
    const c = s[i];
    const piece = isControl(s.charCodeAt(i)) ? '_' : c === '|' || c === '\\' ? `\\${c}` : c;
    if (out.length + piece.length > ESCAPE_LIMIT) break;
    out += piece;
  }
  return out;
}

/** The speed cell of the text table: `%4lu` and a unit, or `''` when none (or 1024 G/s and more). */
function speedCell(l: Line): string {
  let bw = l.current > 0 ? bandwidth(l) : 0;
  if (bw <= 0) return "   ''  |";
  for (const unit of ['b', 'K', 'M', 'G']) {
    if (bw < 1024) return `${String(bw).padStart(4)}${unit}/s|`;
    bw = Math.floor(bw / 1024);
  }
  return "   ''  |";
}

/** pure-ftpwho's text table (`verbose`: `-v`, with the sizes and the local address). */
function textTable(lines: readonly Line[], verbose: boolean): string {
  const title = verbose ? '     File/Remote IP/Size(Kb)/Local IP      ' : '                 File/IP                   ';
  let out = `\n${RULE}| PID  |  Login  |For/Spd| What |${title}|\n${RULE}`;
  for (const l of lines) {
    const moved = l.current > 0 && l.current > l.restart;
    const pct = moved ? percentage(l) : 0;
    out += `|${String(l.id).padStart(5)} | ${l.account.padEnd(8)}| ${hoursMinutes(l.since)} | ${l.state} | ${l.file.padEnd(42)}|\n`;
    out += `|  ''  |    ''   |${speedCell(l)}${pct > 0 ? ` ${String(pct).padStart(3)}% |` : "  ''  |"}`;
    out += ` ->${l.host.slice(0, 39).padStart(39)} |\n`;
    if (verbose) {
      const blank = "|  ''  |    ''   |       |      | ";
      if (l.current > 0) {
        out +=
          l.total > 0
            ? `${blank}Total size:${String(kb(l.total)).padStart(9)} Transferred:${String(kb(l.current)).padStart(9)} |\n`
            : `${blank}Transferred: ${String(kb(l.current)).padEnd(29)} |\n`;
      }
      out += `${blank}<-${l.localHost.slice(0, 33).padStart(33)}:${l.localPort.slice(0, 5).padEnd(5)} |\n`;
    }
    out += RULE;
  }
  return `${out}\n`;
}

/** pure-ftpwho `-s`: `pid|account|seconds|state|file|host|local host|port|KB|total KB|%|KB/s`. */
function shellLines(lines: readonly Line[]): string {
  return lines
    .map((l) => {
      const fields = [l.account, String(l.since), l.state, l.file, l.host, l.localHost, l.localPort];
      const numbers = [kb(l.current), kb(l.total), percentage(l), l.current > 0 ? kbPerSecond(l) : 0];
      return `${l.id}|${fields.map(shellEscape).join('|')}|${numbers.join('|')}\n`;
    })
    .join('');
}

/** The transfer values of XML and plist (name, value): none unless some bytes are counted. */
function transferValues(l: Line): [string, number][] {
  if (l.current <= 0) return [];
  const values: [string, number][] = [
    ['resume', l.restart],
    ['current_size', l.current],
  ];
  if (l.total > 0) values.push(['total_size', l.total], ['percentage', percentage(l)]);
  values.push(['bandwidth', bandwidth(l)]);
  return values;
}

/** The values every XML and plist entry has (name, text already escaped). */
function commonValues(l: Line): [string, string][] {
  return [
    ['pid', String(l.id)],
    ['account', markupEscape(l.account)],
    ['time', String(l.since)],
    ['state', l.state],
    ['file', markupEscape(l.file)],
    ['host', markupEscape(l.host)],
    ['localhost', markupEscape(l.localHost)],
    ['localport', markupEscape(l.localPort)],
  ];
}

/** pure-ftpwho `-x`: one `<client … />` per session in `<status>`. */
function xmlDocument(lines: readonly Line[]): string {
  let out = '<?xml version="1.0" encoding="ISO-8859-15"?>\n<status>\n';
  for (const l of lines) {
    const values = [...commonValues(l), ...transferValues(l).map(([k, v]): [string, string] => [k, String(v)])];
    out += `  <client${values.map(([k, v]) => ` ${k}="${v}"`).join('')} />\n`;
  }
  return `${out}</status>\n`;
}

/** pure-ftpwho `-p`: an Apple plist, `user-info` → one dict of strings per session. */
function plistDocument(lines: readonly Line[]): string {
  let out =
    '<?xml version="1.0" encoding="ISO-8859-15"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    '<plist version="1.0">\n<dict>\n\t<key>user-info</key>\n\t<array>\n';
  for (const l of lines) {
    const moved = transferValues(l).map(([k, v]): [string, string] => [k, String(v)]);
    // Nothing counted: every transfer key, with an empty string.
    const transfer =
      moved.length > 0
        ? moved
        : ['resume', 'current_size', 'total_size', 'percentage', 'bandwidth'].map((k): [string, string] => [k, '']);
    out += '\t\t<dict>\n';
    for (const [k, v] of [...commonValues(l), ...transfer]) {
      out += `\t\t\t<key>${k}</key>\n\t\t\t<string>${v}</string>\n`;
    }
    out += '\t\t</dict>\n';
  }
  return `${out}\t</array>\n</dict>\n</plist>\n`;
}

/** What comes before the table in pure-ftpwho's `-w` page: doctype, head with inline CSS, heading. */
const PAGE_HEAD = [
  '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN"',
  '          "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">',
  '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en">',
  '<head>',
  ' <meta http-equiv="Content-Type"',
  '       content="text/html; charset=ISO-8859-15" />',
  ' <title>Pure-FTPd server status</title>',
  ' <style type="text/css">',
  'html {',
  ' background-color: #369;',
  '}',
  'body {',
  ' background-color: #fff;',
  ' color: #000;',
  ' margin: 12px;',
  ' padding: 8px;',
  ' border: 2px solid #000;',
  ' font-family: "Trebuchet MS",Verdana,Geneva,Arial,Helvetica,sans-serif;',
  ' font-size: 0.8em;',
  '}',
  'h1 {',
  ' text-align: center;',
  ' border-bottom: 1px solid #666;',
  ' margin: 0.5em 1em;',
  '}',
  '#ftp-status {',
  ' text-align: center;',
  '}',
  'table {',
  ' margin: 0 auto;',
  '}',
  'thead th {',
  ' background-color: #369;',
  ' color: #fff;',
  '}',
  'th,td {',
  ' padding: 0.1em 0.5em;',
  '}',
  'tr:hover {',
  ' background-color: #def;',
  '}',
  ' </style>',
  '</head>',
  '<body>',
  '<h1>Pure-FTPd server status</h1>',
  '',
].join('\n');

/** The start of the status table, up to its body. */
const TABLE_HEAD = [
  '<div id="ftp-status">',
  ' <table summary="Pure-FTPd server status">',
  '  <thead>',
  '   <tr>',
  '    <th scope="col">PID</th>',
  '    <th scope="col">Account</th>',
  '    <th scope="col">Time</th>',
  '    <th scope="col">State</th>',
  '    <th scope="col" abbr="File">File name</th>',
  '    <th scope="col" abbr="Peer">Remote host</th>',
  '    <th scope="col" abbr="Kb">Kbytes</th>',
  '    <th scope="col" abbr="Local">Local host</th>',
  '   </tr>',
  '  </thead>',
  '  <tbody>',
  '',
].join('\n');

/** The Kbytes cell: `cur/total (P% - N KB/s)` for a download of known size, `cur (N KB/s)`, or none. */
function kbytesCell(l: Line): string {
  if (l.current <= 0) return '&nbsp;';
  return l.total > 0
    ? `${kb(l.current)}/${kb(l.total)} (${percentage(l)}% - ${kbPerSecond(l)} KB/s)`
    : `${kb(l.current)} (${kbPerSecond(l)} KB/s)`;
}

/** pure-ftpwho `-W` (the table), or `-w` (`page`: the whole XHTML page around it). */
function htmlDocument(lines: readonly Line[], page: boolean, cgi: boolean): string {
  let out = (cgi ? 'Content-Type: text/html\n\n' : '') + (page ? PAGE_HEAD : '') + TABLE_HEAD;
  for (const l of lines) {
    const cells = [
      l.account === '' ? '&nbsp;' : markupEscape(l.account),
      hoursMinutes(l.since),
      markupEscape(l.state),
      l.file === '' ? '&nbsp;' : markupEscape(l.file),
      markupEscape(l.host),
      kbytesCell(l),
      `${markupEscape(l.localHost)}:${markupEscape(l.localPort)}`,
    ];
    out += `   <tr>\n    <th scope="row">${l.id}</th>\n${cells.map((c) => `    <td>${c}</td>\n`).join('')}   </tr>\n`;
  }
  out += '  </tbody>\n </table>\n</div>\n';
  return page ? `${out}</body>\n</html>\n` : out;
}

/**
 * tsftpd's JSON: `{"sessions": [...]}`, two-space indented, one object per session with every
 * WhoEntry field as is (times in milliseconds since the epoch, sizes in bytes, names as strings)
 * plus `seconds` (whole seconds since the session started, pure-ftpwho's `time`), `speed` (whole
 * bytes per second of the current transfer, entrySpeed) and `percent` (of a download of known size,
 * entryPercent, else null).
 */
function jsonDocument(entries: readonly WhoEntry[], lines: readonly Line[], now: number): string {
  const sessions = entries.map((e, i) => ({
    ...e,
    seconds: lines[i].since,
    speed: Math.floor(entrySpeed(e, now)),
    percent: entryPercent(e) ?? null,
  }));
  return `${JSON.stringify({ sessions }, null, 2)}\n`;
}

/**
 * Renders sessions the way pure-ftpwho renders its own in `mode` (or as tsftpd's JSON); the result,
 * written with nameToBytes(), is what pure-ftpwho would print for the same sessions.
 */
export function formatWho(entries: readonly WhoEntry[], mode: WhoMode, opts: WhoFormatOptions): string {
  const lines = entries.map((e) => lineOf(e, opts));
  let out: string;
  switch (mode) {
    case 'text':
    case 'verbose':
      out = textTable(lines, mode === 'verbose');
      break;
    case 'shell':
      out = shellLines(lines);
      break;
    case 'html':
    case 'html-table':
      out = htmlDocument(lines, mode === 'html', opts.cgi === true);
      break;
    case 'xml':
      out = xmlDocument(lines);
      break;
    case 'plist':
      out = plistDocument(lines);
      break;
    case 'json':
      return jsonDocument(entries, lines, opts.now);
  }
  return bytesToName(Buffer.from(out, 'latin1'));
}
