/**
 * The outputs of `tsftpd who`, in the shapes pure-ftpwho prints (upstream §7): the text table (and
 * its verbose form), the `|`-separated shell lines, XML, an Apple plist and HTML — same columns,
 * element and key names, units (KB in the text, shell and HTML forms, bytes in XML and plist),
 * rounding and escaping, so that scripts written for pure-ftpwho read them — plus JSON.
 *
 * As pure-ftpwho: times are whole seconds; the speed of a transfer is what it moved since its
 * start (without the REST offset) over the whole seconds it has run, printed only once that is more
 * than zero; a download's percentage counts the offset and is rounded; the total size is shown for
 * downloads only. In the PID column goes tsftpd's session ID (one process serves many sessions).
 */
import type { WhoEntry } from '../telemetry/who.js';

/** Which output. */
export type WhoMode = 'text' | 'verbose' | 'shell' | 'html' | 'html-table' | 'xml' | 'plist' | 'json';

export interface WhoFormatOptions {
  /** Milliseconds since the epoch, for the times and speeds. */
  now: number;
  /** The name to show for an address (looked up unless -n); default: the address. */
  hostOf?: (ip: string) => string;
  /** CGI: a `Content-Type` header and a blank line first (HTML outputs). */
  cgi?: boolean;
}

/** One session's numbers, as pure-ftpwho works them out. */
interface Row {
  id: number;
  account: string;
  /** Seconds since the session started. */
  since: number;
  state: string;
  file: string;
  host: string;
  localHost: string;
  localPort: string;
  /** REST offset (0 when past the current size). */
  restart: number;
  /** Download size (0 for anything but a download). */
  total: number;
  /** Bytes of the file so far (0 when idle). */
  current: number;
  /** Whole seconds the transfer has run. */
  xferSince: number;
}

/** pure-ftpwho's state names: IDLE, ` DL `, ` UL `; LIST is tsftpd's (a listing being sent). */
const STATE_TEXT: Record<WhoEntry['state'], string> = { IDLE: 'IDLE', DL: ' DL ', UL: ' UL ', LIST: 'LIST' };

function rowOf(e: WhoEntry, opts: WhoFormatOptions): Row {
  const host = opts.hostOf ?? ((ip: string) => ip);
  const moving = e.state === 'DL' || e.state === 'UL';
  const current = moving ? e.current : 0;
  return {
    id: e.id,
    account: e.account,
    since: Math.max(0, Math.floor((opts.now - e.since) / 1000)),
    state: STATE_TEXT[e.state] ?? 'ERR!',
    file: e.file,
    host: host(e.remoteIp),
    localHost: host(e.localIp),
    localPort: String(e.localPort),
    restart: e.resume <= current ? e.resume : 0,
    total: e.state === 'DL' ? e.total : 0,
    current,
    xferSince: e.transferStart > 0 ? Math.max(0, Math.floor((opts.now - e.transferStart) / 1000)) : 0,
  };
}

/** Bytes per second moved by the transfer (0 until a whole second has passed or when idle). */
function speed(r: Row): number {
  return r.current > 0 && r.current > r.restart && r.xferSince > 0
    ? Math.floor((r.current - r.restart) / r.xferSince)
    : 0;
}

/** Rounded percentage of a download (0 when its size is unknown). */
function percent(r: Row): number {
  if (r.current <= 0 || r.total <= 0) return 0;
  return Math.min(100, Math.floor((r.current * 100) / r.total + 0.5));
}

const kb = (n: number): number => Math.floor(n / 1024);
/** A control character as pure-ftpwho sees one (below 32, and DEL). */
// eslint-disable-next-line no-control-regex -- control characters are what this finds
const CONTROL = /[\x00-\x1f\x7f]/g;

/** XML and HTML text: `<`, `>`, `&` as entities, control characters as `?` (quotes as pure-ftpwho: kept). */
function xmlText(s: string): string {
  return s
    .replace(CONTROL, '?')
    .replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}

/** XML attribute values: as xmlText, and `"` as `&quot;` so that a name cannot end the attribute. */
function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;');
}

/** Shell fields: `|` and `\` escaped with `\`, control characters as `_`. */
function shellText(s: string): string {
  return s.replace(CONTROL, '_').replace(/[|\\]/g, (c) => `\\${c}`);
}

const pad = (n: number): string => String(n).padStart(2, '0');
/** `HH:MM` of a number of seconds. */
const hhmm = (s: number): string => `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}`;

const RULE = '+------+---------+-------+------+-------------------------------------------+';

/** The text table (pure-ftpwho's default, or -v). */
function text(rows: readonly Row[], verbose: boolean): string {
  const title = verbose
    ? '     File/Remote IP/Size(Kb)/Local IP      '
    : '                 File/IP                   ';
  const out = ['', RULE, `| PID  |  Login  |For/Spd| What |${title}|`, RULE];
  for (const r of rows) {
    // Control characters would break the table (and a terminal): shown as `?`.
    const file = r.file.replace(CONTROL, '?');
    out.push(
      `|${String(r.id).padStart(5)} | ${r.account.replace(CONTROL, '?').padEnd(8)}| ${hhmm(r.since)} | ${r.state} | ${file.padEnd(42)}|`,
    );
    let bw = speed(r);
    let spd = "   ''  |";
    for (const unit of ['b', 'K', 'M', 'G']) {
      if (bw <= 0) break;
      if (bw < 1024) {
        spd = `${String(bw).padStart(4)}${unit}/s|`;
        break;
      }
      bw = Math.floor(bw / 1024);
    }
    const pct = percent(r);
    const pctText = pct > 0 ? ` ${String(pct).padStart(3)}% |` : "  ''  |";
    out.push(`|  ''  |    ''   |${spd}${pctText} ->${r.host.slice(0, 39).padStart(39)} |`);
    if (verbose) {
      if (r.current > 0) {
        out.push(
          r.total > 0
            ? `|  ''  |    ''   |       |      | Total size:${String(kb(r.total)).padStart(9)} Transferred:${String(kb(r.current)).padStart(9)} |`
            : `|  ''  |    ''   |       |      | Transferred: ${String(kb(r.current)).padEnd(29)} |`,
        );
      }
      out.push(
        `|  ''  |    ''   |       |      | <-${r.localHost.slice(0, 33).padStart(33)}:${r.localPort.slice(0, 5).padEnd(5)} |`,
      );
    }
    out.push(RULE);
  }
  out.push('', '');
  return out.join('\n');
}

/** One `|`-separated line per session (-s). */
function shell(rows: readonly Row[]): string {
  return rows
    .map((r) => {
      const kbps =
        r.current > 0 && r.current > r.restart && r.xferSince > 0
          ? Math.floor((r.current - r.restart) / (r.xferSince * 1024))
          : 0;
      return (
        [
          String(r.id),
          shellText(r.account),
          String(r.since),
          shellText(r.state),
          shellText(r.file),
          shellText(r.host),
          shellText(r.localHost),
          shellText(r.localPort),
          String(kb(r.current)),
          String(kb(r.total)),
          String(percent(r)),
          String(kbps),
        ].join('|') + '\n'
      );
    })
    .join('');
}

/** The transfer fields of XML and plist: present only while something has moved. */
function transferFields(r: Row): [string, string][] {
  if (r.current <= 0) return [];
  const fields: [string, string][] = [
    ['resume', String(r.restart)],
    ['current_size', String(r.current)],
  ];
  if (r.total > 0) fields.push(['total_size', String(r.total)], ['percentage', String(percent(r))]);
  fields.push(['bandwidth', String(speed(r))]);
  return fields;
}

function xml(rows: readonly Row[]): string {
  const out = ['<?xml version="1.0" encoding="ISO-8859-15"?>', '<status>'];
  for (const r of rows) {
    const attrs: [string, string][] = [
      ['pid', String(r.id)],
      ['account', xmlAttr(r.account)],
      ['time', String(r.since)],
      ['state', r.state],
      ['file', xmlAttr(r.file)],
      ['host', xmlAttr(r.host)],
      ['localhost', xmlAttr(r.localHost)],
      ['localport', xmlAttr(r.localPort)],
      ...transferFields(r),
    ];
    out.push(`  <client${attrs.map(([k, v]) => ` ${k}="${v}"`).join('')} />`);
  }
  out.push('</status>', '');
  return out.join('\n');
}

function plist(rows: readonly Row[]): string {
  const out = [
    '<?xml version="1.0" encoding="ISO-8859-15"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '\t<key>user-info</key>',
    '\t<array>',
  ];
  for (const r of rows) {
    const moved = transferFields(r);
    const fields: [string, string][] = [
      ['pid', String(r.id)],
      ['account', xmlText(r.account)],
      ['time', String(r.since)],
      ['state', r.state],
      ['file', xmlText(r.file)],
      ['host', xmlText(r.host)],
      ['localhost', xmlText(r.localHost)],
      ['localport', xmlText(r.localPort)],
      // Idle: every transfer key, empty.
      ...(moved.length > 0
        ? moved
        : ['resume', 'current_size', 'total_size', 'percentage', 'bandwidth'].map((k): [string, string] => [
            k,
            '',
          ])),
    ];
    out.push('\t\t<dict>');
    for (const [k, v] of fields) out.push(`\t\t\t<key>${k}</key>`, `\t\t\t<string>${v}</string>`);
    out.push('\t\t</dict>');
  }
  out.push('\t</array>', '</dict>', '</plist>', '');
  return out.join('\n');
}

/** The HTML table (-W), or a whole XHTML page around it (-w). */
function html(rows: readonly Row[], page: boolean): string {
  const out: string[] = [];
  if (page) {
    out.push(
      '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">',
      '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en">',
      '<head>',
      ' <meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-15" />',
      ' <title>tsftpd server status</title>',
      ' <style type="text/css">',
      'body { font-family: system-ui, sans-serif; margin: 1em; color: #111; background: #fff; }',
      'h1 { font-size: 1.3em; text-align: center; }',
      'table { margin: 0 auto; border-collapse: collapse; }',
      'thead th { background: #245; color: #fff; }',
      'th, td { padding: 0.15em 0.6em; border-bottom: 1px solid #ddd; text-align: left; }',
      ' </style>',
      '</head>',
      '<body>',
      '<h1>tsftpd server status</h1>',
    );
  }
  out.push(
    '<div id="ftp-status">',
    ' <table summary="tsftpd server status">',
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
  );
  for (const r of rows) {
    let kbytes = '&nbsp;';
    if (r.current > 0) {
      const kbps =
        r.xferSince > 0 && r.current > r.restart
          ? Math.floor((r.current - r.restart) / (r.xferSince * 1024))
          : 0;
      kbytes =
        r.total > 0
          ? `${kb(r.current)}/${kb(r.total)} (${percent(r)}% - ${kbps} KB/s)`
          : `${kb(r.current)} (${kbps} KB/s)`;
    }
    out.push(
      '   <tr>',
      `    <th scope="row">${r.id}</th>`,
      `    <td>${r.account === '' ? '&nbsp;' : xmlText(r.account)}</td>`,
      `    <td>${hhmm(r.since)}</td>`,
      `    <td>${xmlText(r.state)}</td>`,
      `    <td>${r.file === '' ? '&nbsp;' : xmlText(r.file)}</td>`,
      `    <td>${xmlText(r.host)}</td>`,
      `    <td>${kbytes}</td>`,
      `    <td>${xmlText(r.localHost)}:${xmlText(r.localPort)}</td>`,
      '   </tr>',
    );
  }
  out.push('  </tbody>', ' </table>', '</div>');
  if (page) out.push('</body>', '</html>');
  out.push('');
  return out.join('\n');
}

/**
 * JSON (tsftpd's own): `{"sessions": [...]}` with every WhoEntry field (sizes in bytes, times in
 * milliseconds since the epoch) plus `seconds` (since the session started), `speed` (bytes per
 * second of the current transfer) and `percent` (of a download, or null).
 */
function json(entries: readonly WhoEntry[], rows: readonly Row[]): string {
  const sessions = entries.map((e, i) => {
    const r = rows[i];
    return { ...e, seconds: r.since, speed: speed(r), percent: r.total > 0 ? percent(r) : null };
  });
  return `${JSON.stringify({ sessions }, null, 2)}\n`;
}

/** Renders the sessions as `mode` says; the string is what `tsftpd who` writes. */
export function formatWho(entries: readonly WhoEntry[], mode: WhoMode, opts: WhoFormatOptions): string {
  const rows = entries.map((e) => rowOf(e, opts));
  const cgi = opts.cgi === true ? 'Content-Type: text/html\n\n' : '';
  switch (mode) {
    case 'text':
    case 'verbose':
      return text(rows, mode === 'verbose');
    case 'shell':
      return shell(rows);
    case 'xml':
      return xml(rows);
    case 'plist':
      return plist(rows);
    case 'html':
    case 'html-table':
      return cgi + html(rows, mode === 'html');
    case 'json':
      return json(entries, rows);
  }
}
