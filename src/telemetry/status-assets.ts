/**
 * The live status page of the metrics listener (`/status`, docs/operations.md): a page, its script
 * and its style, served from the listener itself (no external asset; the Content-Security-Policy
 * allows nothing else). The script polls `status.json` every second and updates the page in place:
 * totals, a throughput sparkline and the `who` table. Everything a client chose (file and account
 * names) enters the page with textContent, never as markup. URLs are relative, so the page also
 * works behind a reverse proxy's path prefix.
 *
 * Hooks for tests: `body[data-polls]` counts successful polls; each session is a
 * `tr[data-session-id]` whose cells have the classes `cell-id`, `cell-account`, `cell-time`,
 * `cell-state`, `cell-file`, `cell-remote`, `cell-local`, `cell-progress` (with `data-bytes`, the
 * bytes done) and `cell-tls`; `#status-error` shows a failed poll.
 */
import type { WhoEntry } from './who.js';

/** What `/status.json` returns. */
export interface StatusJson {
  server: { version: string; pid: number; started: number; now: number; processes: number; workers: number };
  totals: {
    sessions: number;
    bytesIn: number;
    bytesOut: number;
    uploads: number;
    downloads: number;
    loginsOk: number;
    loginsFailed: number;
  };
  sessions: WhoEntry[];
}

/** Sent with the page and its assets: only this listener's own script, style and JSON. */
export const STATUS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const STATUS_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tsftpd status</title>
<link rel="stylesheet" href="status.css">
<script src="status.js" defer></script>
</head>
<body data-polls="0">
<header>
  <h1>tsftpd status</h1>
  <p class="meta"><span id="version"></span> · up <span id="uptime">…</span> · <span id="processes"></span> · updated <span id="updated">never</span></p>
  <p id="status-error" role="alert" hidden></p>
</header>
<section class="totals" aria-label="Totals">
  <div><span class="label">Sessions</span><span class="value" id="t-sessions">0</span></div>
  <div><span class="label">Received</span><span class="value" id="t-in">0 B</span></div>
  <div><span class="label">Sent</span><span class="value" id="t-out">0 B</span></div>
  <div><span class="label">Uploads</span><span class="value" id="t-uploads">0</span></div>
  <div><span class="label">Downloads</span><span class="value" id="t-downloads">0</span></div>
  <div><span class="label">Logins ok / failed</span><span class="value"><span id="t-logins-ok">0</span> / <span id="t-logins-failed">0</span></span></div>
</section>
<section class="throughput" aria-label="Throughput">
  <h2>Throughput <span id="rate">0 B/s</span></h2>
  <div id="spark"></div>
</section>
<section aria-label="Sessions">
  <h2>Sessions</h2>
  <div class="scroll">
  <table id="who">
    <thead><tr><th>ID</th><th>Account</th><th>Time</th><th>State</th><th>File</th><th>Remote</th><th>Local</th><th>Progress</th><th>TLS</th></tr></thead>
    <tbody></tbody>
  </table>
  </div>
  <p id="empty">No session.</p>
</section>
</body>
</html>
`;

export const STATUS_CSS = `:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #5c6670; --line: #d8dde3;
  --accent: #2563eb; --card: #f5f7fa; --bad: #b91c1c; }
@media (prefers-color-scheme: dark) { :root { --bg: #111418; --fg: #e6e9ed; --muted: #98a2ad; --line: #2c333b;
  --accent: #60a5fa; --card: #1a1f25; --bad: #f87171; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem 1.5rem 2rem; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
.meta { color: var(--muted); margin: 0; }
#status-error { color: var(--bad); font-weight: 600; }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .6rem; margin-top: 1rem; }
.totals div { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .55rem .8rem; }
.label { display: block; color: var(--muted); font-size: .8rem; }
.value { font-size: 1.3rem; font-variant-numeric: tabular-nums; }
#rate { color: var(--accent); font-weight: 500; margin-left: .5rem; font-variant-numeric: tabular-nums; }
#spark svg { width: 100%; height: 70px; display: block; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; }
#spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
thead th { color: var(--muted); font-weight: 600; font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
td.cell-file { white-space: normal; word-break: break-all; min-width: 12rem; }
td.cell-state { font-weight: 600; }
progress { width: 6rem; vertical-align: middle; margin-right: .4rem; }
#empty { color: var(--muted); }
`;

export const STATUS_JS = `'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SAMPLES = 120;
  const samples = [];
  let last;
  let polls = 0;

  const human = (n) => {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
  };
  const clock = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const two = (x) => String(x).padStart(2, '0');
    return Math.floor(s / 3600) + ':' + two(Math.floor(s / 60) % 60) + ':' + two(s % 60);
  };
  const speedOf = (e, now) => {
    if (e.state === 'IDLE' || !e.transferStart) return 0;
    const seconds = (now - e.transferStart) / 1000;
    return seconds > 0 ? Math.max(0, e.current - e.resume) / seconds : 0;
  };
  const percentOf = (e) => (e.state === 'IDLE' || !(e.total > 0) ? undefined : Math.min(100, Math.floor((e.current * 100) / e.total)));
  const setText = (el, text) => { if (el.textContent !== text) el.textContent = text; };

  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + SAMPLES + ' 100');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'bytes per second, last two minutes');
  const line = document.createElementNS(svgNs, 'polyline');
  svg.appendChild(line);
  $('spark').appendChild(svg);

  const drawSpark = () => {
    const max = Math.max(1, ...samples);
    const offset = SAMPLES - samples.length;
    const pts = samples.map((v, i) => (offset + i) + ',' + (98 - (v / max) * 94).toFixed(1));
    line.setAttribute('points', pts.join(' '));
  };

  const cell = (tr, name) => {
    let td = tr.querySelector('.' + name);
    if (!td) { td = document.createElement('td'); td.className = name; tr.appendChild(td); }
    return td;
  };

  const renderRow = (tr, e, now) => {
    setText(cell(tr, 'cell-id'), String(e.id));
    setText(cell(tr, 'cell-account'), e.account);
    setText(cell(tr, 'cell-time'), clock(now - e.since));
    setText(cell(tr, 'cell-state'), e.state);
    setText(cell(tr, 'cell-file'), e.file);
    setText(cell(tr, 'cell-remote'), e.remoteIp + ':' + e.remotePort);
    setText(cell(tr, 'cell-local'), e.localIp + ':' + e.localPort);
    const progress = cell(tr, 'cell-progress');
    progress.dataset.bytes = String(e.state === 'IDLE' ? 0 : e.current);
    progress.replaceChildren();
    if (e.state !== 'IDLE') {
      const pct = percentOf(e);
      if (pct !== undefined) {
        const bar = document.createElement('progress');
        bar.max = 100;
        bar.value = pct;
        progress.appendChild(bar);
      }
      const parts = [human(e.current)];
      if (pct !== undefined) parts.push(pct + '%');
      parts.push(human(speedOf(e, now)) + '/s');
      progress.appendChild(document.createTextNode(parts.join(' · ')));
    }
    setText(cell(tr, 'cell-tls'), e.tls ? 'yes' : 'no');
  };

  const render = (data) => {
    const s = data.server;
    const t = data.totals;
    setText($('version'), 'tsftpd ' + s.version);
    setText($('uptime'), clock(s.now - s.started));
    setText($('processes'), s.processes + (s.processes === 1 ? ' process' : ' processes'));
    setText($('t-sessions'), String(t.sessions));
    setText($('t-in'), human(t.bytesIn));
    setText($('t-out'), human(t.bytesOut));
    setText($('t-uploads'), String(t.uploads));
    setText($('t-downloads'), String(t.downloads));
    setText($('t-logins-ok'), String(t.loginsOk));
    setText($('t-logins-failed'), String(t.loginsFailed));
    const bytes = t.bytesIn + t.bytesOut;
    if (last !== undefined && s.now > last.now) {
      const rate = Math.max(0, bytes - last.bytes) / ((s.now - last.now) / 1000);
      samples.push(rate);
      if (samples.length > SAMPLES) samples.shift();
      setText($('rate'), human(rate) + '/s');
      drawSpark();
    }
    last = { now: s.now, bytes };

    const body = document.querySelector('#who tbody');
    const rows = new Map();
    for (const tr of body.querySelectorAll('tr[data-session-id]')) rows.set(tr.dataset.sessionId, tr);
    const seen = new Set();
    for (const e of data.sessions) {
      const key = String(e.id);
      seen.add(key);
      let tr = rows.get(key);
      if (!tr) {
        tr = document.createElement('tr');
        tr.dataset.sessionId = key;
        body.appendChild(tr);
      }
      renderRow(tr, e, s.now);
    }
    for (const [key, tr] of rows) if (!seen.has(key)) tr.remove();
    const empty = $('empty');
    empty.hidden = data.sessions.length > 0 && data.sessions.length >= t.sessions;
    setText(empty, data.sessions.length === 0 ? 'No session.' : 'Showing ' + data.sessions.length + ' of ' + t.sessions + ' sessions (transfers first).');
  };

  const poll = async () => {
    try {
      const res = await fetch('status.json', { cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok) throw new Error('status.json: HTTP ' + res.status);
      render(await res.json());
      polls++;
      document.body.dataset.polls = String(polls);
      $('status-error').hidden = true;
      setText($('updated'), new Date().toLocaleTimeString());
    } catch (err) {
      const box = $('status-error');
      setText(box, 'Cannot update: ' + (err && err.message ? err.message : String(err)));
      box.hidden = false;
    } finally {
      setTimeout(poll, 1000);
    }
  };
  poll();
})();
`;
