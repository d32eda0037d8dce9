import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FtpError } from '../../src/errors.js';
import { passwdFileEntries } from '../../src/auth/passwd-line.js';
import {
  PDB_BROKEN_MESSAGE,
  PureDbReader,
  pureDbHash,
  writePureDb,
  type PureDbEntry,
} from '../../src/auth/pdb.js';
import { purePw, purePwSkip } from './pure-pw.helper.js';

const dir = mkdtempSync(join(tmpdir(), 'tsftpd-pdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What `pure-pw mkdb` would index, bytes kept exact (latin1 round-trips every byte). */
function mkdbEntries(passwdFile: string): PureDbEntry[] {
  const text = readFileSync(passwdFile, 'latin1');
  return [...passwdFileEntries(text)].map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v, 'latin1')]);
}

/** A passwd file exercising comments, blank lines, skipped lines, duplicates and non-ASCII logins. */
function samplePasswd(users: number): string {
  const lines = ['# comment', '', 'nocolon', 'empty:', ':emptykey', 'cr:line\rjunk', 'ünï:x:1:1::/ü'];
  for (let i = 0; i < users; i++)
    lines.push(`user${i}:$6$salt$hash${i}:${1000 + i}:1000::/home/u${i}/./::::::::::::`);
  lines.push('user5:duplicate:1:1::/dup');
  return lines.join('\n') + '\n';
}

const expectBroken = (err: unknown): boolean => {
  assert.ok(err instanceof FtpError);
  assert.equal(err.reply, 421);
  assert.equal(err.text, PDB_BROKEN_MESSAGE);
  return true;
};

test('pureDbHash: djb2 over the bytes, last to first (upstream §3.4)', () => {
  // Independent reference in BigInt: h = (h + (h << 5)) mod 2^32; h ^= byte, from the end.
  const reference = (key: Buffer): number => {
    let h = 5381n;
    for (let i = key.length - 1; i >= 0; i--) h = ((h + (h << 5n)) & 0xffffffffn) ^ BigInt(key[i]);
    return Number(h);
  };
  for (const key of ['', 'a', 'ab', 'joe', 'a-much-longer-login-name@example.com', 'ünï']) {
    assert.equal(pureDbHash(Buffer.from(key)), reference(Buffer.from(key)), key);
  }
  assert.equal(
    pureDbHash(Buffer.from([255, 255, 255, 255, 255, 255, 255, 255])),
    reference(Buffer.alloc(8, 255)),
  );
});

test('write then read back: order, duplicates, empty key, binary keys, big values', async () => {
  const path = join(dir, 'rw.pdb');
  const big = randomBytes(3 << 20);
  const entries: PureDbEntry[] = [
    ['joe', 'first'],
    ['joe', 'second'],
    ['', 'empty key'],
    [Buffer.from([0, 255, 10, 13]), 'binary'],
    ['big', big],
    ['mid', 'x'.repeat(5000)],
    ['ünïcødé', 'utf8'],
  ];
  for (let i = 0; i < 5000; i++) entries.push([`k${i}`, `v${i}`]);
  const { count, size } = await writePureDb(path, entries);
  assert.equal(count, entries.length);
  assert.equal(readFileSync(path).length, size);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('rw.pdb.')),
    [],
    'temp files removed',
  );
  const r = new PureDbReader(path);
  try {
    assert.equal(String(await r.lookup('joe')), 'first', 'first duplicate wins, as in puredb');
    assert.equal(String(await r.lookup('')), 'empty key');
    assert.equal(String(await r.lookup(Buffer.from([0, 255, 10, 13]))), 'binary');
    assert.ok((await r.lookup('big'))?.equals(big));
    assert.equal((await r.lookup('mid'))?.length, 5000);
    assert.equal(String(await r.lookup('ünïcødé')), 'utf8');
    for (let i = 0; i < 5000; i += 97) assert.equal(String(await r.lookup(`k${i}`)), `v${i}`);
    assert.equal(await r.lookup('k5000'), undefined);
    assert.equal(await r.lookup('jo'), undefined);
  } finally {
    await r.close();
  }
});

test('an empty database is valid and finds nothing', async () => {
  const path = join(dir, 'empty.pdb');
  await writePureDb(path, []);
  assert.equal(readFileSync(path).length, 4 + 257 * 4 + 256 * 4);
  const r = new PureDbReader(path);
  assert.equal(await r.lookup('anyone'), undefined);
  await r.close();
});

test('colliding hashes and a bucket bigger than one read window', async () => {
  // Keys whose first byte (hashed last) is chosen so that every key lands in bucket 7.
  const entries: PureDbEntry[] = [];
  for (let i = 0; i < 20000; i++) {
    const tail = Buffer.from(`key-${i}`);
    const h = pureDbHash(tail);
    const first = ((Math.imul(h, 33) >>> 0) & 0xff) ^ 7;
    entries.push([Buffer.concat([Buffer.from([first]), tail]), `value-${i}`]);
  }
  // Two keys with the same full 32-bit hash (birthday search over short keys).
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; pair === undefined; i++) {
    const k = `c${i.toString(36)}`;
    const h = pureDbHash(Buffer.from(k));
    const other = seen.get(h);
    if (other !== undefined) pair = [other, k];
    else seen.set(h, k);
  }
  entries.push([pair[0], 'A'], [pair[1], 'B']);
  const path = join(dir, 'collide.pdb');
  await writePureDb(path, entries);
  const r = new PureDbReader(path);
  try {
    for (let i = 0; i < 20000; i += 499) {
      const [key, value] = entries[i];
      assert.equal(String(await r.lookup(key)), value);
    }
    assert.equal(String(await r.lookup(entries[19999][0])), 'value-19999');
    assert.equal(String(await r.lookup(pair[0])), 'A');
    assert.equal(String(await r.lookup(pair[1])), 'B');
  } finally {
    await r.close();
  }
});

test('the reader notices a replaced file (rename) without being reopened', async () => {
  const path = join(dir, 'swap.pdb');
  await writePureDb(path, [['joe', 'v1']]);
  const r = new PureDbReader(path);
  try {
    assert.equal(String(await r.lookup('joe')), 'v1');
    await writePureDb(path, [
      ['joe', 'v2'],
      ['ann', 'new'],
    ]);
    assert.equal(String(await r.lookup('joe')), 'v2');
    assert.equal(String(await r.lookup('ann')), 'new');
    const throttled = new PureDbReader(path, { checkIntervalMs: 60_000 });
    assert.equal(String(await throttled.lookup('ann')), 'new');
    await writePureDb(path, [['ann', 'newer']]);
    assert.equal(String(await throttled.lookup('ann')), 'new', 'no stat within the interval');
    await throttled.close();
  } finally {
    await r.close();
  }
});

test('missing, short, old-format and corrupt files give the 421 text', async () => {
  await assert.rejects(new PureDbReader(join(dir, 'nope.pdb')).lookup('x'), expectBroken);
  const short = join(dir, 'short.pdb');
  writeFileSync(short, 'PDB2');
  await assert.rejects(new PureDbReader(short).lookup('x'), expectBroken);
  const path = join(dir, 'corrupt.pdb');
  await writePureDb(path, [['joe', 'v']]);
  const good = readFileSync(path);
  const old = Buffer.from(good);
  old.write('PDB1', 0, 'latin1');
  writeFileSync(path, old);
  await assert.rejects(new PureDbReader(path).lookup('joe'), expectBroken);
  const bucket = pureDbHash(Buffer.from('joe')) & 0xff;
  const badTable = Buffer.from(good);
  badTable.writeUInt32BE(0xfffffff0, 4 + (bucket + 1) * 4);
  writeFileSync(path, badTable);
  await assert.rejects(new PureDbReader(path).lookup('joe'), expectBroken);
  const badRecord = Buffer.from(good);
  badRecord.writeUInt32BE(0x7fffffff, badRecord.readUInt32BE(4 + bucket * 4) + 4);
  writeFileSync(path, badRecord);
  await assert.rejects(new PureDbReader(path).lookup('joe'), expectBroken);
  const truncated = good.subarray(0, good.length - 1);
  writeFileSync(path, truncated);
  await assert.rejects(new PureDbReader(path).lookup('joe'), expectBroken);
  assert.equal(existsSync(path), true);
});

test('byte-identical to pure-pw mkdb for the same passwd file', { skip: purePwSkip() }, async () => {
  for (const users of [0, 1, 3000]) {
    const passwd = join(dir, `cmp${users}.passwd`);
    writeFileSync(passwd, samplePasswd(users));
    const theirs = join(dir, `theirs${users}.pdb`);
    const ours = join(dir, `ours${users}.pdb`);
    purePw(['mkdb', theirs, '-f', passwd]);
    await writePureDb(ours, mkdbEntries(passwd));
    assert.ok(readFileSync(ours).equals(readFileSync(theirs)), `${users} users: files differ`);
  }
});

test(
  'reads a .pdb written by pure-pw, and sees it replaced by pure-pw mkdb',
  { skip: purePwSkip() },
  async () => {
    const passwd = join(dir, 'real.passwd');
    const pdb = join(dir, 'real.pdb');
    writeFileSync(passwd, samplePasswd(300));
    purePw(['mkdb', pdb, '-f', passwd]);
    const r = new PureDbReader(pdb);
    try {
      assert.equal(String(await r.lookup('user5')), '$6$salt$hash5:1005:1000::/home/u5/./::::::::::::');
      assert.equal(String(await r.lookup('user299')), '$6$salt$hash299:1299:1000::/home/u299/./::::::::::::');
      assert.equal(String(await r.lookup('ünï')), 'x:1:1::/ü');
      assert.equal(String(await r.lookup('cr')), 'line');
      assert.equal(String(await r.lookup('')), 'emptykey');
      assert.equal(await r.lookup('user300'), undefined);
      assert.equal(await r.lookup('# comment'), undefined);
      writeFileSync(passwd, 'late:$6$s$h:7:7::/late\n');
      purePw(['mkdb', pdb, '-f', passwd]);
      assert.equal(String(await r.lookup('late')), '$6$s$h:7:7::/late');
      assert.equal(await r.lookup('user5'), undefined);
    } finally {
      await r.close();
    }
  },
);
