// Fixtures are lines captured from the real Pure-FTPd 1.0.50 (Debian 12) on 2026-11-28 ~01:59 UTC,
// virtual user chrooted in a temp dir (uid 65534, group shown as `nogroup`), with the stat() values below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifySuffix,
  formatColumns,
  formatLongLine,
  isListable,
  mdtmString,
  mlsxFacts,
  mlsxKindForName,
  mlsxLine,
  modeString,
  type LongLineOptions,
} from '../../src/storage/list-format.js';
import { compareNames, sortEntries } from '../../src/storage/order.js';
import type { Entry } from '../../src/storage/types.js';

const NOW = new Date('2026-11-28T01:59:00Z');
const T = 1795831044; // 2026-11-28 01:57:24 UTC

/** An Entry from the values `stat -c '%f|%h|%s|%Y|%i|%u|%g'` printed for the fixture tree. */
function e(name: string, hexMode: string, nlink: number, size: number, mtime: number, ino: number): Entry {
  const mode = parseInt(hexMode, 16);
  const fmt = mode & 0o170000;
  const type = fmt === 0o100000 ? 'file' : fmt === 0o040000 ? 'dir' : fmt === 0o120000 ? 'symlink' : 'other';
  return {
    name,
    type,
    size,
    mtime: new Date(mtime * 1000),
    mode,
    nlink,
    uid: 65534,
    gid: 65534,
    dev: 65024,
    ino,
  };
}

const F = {
  hello: e('hello.txt', '81a4', 1, 18, T, 2146642),
  renamed: e('renamed.txt', '81a4', 1, 17, 1641117600, 2146643),
  huge: e('huge', '81a4', 1, 10000000001, T, 2146660),
  big9: e('big9', '81a4', 1, 9999999999, T, 2146661),
  linkHello: {
    ...e('link-to-hello', 'a1ff', 1, 9, T, 2146648),
    uid: 1234,
    gid: 5678,
    linkTarget: 'hello.txt',
  },
  linkSub: { ...e('link-to-sub', 'a1ff', 1, 3, T, 2146649), linkTarget: 'sub' },
  dangling: { ...e('dangling', 'a1ff', 1, 7, T, 2146650), linkTarget: 'nowhere' },
  sticky: e('sticky', '43ff', 2, 4096, T, 2146657),
  stickynx: e('stickynx', '43f8', 2, 4096, T, 2146658),
  suid: e('suid', '89ed', 1, 2, T, 2146653),
  suidnx: e('suidnx', '89a4', 1, 2, T, 2146654),
  sgid: e('sgid', '85ed', 1, 2, T, 2146655),
  sgidnx: e('sgidnx', '85a4', 1, 2, T, 2146656),
  gexec: e('gexec', '8188', 1, 2, T, 2146652),
  run: e('run.sh', '81ed', 1, 10, T, 2146651),
  future: e('future', '81a4', 1, 0, 4085195400, 2146662),
  old190: e('old190', '81a4', 1, 0, 1779453240, 2146664),
  recent170: e('recent170', '81a4', 1, 0, 1781181240, 2146663),
  fifo: e('fifo', '11a4', 1, 0, T, 2146659),
  root: e('.', '41ed', 5, 4096, 1795831130, 2146641),
  sub: e('sub', '41ed', 3, 4096, T, 2146644),
};

const UTC: LongLineOptions = { now: NOW, owner: '65534', group: 'nogroup', classify: false, timezone: 'UTC' };
const long = (entry: Entry, extra: Partial<LongLineOptions> = {}): string =>
  formatLongLine(entry, {
    ...UTC,
    ...(entry.uid === 1234 ? { owner: '1234', group: '5678' } : {}),
    ...extra,
  });

test('LIST lines match Pure-FTPd byte for byte', () => {
  const cases: Array<[Entry, string]> = [
    [F.hello, '-rw-r--r--    1 65534      nogroup            18 Nov 28 01:57 hello.txt'],
    [F.renamed, '-rw-r--r--    1 65534      nogroup            17 Jan  2  2022 renamed.txt'],
    [F.huge, '-rw-r--r--    1 65534      nogroup           10000000001 Nov 28 01:57 huge'],
    [F.big9, '-rw-r--r--    1 65534      nogroup    9999999999 Nov 28 01:57 big9'],
    [F.linkHello, 'lrwxrwxrwx    1 1234       5678                9 Nov 28 01:57 link-to-hello -> hello.txt'],
    [F.dangling, 'lrwxrwxrwx    1 65534      nogroup             7 Nov 28 01:57 dangling -> nowhere'],
    [F.future, '-rw-r--r--    1 65534      nogroup             0 Jun 15 08:30 future'],
    [F.old190, '-rw-r--r--    1 65534      nogroup             0 May 22  2026 old190'],
    [F.recent170, '-rw-r--r--    1 65534      nogroup             0 Jun 11 12:34 recent170'],
    [F.sticky, 'drwxrwxrwt    2 65534      nogroup          4096 Nov 28 01:57 sticky'],
    [F.stickynx, 'drwxrwx--T    2 65534      nogroup          4096 Nov 28 01:57 stickynx'],
    [F.suid, '-rwsr-xr-x    1 65534      nogroup             2 Nov 28 01:57 suid'],
    [F.suidnx, '-rwSr--r--    1 65534      nogroup             2 Nov 28 01:57 suidnx'],
    [F.sgid, '-rwxr-sr-x    1 65534      nogroup             2 Nov 28 01:57 sgid'],
    [F.sgidnx, '-rw-r-Sr--    1 65534      nogroup             2 Nov 28 01:57 sgidnx'],
    [F.gexec, '-rw---x---    1 65534      nogroup             2 Nov 28 01:57 gexec'],
  ];
  for (const [entry, expected] of cases) assert.equal(long(entry), expected);
});

test('LIST -F suffixes: symlinks take theirs from the target, group-only exec gets none', () => {
  const F_ = { classify: true };
  assert.equal(long(F.run, F_), '-rwxr-xr-x    1 65534      nogroup            10 Nov 28 01:57 run.sh*');
  assert.equal(long(F.sticky, F_), 'drwxrwxrwt    2 65534      nogroup          4096 Nov 28 01:57 sticky/');
  assert.equal(long(F.gexec, F_), '-rw---x---    1 65534      nogroup             2 Nov 28 01:57 gexec');
  assert.equal(long(F.sgid, F_), '-rwxr-sr-x    1 65534      nogroup             2 Nov 28 01:57 sgid*');
  assert.equal(
    long(F.linkSub, { ...F_, linkTargetStat: F.sub }),
    'lrwxrwxrwx    1 65534      nogroup             3 Nov 28 01:57 link-to-sub -> sub/',
  );
  assert.equal(
    long(F.linkHello, { ...F_, linkTargetStat: F.hello }),
    'lrwxrwxrwx    1 1234       5678                9 Nov 28 01:57 link-to-hello -> hello.txt',
  );
  assert.equal(long(F.dangling, F_).endsWith('dangling -> nowhere'), true);
  assert.deepEqual(
    [F.linkSub, F.sub, F.run, F.hello, F.gexec].map(classifySuffix),
    ['@', '/', '*', '', ''], // short (-1F/-CF) forms [obs]
  );
});

test('LIST uses local time; the zone can be named or taken from the host', () => {
  const ist = { timezone: 'Asia/Kolkata' }; // server started with TZ=Asia/Kolkata [obs]
  assert.equal(long(F.hello, ist), '-rw-r--r--    1 65534      nogroup            18 Nov 28 07:27 hello.txt');
  assert.equal(long(F.future, ist), '-rw-r--r--    1 65534      nogroup             0 Jun 15 14:00 future');
  const saved = process.env.TZ;
  process.env.TZ = 'Asia/Kolkata';
  try {
    assert.equal(long(F.hello, { timezone: undefined }), long(F.hello, ist));
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});

test('owner and group are cut to 10 bytes and padded (%-10.10s)', () => {
  assert.equal(
    long(F.hello, { group: 'systemd-journal', timezone: 'Asia/Kolkata' }),
    '-rw-r--r--    1 65534      systemd-jo         18 Nov 28 07:27 hello.txt', // [obs] user with gid 999
  );
  assert.ok(long(F.hello, { owner: 'ü' }).includes(`    1 ü${' '.repeat(9)}nogroup `)); // 2 bytes + 8 pad
});

test('the 180-day rule counts whole seconds; an unreadable link shows `..`', () => {
  const limit = new Date(NOW.getTime() - 180 * 86400 * 1000);
  assert.match(long({ ...F.hello, mtime: limit }), / 01:59 hello\.txt$/);
  assert.match(long({ ...F.hello, mtime: new Date(limit.getTime() - 1000) }), / {2}2026 hello\.txt$/);
  assert.match(long({ ...F.dangling, linkTarget: undefined }), /dangling -> \.\.$/);
});

test('modeString covers every file type', () => {
  const other = (mode: number): Entry => ({ ...F.fifo, mode });
  assert.equal(modeString(F.fifo), 'prw-r--r--');
  assert.equal(modeString(other(0o140755)), 'srwxr-xr-x');
  assert.equal(modeString(other(0o020660)), 'crw-rw----');
  assert.equal(modeString(other(0o060660)), 'brw-rw----');
  assert.equal(modeString({ type: 'dir', mode: 0o7777 }), 'drwsrwsrwt');
  assert.equal(modeString({ type: 'file', mode: 0o7000 }), '---S--S--T');
  assert.deepEqual([F.hello, F.sub, F.linkSub, F.fifo].map(isListable), [true, true, true, false]);
  assert.equal(classifySuffix(F.fifo), '|');
  assert.equal(classifySuffix(other(0o140755)), '=');
});

test('LIST -C columns match Pure-FTPd (tabs, 75 wide, down then across)', () => {
  const names = ['B2', 'Zeta', '_under', 'a[1]', 'alpha', 'b10', 'big9', 'dangling', 'future', 'gexec'];
  names.push('hello.txt', 'huge', 'link-to-hello', 'link-to-sub', 'old190', 'recent170', 'renamed.txt');
  names.push('run.sh', 'sgid', 'sgidnx', 'star*name', 'sticky', 'stickynx', 'sub', 'suid', 'suidnx');
  names.push('with space', 'Äpfel', 'éclair');
  const captured =
    'B2\t\tfuture\t\trenamed.txt\tsuid\r\nZeta\t\tgexec\t\trun.sh\t\tsuidnx\r\n' +
    '_under\t\thello.txt\tsgid\t\twith space\r\na[1]\t\thuge\t\tsgidnx\t\tÄpfel\r\n' +
    'alpha\t\tlink-to-hello\tstar*name\téclair\r\nb10\t\tlink-to-sub\tsticky\r\n' +
    'big9\t\told190\t\tstickynx\r\ndangling\trecent170\tsub\r\n';
  assert.equal(formatColumns(names).join('\r\n') + '\r\n', captured);
  const cols = ['1234567', '12345678', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'];
  assert.deepEqual(formatColumns(cols), [
    '1234567\t\tc\t\tg\t\tk',
    '12345678\td\t\th',
    'a\t\te\t\ti',
    'b\t\tf\t\tj',
  ]);
  const wide = ['123456789012345', '1234567890123456789012345678901234567', 'x', 'y', 'z'];
  assert.deepEqual(formatColumns(wide), wide); // a 40-wide column leaves room for one
  assert.deepEqual(formatColumns(['cols/b', 'cols/c']), ['cols/b\tcols/c']);
  assert.deepEqual(formatColumns([]), []);
});

test('compareNames is strcmp on UTF-8 bytes', () => {
  const sorted = ['éclair', 'B2', 'a[1]', '_under', 'Zeta', 'Äpfel', 'alpha'].sort(compareNames);
  assert.deepEqual(sorted, ['B2', 'Zeta', '_under', 'a[1]', 'alpha', 'Äpfel', 'éclair']);
  // U+FFFD is EF BF BD, U+1F600 is F0 9F 98 80: UTF-16 order would say the opposite.
  assert.equal(compareNames('\u{1F600}', '\uFFFD'), 1);
  assert.equal(compareNames('\uFFFD', '\u{1F600}'), -1);
  assert.equal(compareNames('ab', 'abc'), -1);
  assert.equal(compareNames('abc', 'abc'), 0);
});

test('sortEntries: -S/-t keep readdir order on ties, like Pure-FTPd', () => {
  // readdir order of the fixture directory, as NLST printed it [obs]; no names among the ties collide.
  const readdir = [F.linkSub, F.sgid, F.run, F.sgidnx, F.old190, F.dangling, F.gexec, F.suid, F.big9];
  readdir.push(F.renamed, F.hello, F.sub, F.huge, F.linkHello, F.sticky, F.stickynx, F.future, F.suidnx);
  const names = (xs: Entry[]): string[] => xs.map((x) => x.name);
  const bySize = ['huge', 'big9', 'sub', 'sticky', 'stickynx', 'hello.txt', 'renamed.txt', 'run.sh'];
  bySize.push('link-to-hello', 'dangling', 'link-to-sub', 'sgid', 'sgidnx', 'gexec', 'suid', 'suidnx');
  bySize.push('old190', 'future');
  assert.deepEqual(names(sortEntries(readdir, { reverse: false, sortTime: false, sortSize: true })), bySize);
  const byTime = names(sortEntries(readdir, { reverse: false, sortTime: true, sortSize: false }));
  assert.deepEqual(byTime.slice(0, 4), ['future', 'link-to-sub', 'sgid', 'run.sh']);
  assert.deepEqual(byTime.slice(-2), ['old190', 'renamed.txt']);
  const reversed = names(sortEntries(readdir, { reverse: true, sortTime: true, sortSize: false }));
  assert.deepEqual(reversed.slice(0, 3), ['renamed.txt', 'old190', 'link-to-sub']); // ties stay in order
  const byName = names(sortEntries(readdir, { reverse: true, sortTime: false, sortSize: false }));
  assert.deepEqual(byName.slice(0, 3), ['suidnx', 'suid', 'sub']);
  const subSecond = [
    { ...F.hello, name: 'b', mtime: new Date(T * 1000 + 100) },
    { ...F.hello, name: 'a', mtime: new Date(T * 1000 + 900) },
  ];
  assert.deepEqual(names(sortEntries(subSecond, { reverse: false, sortTime: true, sortSize: false })), [
    'b',
    'a',
  ]);
});

test('MLSx facts match Pure-FTPd for a non-anonymous user', () => {
  const user = { anonymous: false };
  const line = (entry: Entry, name = entry.name): string =>
    mlsxLine(mlsxFacts(entry, { ...user, kind: mlsxKindForName(name) }), name);
  const common = 'UNIX.uid=65534;UNIX.gid=65534;unique=fe00g';
  assert.equal(
    line(F.hello),
    `type=file;size=18;modify=20261128015724;UNIX.mode=0644;${common}20c152; hello.txt`,
  );
  assert.equal(
    line(F.linkHello),
    'type=OS.unix=slink:;size=9;modify=20261128015724;UNIX.mode=0777;UNIX.uid=1234;UNIX.gid=5678;' +
      'unique=fe00g20c158; link-to-hello',
  );
  assert.equal(
    line(F.dangling),
    `type=OS.unix=slink:;size=7;modify=20261128015724;UNIX.mode=0777;${common}20c15a; dangling`,
  );
  assert.equal(
    line(F.sticky),
    `type=dir;sizd=4096;modify=20261128015724;UNIX.mode=01777;${common}20c161; sticky`,
  );
  assert.equal(line(F.suid), `type=file;size=2;modify=20261128015724;UNIX.mode=04755;${common}20c15d; suid`);
  assert.equal(
    line(F.fifo),
    `type=unknown;size=0;modify=20261128015724;UNIX.mode=0644;${common}20c163; fifo`,
  );
  assert.equal(
    line(F.renamed),
    `type=file;size=17;modify=20220102100000;UNIX.mode=0644;${common}20c153; renamed.txt`,
  );
  const root = { ...F.root };
  assert.equal(
    line(root, '/'),
    `type=pdir;sizd=4096;modify=20261128015850;UNIX.mode=0755;${common}20c151; /`,
  );
  assert.equal(
    line(root, '.'),
    `type=cdir;sizd=4096;modify=20261128015850;UNIX.mode=0755;${common}20c151; .`,
  );
  assert.equal(line(root, '..').startsWith('type=pdir;sizd=4096;'), true);
  assert.equal(line(root, './').startsWith('type=dir;sizd=4096;'), true); // [obs] MLST ./
  assert.equal(mlsxKindForName('sub'), undefined);
});

test('MLSx facts for anonymous sessions and unsafe symlink targets (ftpd.c modernformat)', () => {
  const anon = { anonymous: true };
  assert.equal(
    mlsxFacts(F.linkHello, anon),
    'type=OS.unix=slink:hello.txt;size=9;modify=20261128015724;UNIX.mode=0777;unique=fe00g20c158;',
  );
  assert.equal(
    mlsxFacts(F.hello, anon),
    'type=file;size=18;modify=20261128015724;UNIX.mode=0644;unique=fe00g20c152;',
  );
  assert.match(mlsxFacts({ ...F.linkHello, linkTarget: 'a;b' }, anon), /^type=OS\.unix=symlink;/);
  assert.match(
    mlsxFacts({ ...F.linkHello, linkTarget: undefined }, { anonymous: false }),
    /^type=OS\.unix=symlink;/,
  );
  assert.match(mlsxFacts(F.linkHello, { anonymous: true, symlinkTarget: '/x' }), /^type=OS\.unix=slink:\/x;/);
  assert.match(mlsxFacts({ ...F.hello, dev: 2 ** 32 + 0xab }, anon), /unique=abg20c152;$/);
  assert.match(mlsxFacts({ ...F.hello, mode: 0o100000 }, anon), /UNIX\.mode=00;/);
});

test('mdtmString is UTC YYYYMMDDHHMMSS', () => {
  assert.equal(mdtmString(new Date(T * 1000 + 999)), '20261128015724'); // MDTM hello.txt [obs]
  assert.equal(mdtmString(new Date('2022-01-02T10:00:00Z')), '20220102100000');
  assert.equal(mdtmString(new Date('0999-03-04T05:06:07Z')), '09990304050607');
});
