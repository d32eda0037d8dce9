/**
 * Unit tests of the SQL configuration files and query binding (upstream §3.6): Pure-FTPd's keyword
 * parser rules and messages, the placeholder rewrite into bound parameters, the size cap, the
 * login charset, `\D`, the units and the crypt methods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  SqlConfigError,
  loadSqlSettings,
  parseSqlKeywords,
  parseSqlSettings,
} from '../../src/auth/backends/sql-conf.js';
import {
  MAX_QUERY_BYTES,
  bindValues,
  compileQuery,
  decimalIPv4,
  isValidSqlLogin,
  placeholderValues,
  positive,
  resolveId,
} from '../../src/auth/backends/sql-common.js';
import { checkSqlPassword } from '../../src/auth/backends/sql-auth.js';
import { SystemDb } from '../../src/auth/system-db.js';
import { cryptWithSetting, hashPassword } from '../../src/auth/hashes/index.js';

const MINIMAL = [
  'MYSQLServer 127.0.0.1',
  "MYSQLGetPW SELECT Password FROM users WHERE User='\\L'",
  "MYSQLGetUID SELECT Uid FROM users WHERE User='\\L'",
  "MYSQLGetGID SELECT Gid FROM users WHERE User='\\L'",
  "MYSQLGetDir SELECT Dir FROM users WHERE User='\\L'",
].join('\n');

test('generic_parser: prefix match, any case, comments, blanks, last value wins, trimmed values', () => {
  const text = [
    '# comment',
    '   ',
    '  mysqlserver   db.example   ',
    'MYSQLServerother.example',
    '\t# indented comment',
    'MySQLPort 3307\r',
  ].join('\n');
  const m = parseSqlKeywords(text, 'x.conf', ['MYSQLServer', 'MYSQLPort']);
  assert.deepEqual(m.get('MYSQLServer'), { value: 'other.example', line: 4 });
  assert.deepEqual(m.get('MYSQLPort'), { value: '3307', line: 6 });
});

test('generic_parser: an unknown keyword or a keyword without value names the file and line', () => {
  assert.throws(
    () => parseSqlKeywords('MYSQLServer a\nMYSQLServr b\n', '/etc/m.conf', ['MYSQLServer']),
    (e: Error) =>
      e instanceof SqlConfigError && e.message.startsWith('/etc/m.conf:2: unknown keyword "MYSQLServr"'),
  );
  assert.throws(
    () => parseSqlKeywords('\n\nMYSQLServer   \n', '/etc/m.conf', ['MYSQLServer']),
    /^SqlConfigError: \/etc\/m\.conf:3: MYSQLServer has no value/,
  );
});

test('settings: defaults, crypt fallback to cleartext with a warning, transactions, tilde', () => {
  const s = parseSqlSettings(
    `${MINIMAL}\nMYSQLCrypt md5\nMYSQLTransactions on\nMYSQLPort 99999\n`,
    'f',
    'mysql',
  );
  assert.equal(s.crypt, 'cleartext');
  assert.equal(s.port, 3306);
  assert.equal(s.transactions, true);
  assert.equal(s.forceTildeExpansion, false);
  assert.equal(s.warnings.length, 2);
  const p = parseSqlSettings(MINIMAL.replaceAll('MYSQL', 'PGSQL') + '\nPGSQLCrypt ARGON2\n', 'f', 'pgsql');
  assert.equal(p.crypt, 'argon2');
  assert.equal(p.port, 5432);
  assert.equal(p.transactions, true, 'PostgreSQL always uses a transaction');
  assert.equal(p.queries.GetPW?.sql, 'SELECT Password FROM users WHERE User=$1');
});

test('settings: PostgreSQL knows no MYSQL keys nor PGSQLSocket; required keys are checked', () => {
  assert.throws(
    () => parseSqlSettings('PGSQLSocket /tmp/x\n', 'p.conf', 'pgsql'),
    /p\.conf:1: unknown keyword/,
  );
  assert.throws(
    () => parseSqlSettings(MINIMAL, 'p.conf', 'pgsql'),
    /p\.conf:1: unknown keyword "MYSQLServer"/,
  );
  assert.throws(
    () => parseSqlSettings(MINIMAL.split('\n').slice(1).join('\n'), 'm', 'mysql'),
    /MYSQLServer or MYSQLSocket/,
  );
  const noUid = MINIMAL.split('\n')
    .filter((l) => !l.startsWith('MYSQLGetUID'))
    .join('\n');
  assert.throws(() => parseSqlSettings(noUid, 'm', 'mysql'), /MYSQLGetUID or MYSQLDefaultUID is required/);
  assert.equal(parseSqlSettings(`${noUid}\nMYSQLDefaultUID 1000`, 'm', 'mysql').defaultUid, '1000');
  assert.throws(
    () => parseSqlSettings(`${MINIMAL}\nMYSQLGetQTAFS SELECT 'unterminated`, 'm.conf', 'mysql'),
    /m\.conf:6: MYSQLGetQTAFS: unterminated string literal/,
  );
});

test('loadSqlSettings: an unreadable file is a start-up error naming it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-sqlconf-'));
  try {
    assert.throws(
      () => loadSqlSettings(path.join(dir, 'none.conf'), 'mysql'),
      /none\.conf: cannot read .*ENOENT/,
    );
    await writeFile(path.join(dir, 'ok.conf'), MINIMAL);
    assert.equal(loadSqlSettings(path.join(dir, 'ok.conf'), 'mysql').server, '127.0.0.1');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('compileQuery: placeholders become bound parameters, never text', () => {
  const my = compileQuery('SELECT Dir FROM users WHERE User=\'\\L\' AND Ip="\\r" AND Port=\\P', 'mysql');
  assert.equal(my.sql, 'SELECT Dir FROM users WHERE User=? AND Ip=? AND Port=?');
  assert.deepEqual(my.params, ['L', 'R', 'P']);
  const pg = compileQuery("SELECT Dir FROM users WHERE User='\\L' AND Ip='\\R' AND n=\\d", 'pgsql');
  assert.equal(pg.sql, 'SELECT Dir FROM users WHERE User=$1 AND Ip=$2 AND n=$3');
  assert.deepEqual(pg.params, ['L', 'R', 'D']);
});

test('compileQuery: mixed literals become concatenations; escapes, comments and other \\x are kept', () => {
  assert.equal(
    compileQuery(
      "SELECT CONCAT('/home/', '\\L') FROM t WHERE a LIKE '\\I:%' AND b='it''s \\'q\\' \\x'",
      'mysql',
    ).sql,
    "SELECT CONCAT('/home/', ?) FROM t WHERE a LIKE CONCAT(?, ':%') AND b='it''s \\'q\\' \\x'",
  );
  assert.equal(
    compileQuery("SELECT '/srv/' || '\\L' || '/./' WHERE x = 'a\\Lb' -- \\L", 'pgsql').sql,
    "SELECT '/srv/' || $1 || '/./' WHERE x = ('a' || $2::text || 'b') -- \\L",
  );
  assert.equal(compileQuery('SELECT 1\x01\t FROM t \\', 'mysql').sql, 'SELECT 1 FROM t \\');
});

test('compileQuery: placeholders that cannot be bound are refused at start-up', () => {
  assert.throws(() => compileQuery('SELECT "\\L" FROM t', 'pgsql'), /quoted identifier/);
  assert.throws(() => compileQuery('SELECT `\\L` FROM t', 'mysql'), /quoted identifier/);
  assert.throws(() => compileQuery("SELECT E'\\L'", 'pgsql'), /prefixed string literal/);
});

test('bindValues: the values of each occurrence, and the 8192-byte cap of the substituted query', () => {
  const q = compileQuery("SELECT x FROM t WHERE u='\\L' OR v='\\L' AND d='\\D'", 'mysql');
  const values = placeholderValues("o'brien", {
    password: 'p',
    remoteIp: '10.0.0.1',
    localIp: '127.0.0.1',
    localPort: 21,
    tls: false,
  });
  assert.deepEqual(bindValues(q, values), ["o'brien", "o'brien", '167772161']);
  const small = compileQuery('\\L', 'mysql');
  assert.deepEqual(bindValues(small, { ...values, L: 'x'.repeat(MAX_QUERY_BYTES - 1) })?.length, 1);
  assert.equal(bindValues(small, { ...values, L: 'x'.repeat(MAX_QUERY_BYTES) }), undefined);
});

test('\\D, the login charset and the units', () => {
  assert.equal(decimalIPv4('192.168.1.1'), '3232235777');
  assert.equal(decimalIPv4('255.255.255.255'), '4294967295');
  assert.equal(decimalIPv4('::ffff:1.2.3.4'), '16909060');
  assert.equal(decimalIPv4('::1'), '');
  for (const ok of ['joe', "o'brien", 'a.b@c+d:e-f_g', 'with space']) assert.ok(isValidSqlLogin(ok), ok);
  for (const bad of ["' OR 1=1 --", 'a;b', 'a"b', 'a\\b', 'é', '', 'a/b', 'a%'])
    assert.ok(!isValidSqlLogin(bad), bad);
  assert.equal(positive('10', 1024 * 1024), 10 * 1024 * 1024);
  assert.equal(positive('0'), undefined);
  assert.equal(positive('-5'), undefined);
  assert.equal(positive('12abc', 1024), 12 * 1024);
  assert.equal(positive('abc'), undefined);
});

test('crypt methods: cleartext, argon2, scrypt, crypt and any accept only their hashes', async () => {
  const argon = await hashPassword('pw', { memoryKiB: 8192, timeCost: 1 });
  const sha = (await cryptWithSetting('pw', '$6$saltsalt'))!;
  const scrypt = (await cryptWithSetting('pw', '$7$6U..../....abcdefgh'))!;
  assert.equal(await checkSqlPassword('cleartext', 'pw', 'pw'), true);
  assert.equal(await checkSqlPassword('cleartext', 'pw', 'pw2'), false);
  assert.equal(await checkSqlPassword('cleartext', '', ''), false, 'empty cleartext passwords are refused');
  assert.equal(await checkSqlPassword('cleartext', 'pw', sha), false);
  assert.equal(await checkSqlPassword('argon2', 'pw', argon), true);
  assert.equal(await checkSqlPassword('argon2', 'pw', sha), false);
  assert.equal(await checkSqlPassword('scrypt', 'pw', scrypt), true);
  assert.equal(await checkSqlPassword('scrypt', 'pw', argon), false);
  assert.equal(await checkSqlPassword('crypt', 'pw', sha), true);
  assert.equal(await checkSqlPassword('crypt', 'pw', argon), false);
  for (const h of [argon, sha, scrypt]) assert.equal(await checkSqlPassword('any', 'pw', h), true);
  assert.equal(await checkSqlPassword('any', 'pw', 'pw'), false, 'any never compares cleartext');
  assert.equal(await checkSqlPassword('any', 'bad', sha), false);
});

test('uid/gid: numbers or names, 0 and unknown names refused', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-ids-'));
  try {
    const file = path.join(dir, 'passwd');
    await writeFile(file, 'root:x:0:0::/root:/bin/sh\nftpuser:x:2001:2000::/home:/bin/false\n');
    const users = new SystemDb({ passwd: file, group: path.join(dir, 'group') });
    const db = async (name: string) => (await users.userByName(name))?.uid;
    assert.equal(await resolveId('1000', db), 1000);
    assert.equal(await resolveId('ftpuser', db), 2001);
    assert.equal(await resolveId('0', db), undefined);
    assert.equal(await resolveId('root', db), undefined);
    assert.equal(await resolveId('nobody-here', db), undefined);
    assert.equal(await resolveId('99999999999', db), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
