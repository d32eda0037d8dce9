/**
 * The four transfer-log formats of `-O` (upstream §9.2) for fixed records, and the stats decoder,
 * against lines written by hand from Pure-FTPd's format descriptions.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatTransfer,
  parseAltLog,
  urlEncode,
  w3cHeader,
  type TransferRecord,
} from '../../src/telemetry/altlog.js';
import { StatsDecoder } from '../../src/tools/statsdecode.js';

function record(over: Partial<TransferRecord> = {}): TransferRecord {
  return {
    time: new Date(Date.UTC(2026, 10, 28, 0, 55, 36)),
    host: '127.0.0.1',
    user: 'joe',
    upload: true,
    path: '/srv/home/joe/hello world.txt',
    bytes: 12,
    seconds: 1.5,
    ascii: false,
    sessionStart: new Date(Date.UTC(2026, 10, 28, 0, 50, 0)),
    pid: 0x39aa,
    ...over,
  };
}

/** Runs `fn` with the process time zone set to `tz`. */
function inZone<T>(tz: string, fn: () => T): T {
  const old = process.env.TZ;
  process.env.TZ = tz;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.TZ;
    else process.env.TZ = old;
  }
}

describe('transfer-log formats', () => {
  it('clf: local time with the offset sign inverted, as Pure-FTPd prints it', () => {
    assert.equal(
      inZone('UTC', () => formatTransfer('clf', record())),
      'localhost - joe [28/Nov/2026:00:55:36 -0000] "PUT /srv/home/joe/hello%20world.txt" 200 12\n'.replace(
        'localhost',
        '127.0.0.1',
      ),
    );
    // UTC+1 prints -0100; UTC-5 prints +0500.
    assert.match(
      inZone('Etc/GMT-1', () => formatTransfer('clf', record())),
      /\[28\/Nov\/2026:01:55:36 -0100\] "PUT/,
    );
    assert.match(
      inZone('Etc/GMT+5', () => formatTransfer('clf', record({ upload: false }))),
      /\[27\/Nov\/2026:19:55:36 \+0500\] "GET/,
    );
  });

  it('stats: unix time, session start and pid in hex, rounded seconds, raw path', () => {
    assert.equal(
      formatTransfer('stats', record()),
      '1795827336 6b0a2538.39aa joe 127.0.0.1 U 12 2 /srv/home/joe/hello world.txt\n',
    );
    assert.match(formatTransfer('stats', record({ path: '/a\nb', upload: false })), / D 12 2 \/a_b\n$/);
  });

  it('w3c: UTC, []created / []sent, URL-encoded, the user as given; the header', () => {
    assert.equal(
      formatTransfer('w3c', record()),
      '2026-11-28 00:55:36 127.0.0.1 []created /srv/home/joe/hello%20world.txt 226 joe 12\n',
    );
    assert.equal(
      w3cHeader(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))),
      '#Software: tsftpd\n#Version: 1.0\n#Date: 2026-01-02 03:04:05\n' +
        '#Fields: date time c-ip cs-method cs-uri-stem sc-status cs-username sc-bytes\n',
    );
  });

  it('xferlog: local date with a zero-padded day, spaces as _, a|b, i|o, always r', () => {
    assert.equal(
      inZone('UTC', () =>
        formatTransfer('xferlog', record({ time: new Date(Date.UTC(2026, 10, 2, 1, 0, 16)) })),
      ),
      'Mon Nov 02 01:00:16 2026 2 127.0.0.1 12 /srv/home/joe/hello_world.txt b _ i r joe ftp 1 * c\n',
    );
    assert.match(
      formatTransfer('xferlog', record({ ascii: true, upload: false })),
      / a _ o r joe ftp 1 \* c\n$/,
    );
  });

  it('URL encoding keeps letters, digits and ./_- only, byte by byte (UTF-8 and raw bytes)', () => {
    assert.equal(urlEncode('/a b/é:%\u{dce9}'), '/a%20b/%C3%A9%3A%25%E9');
  });

  it('-O values: format prefix or clf, absolute paths only', () => {
    assert.deepEqual(parseAltLog('/var/log/x'), { format: 'clf', file: '/var/log/x' });
    assert.deepEqual(parseAltLog('W3C:/var/log/x'), { format: 'w3c', file: '/var/log/x' });
    assert.throws(() => parseAltLog('stats:x.log'), /absolute/);
    assert.throws(() => parseAltLog('json:/x'), /unknown log format/);
  });

  it('statsdecode: date for the leading digits, the separator eaten, lines split across chunks', () => {
    const out = inZone('UTC', () => {
      const d = new StatsDecoder();
      const input = Buffer.from('1795827336 692901f8.39aa joe 127.0.0.1 U 12 2 /x\n17958');
      const tail = Buffer.from('27337 next\n');
      return Buffer.concat([
        d.push(input.subarray(0, 7)),
        d.push(input.subarray(7)),
        d.push(tail),
      ]).toString();
    });
    assert.equal(
      out,
      '2026/11/28 00:55:36 692901f8.39aa joe 127.0.0.1 U 12 2 /x\n2026/11/28 00:55:37 next\n',
    );
  });
});
