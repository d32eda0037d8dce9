import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  formatPasswdLine,
  isAcceptableLogin,
  parsePasswdLine,
  passwdFileEntries,
  recordToAccount,
  type PasswdRecord,
} from '../../src/auth/passwd-line.js';
import { purePw, purePwSkip } from './pure-pw.helper.js';

const dir = mkdtempSync(join(tmpdir(), 'tsftpd-passwd-line-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HASH =
  '$argon2id$v=19$m=8192,t=1023,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const FULL = `full:${HASH}:65534:65534:Full User:/srv/home/joe:51200:102400:1:5:3:1000:10485760:127.0.0.1:10.1.1.1/32:127.0.0.1/8,10.0.0.0/8:192.168.1.1:900-1800`;

test('parsePasswdLine: the 18 fields of upstream §3.2', () => {
  assert.deepEqual(parsePasswdLine(FULL), {
    login: 'full',
    hash: HASH,
    uid: 65534,
    gid: 65534,
    gecos: 'Full User',
    home: '/srv/home/joe',
    bandwidthUp: 51200,
    bandwidthDown: 102400,
    ratioUp: 1,
    ratioDown: 5,
    maxSessions: 3,
    quotaFiles: 1000,
    quotaBytes: 10485760,
    allowLocal: '127.0.0.1',
    denyLocal: '10.1.1.1/32',
    allowClient: '127.0.0.1/8,10.0.0.0/8',
    denyClient: '192.168.1.1',
    timeWindow: '900-1800',
  });
  assert.equal(formatPasswdLine(parsePasswdLine(FULL) as PasswdRecord), FULL);
});

test('parsePasswdLine: lines may stop after home; empty fields are undefined', () => {
  const r = parsePasswdLine('joe:$6$s$h:1000:1000::/home/joe/./\r\n');
  assert.ok(r);
  assert.equal(r.home, '/home/joe/./');
  assert.equal(r.gecos, '');
  assert.equal(r.bandwidthUp, undefined);
  assert.equal(r.timeWindow, undefined);
  assert.equal(formatPasswdLine(r), 'joe:$6$s$h:1000:1000::/home/joe/./::::::::::::');
});

test('parsePasswdLine: refuses what the server refuses', () => {
  for (const bad of [
    '',
    'joe',
    'joe:$6$s$h:1000:1000:',
    'joe:$6$s$h:1000:1000::',
    'joe:$6$s$h:1000:1000::relative/home',
    ':$6$s$h:1000:1000::/h',
    'joe::1000:1000::/h',
    'joe:$6$s$h:abc:1000::/h',
    'joe:$6$s$h:1000:-1::/h',
    'joe:$6$s$h:99999999999:1000::/h',
  ]) {
    assert.equal(parsePasswdLine(bad), undefined, bad);
  }
  assert.equal(parsePasswdLine('root:$6$s$h:0:0::/root')?.uid, 0);
});

test('formatPasswdLine: pure-pw normalisation rules', () => {
  const base: PasswdRecord = {
    login: 'joe',
    hash: '$6$s$h',
    uid: 1000,
    gid: 1000,
    gecos: 'a:b',
    home: '/h/./',
  };
  assert.equal(formatPasswdLine(base), 'joe:$6$s$h:1000:1000:a_b:/h/./::::::::::::');
  assert.equal(
    formatPasswdLine({ ...base, ratioUp: 0, ratioDown: 0, maxSessions: 0, quotaFiles: 0, bandwidthUp: 0 }),
    'joe:$6$s$h:1000:1000:a_b:/h/./:0:::::0::::::',
  );
  assert.equal(formatPasswdLine({ ...base, timeWindow: '0900-1800' }).split(':')[17], '900-1800');
  assert.equal(formatPasswdLine({ ...base, timeWindow: '2400-0100' }).split(':')[17], '');
  assert.equal(formatPasswdLine({ ...base, timeWindow: '0960-1000' }).split(':')[17], '');
  assert.throws(() => formatPasswdLine({ ...base, gecos: 'x\nevil:$6$:1:1::/' }), RangeError);
  assert.throws(() => formatPasswdLine({ ...base, allowClient: '::1' }), RangeError);
  assert.throws(() => formatPasswdLine({ ...base, uid: -1 }), RangeError);
  assert.throws(() => formatPasswdLine({ ...base, hash: 'a:b' }), RangeError);
});

test('passwdFileEntries: the lines pure-pw mkdb indexes', () => {
  const text = '# comment\n\nnocolon\nempty:\n:emptykey\ncr:line\rjunk\njoe:rest:of:line\nlast:x';
  assert.deepEqual(
    [...passwdFileEntries(text)],
    [
      ['', 'emptykey'],
      ['cr', 'line'],
      ['joe', 'rest:of:line'],
      ['last', 'x'],
    ],
  );
});

test('isAcceptableLogin: 127 bytes, no colon, no control characters', () => {
  assert.equal(isAcceptableLogin('joe'), true);
  assert.equal(isAcceptableLogin('a'.repeat(127)), true);
  assert.equal(isAcceptableLogin('a'.repeat(128)), false);
  assert.equal(isAcceptableLogin('é'.repeat(64)), false);
  assert.equal(isAcceptableLogin(''), false);
  assert.equal(isAcceptableLogin('a:b'), false);
  assert.equal(isAcceptableLogin('a\nb'), false);
  assert.equal(isAcceptableLogin('a\x7fb'), false);
});

test('recordToAccount: chroot, start directory, limits, lists and window', () => {
  const result = recordToAccount(parsePasswdLine(FULL) as PasswdRecord, 'puredb');
  assert.ok('account' in result);
  const a = result.account;
  assert.equal(a.home, '/srv/home/joe');
  assert.equal(a.chroot, false);
  assert.equal(a.startDir, undefined);
  assert.equal(a.backend, 'puredb');
  assert.equal(a.anonymous, false);
  assert.deepEqual(a.quota, { files: 1000, bytes: 10485760 });
  assert.deepEqual(a.ratio, { up: 1, down: 5 });
  assert.deepEqual(a.bandwidth, { up: 51200, down: 102400 });
  assert.equal(a.maxSessions, 3);
  assert.deepEqual(
    a.allowClient?.map((c) => c.text),
    ['127.0.0.1/8', '10.0.0.0/8'],
  );
  assert.deepEqual(a.timeWindow, { from: 540, to: 1080 });
  assert.deepEqual(result.warnings, []);

  const chrooted = recordToAccount(
    parsePasswdLine('j:h:5:6::/srv/j/./pub/../in/./x/') as PasswdRecord,
    'passwd',
  );
  assert.ok('account' in chrooted);
  assert.equal(chrooted.account.home, '/srv/j');
  assert.equal(chrooted.account.chroot, true);
  assert.equal(chrooted.account.startDir, '/in/x');
  assert.equal(chrooted.account.quota, undefined);
  assert.equal(chrooted.account.allowClient, undefined);
  assert.equal('allowClient' in chrooted.account, false);

  const top = recordToAccount(parsePasswdLine('j:h:5:6::/./') as PasswdRecord, 'passwd');
  assert.ok('account' in top);
  assert.equal(top.account.home, '/');
  assert.equal(top.account.startDir, '/');
});

test('recordToAccount: one-sided ratio, zero limits, hostnames', () => {
  const line = 'j:h:5:6::/h/:0:2048:3::0:::::ftp.example.com,10.0.0.1:bad.example.org:2200-130';
  const result = recordToAccount(parsePasswdLine(line) as PasswdRecord, 'puredb');
  assert.ok('account' in result);
  const a = result.account;
  assert.equal(a.home, '/h');
  assert.deepEqual(a.ratio, { up: 3, down: 1 });
  assert.deepEqual(a.bandwidth, { up: undefined, down: 2048 });
  assert.equal(a.maxSessions, undefined);
  // The allow list keeps an entry that matches nothing so that it still locks others out.
  assert.equal(a.allowClient?.length, 2);
  assert.deepEqual(
    a.allowClient?.map((c) => [c.text, c.address.length]),
    [
      ['10.0.0.1', 4],
      ['ftp.example.com', 0],
    ],
  );
  // A deny list of names alone is dropped (names are not resolved here).
  assert.equal(a.denyClient, undefined);
  assert.equal(result.warnings.length, 2);
  assert.match(result.warnings[0], /ftp\.example\.com/);
  assert.deepEqual(a.timeWindow, { from: 22 * 60, to: 90 });
});

test('recordToAccount: root and broken windows are refused', () => {
  for (const line of [
    'r:h:0:5::/h',
    'r:h:5:0::/h',
    'r:h:5:5::/h::::::::::::junk',
    'r:h:5:5::/h::::::::::::2400-0100',
  ]) {
    const result = recordToAccount(parsePasswdLine(line) as PasswdRecord, 'puredb');
    assert.ok('error' in result, line);
  }
});

test(
  'pure-pw writes what formatPasswdLine writes, for every option of upstream §4.1',
  { skip: purePwSkip() },
  () => {
    const file = join(dir, 'opts.passwd');
    // -C 64 keeps the Argon2 calibration well under a second.
    purePw(
      ['useradd', 'joe', '-u', '1000', '-g', '1000', '-d', '/srv/joe//', '-f', file, '-C', '64'],
      'pw\npw\n',
    );
    const steps: string[][] = [
      [],
      ['-c', 'Joe: the User', '-D', '/srv/plain/'],
      ['-t', '100', '-T', '50', '-n', '1000', '-N', '10', '-q', '1', '-Q', '5'],
      ['-r', '127.0.0.1/8,10.0.0.0/8', '-R', '192.168.1.1', '-i', '127.0.0.1', '-I', '10.1.1.1/32'],
      ['-y', '3', '-z', '0900-1800', '-d', '/srv/joe/./sub'],
      ['-y', '0', '-z', '', '-t', '', '-T', '0', '-n', '0', '-N', '', '-q', '', '-Q', '2', '-r', ''],
      ['-u', '2000', '-g', '3000', '-z', '2200-0130'],
    ];
    const seen: string[] = [];
    for (const opts of steps) {
      if (opts.length > 0) purePw(['usermod', 'joe', '-f', file, ...opts]);
      const line = readFileSync(file, 'utf8');
      assert.match(line, /\n$/);
      const record = parsePasswdLine(line.slice(0, -1));
      assert.ok(record, line);
      assert.equal(formatPasswdLine(record) + '\n', line, `round trip after ${opts.join(' ')}`);
      seen.push(line.slice(0, -1).split(':').slice(2).join(':'));
    }
    assert.deepEqual(seen, [
      '1000:1000::/srv/joe/./::::::::::::',
      '1000:1000:Joe_ the User:/srv/plain::::::::::::',
      '1000:1000:Joe_ the User:/srv/plain:51200:102400:1:5::1000:10485760:::::',
      '1000:1000:Joe_ the User:/srv/plain:51200:102400:1:5::1000:10485760:127.0.0.1:10.1.1.1/32:127.0.0.1/8,10.0.0.0/8:192.168.1.1:',
      '1000:1000:Joe_ the User:/srv/joe/./sub/./:51200:102400:1:5:3:1000:10485760:127.0.0.1:10.1.1.1/32:127.0.0.1/8,10.0.0.0/8:192.168.1.1:900-1800',
      // -T 0 leaves the upload bandwidth as it was; '' clears; -n 0 stores 0; -y 0 clears.
      '1000:1000:Joe_ the User:/srv/joe/./sub/./:51200:::2::0::127.0.0.1:10.1.1.1/32::192.168.1.1:',
      '2000:3000:Joe_ the User:/srv/joe/./sub/./:51200:::2::0::127.0.0.1:10.1.1.1/32::192.168.1.1:2200-130',
    ]);
  },
);

test('pure-pw re-reads and rewrites lines exactly as parse+format do', { skip: purePwSkip() }, () => {
  const file = join(dir, 'norm.passwd');
  const inputs = [
    'joe:$6$x$y:1000:1000::/home/joe/./',
    'joe:$6$x$y:1000:1000:G e:/home/joe:0:0:0:0:0:0:0:::::0900-1800',
    'joe:$6$x$y:1000:1000::/h:12abc: 7:+3:x:5:1:2:a:b:c:d:2400-100:extra:fields',
    'joe:$6$x$y:01000:1000::/h:::::::::::: 0930-0001junk',
    'joe:$6$x$y:1000:1000::/h::::::::::::0959-0960',
    FULL.replace(/^full/, 'joe'),
  ];
  for (const input of inputs) {
    writeFileSync(file, input + '\n');
    // usermod without options: pure-pw parses the line and writes it back (add_new_pw_line).
    purePw(['usermod', 'joe', '-f', file]);
    const record = parsePasswdLine(input);
    assert.ok(record, input);
    assert.equal(formatPasswdLine(record) + '\n', readFileSync(file, 'utf8'), input);
  }
});

test('pure-pw show reads our lines', { skip: purePwSkip() }, () => {
  const file = join(dir, 'show.passwd');
  writeFileSync(file, formatPasswdLine(parsePasswdLine(FULL) as PasswdRecord) + '\n');
  const out = purePw(['show', 'full', '-f', file]);
  for (const expected of [
    'Directory          : /srv/home/joe',
    'Full name          : Full User',
    'Download bandwidth : 100 Kb (enabled)',
    'Upload   bandwidth : 50 Kb (enabled)',
    'Max files          : 1000 (enabled)',
    'Max size           : 10 Mb (enabled)',
    'Ratio              : 1:5 (enabled:enabled)',
    'Allowed client IPs : 127.0.0.1/8,10.0.0.0/8',
    'Time restrictions  : 0900-1800 (enabled)',
    'Max sim sessions   : 3 (enabled)',
  ]) {
    assert.ok(out.includes(expected), `${expected}\n--- in ---\n${out}`);
  }
});
