/**
 * `tsftpd who` outputs (pure-ftpwho's shapes, upstream §7) for hand-made sessions: the speed and
 * percentage arithmetic, the escaping of each format for a hostile file name, and a session before
 * login. The shapes themselves are compared with Debian's pure-ftpwho in test/e2e/who-pureftpwho.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatWho } from '../../src/tools/who-output.js';
import type { WhoEntry } from '../../src/telemetry/who.js';

const NOW = 1_800_000_000_000;

function entry(over: Partial<WhoEntry>): WhoEntry {
  return {
    id: 7,
    pid: 100,
    account: 'joe',
    anonymous: false,
    since: NOW - 3_725_000,
    state: 'IDLE',
    file: '',
    remoteIp: '192.0.2.7',
    remotePort: 50000,
    localIp: '192.0.2.1',
    localPort: 21,
    tls: false,
    transferStart: 0,
    resume: 0,
    current: 0,
    total: 0,
    ...over,
  };
}

// A download of 4 MiB started 4 s ago from offset 1 MiB, at 3 MiB now: 512 KiB/s, 75 %.
const download = entry({
  state: 'DL',
  file: '/a|b\\c<d>&"e\u0001f é.bin',
  transferStart: NOW - 4000,
  resume: 1 << 20,
  current: 3 << 20,
  total: 4 << 20,
});

describe('tsftpd who outputs', () => {
  it('-s: the numbers of pure-ftpwho, | and \\ escaped, control characters as _', () => {
    const out = formatWho([download, entry({ id: 8, account: '?', since: NOW - 5000 })], 'shell', {
      now: NOW,
    });
    assert.equal(
      out,
      '7|joe|3725| DL |/a\\|b\\\\c<d>&"e_f é.bin|192.0.2.7|192.0.2.1|21|3072|4096|75|512\n' +
        '8|?|5|IDLE||192.0.2.7|192.0.2.1|21|0|0|0|0\n',
    );
  });

  it('text: two lines per session, HH:MM since login, speed and percent; -v adds sizes and the local end', () => {
    const out = formatWho([download], 'text', { now: NOW, hostOf: () => 'client.example' });
    const lines = out.split('\n');
    assert.equal(lines[0], '');
    assert.equal(lines[4], '|    7 | joe     | 01:02 |  DL  | /a|b\\c<d>&"e?f é.bin                      |');
    assert.equal(lines[5], "|  ''  |    ''   | 512K/s|  75% | ->                         client.example |");
    assert.ok(out.endsWith('+\n\n'));
    const v = formatWho([download], 'verbose', { now: NOW }).split('\n');
    assert.equal(v[6], "|  ''  |    ''   |       |      | Total size:     4096 Transferred:     3072 |");
    assert.equal(v[7], "|  ''  |    ''   |       |      | <-                        192.0.2.1:21    |");
  });

  it('-x, -p, -W: markup escaped; transfer fields only while a transfer moves', () => {
    const x = formatWho([download, entry({ id: 8 })], 'xml', { now: NOW });
    assert.match(
      x,
      /<client pid="7" account="joe" time="3725" state=" DL " file="\/a\|b\\c&lt;d&gt;&amp;&quot;e\?f é\.bin" host="192\.0\.2\.7" localhost="192\.0\.2\.1" localport="21" resume="1048576" current_size="3145728" total_size="4194304" percentage="75" bandwidth="524288" \/>/,
    );
    assert.match(x, /<client pid="8" [^>]*localport="21" \/>/);
    const p = formatWho([entry({ id: 8 })], 'plist', { now: NOW });
    assert.match(p, /<key>bandwidth<\/key>\n\t\t\t<string><\/string>/);
    const w = formatWho([download], 'html-table', { now: NOW, cgi: true });
    assert.ok(w.startsWith('Content-Type: text/html\n\n<div id="ftp-status">'));
    assert.match(w, /<td>\/a\|b\\c&lt;d&gt;&amp;"e\?f é\.bin<\/td>/);
    assert.match(w, /<td>3072\/4096 \(75% - 512 KB\/s\)<\/td>/);
    assert.doesNotMatch(w, /<d>/);
  });

  it('--json: every field plus seconds, speed and percent', () => {
    const j = JSON.parse(formatWho([download], 'json', { now: NOW })) as {
      sessions: (WhoEntry & { seconds: number; speed: number; percent: number | null })[];
    };
    assert.equal(j.sessions[0].file, download.file);
    assert.equal(j.sessions[0].seconds, 3725);
    assert.equal(j.sessions[0].speed, 524288);
    assert.equal(j.sessions[0].percent, 75);
  });
});
