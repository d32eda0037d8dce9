/**
 * The shared system account databases (src/auth/system-db.ts) and the change-aware file cache
 * under them (src/auth/cached-file.ts): glibc's parsing rules, first entry wins, reloads on change
 * at most once per interval, one shared load for concurrent callers, missing and unreadable files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CachedFile } from '../../src/auth/cached-file.js';
import { SystemDb, parsePasswd } from '../../src/auth/system-db.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-sysdb-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('system databases', () => {
  it('parses passwd as glibc: comments, NIS lines, CRs and broken lines are skipped', () => {
    const users = parsePasswd(
      [
        '# comment',
        '+nis::0:0:::',
        '-gone:x:1:1::/:/bin/sh',
        'joe:x:1000:100:Joe:/home/joe:/bin/bash\r',
        'short:x:1001:100',
        'badid:x:12a:100::/home/b:/bin/sh',
        'huge:x:99999999999:100::/home/h:/bin/sh',
        ':x:1002:100::/home/e:/bin/sh',
        '',
      ].join('\n'),
    );
    assert.deepEqual(users, [
      { name: 'joe', passwd: 'x', uid: 1000, gid: 100, gecos: 'Joe', home: '/home/joe', shell: '/bin/bash' },
    ]);
  });

  it('looks users and groups up by name and id; the first entry wins', async () => {
    const passwd = path.join(dir, 'passwd');
    const group = path.join(dir, 'group');
    await writeFile(
      passwd,
      'ann:x:1000:100::/home/ann:/bin/sh\ntwin:x:1000:100::/t:/bin/sh\nann:x:5:5::/x:/bin/sh\n',
    );
    await writeFile(group, 'users:x:100:ann,bob\nstaff:x:50:ann\nnobody-here:x:60:bob\n');
    const db = new SystemDb({ passwd, group });
    assert.equal((await db.userByName('ann'))?.uid, 1000);
    assert.equal((await db.userById(1000))?.name, 'ann');
    assert.equal((await db.groupByName('staff'))?.gid, 50);
    assert.equal((await db.groupById(100))?.name, 'users');
    assert.deepEqual(await db.groupIdsOf('ann', 100), [100, 50]);
    assert.equal(await db.userByName('nobody'), undefined);
  });

  it('reads a missing or unreadable file as empty', async () => {
    const db = new SystemDb({ passwd: path.join(dir, 'none'), group: dir });
    assert.equal((await db.users()).list.length, 0);
    assert.equal((await db.groups()).list.length, 0);
  });
});

describe('CachedFile', () => {
  it('concurrent callers share one load, and a caller during a reload gets the new content', async () => {
    const file = path.join(dir, 'shared');
    await writeFile(file, 'one');
    let parses = 0;
    const cached = new CachedFile(
      file,
      (text) => {
        parses++;
        return text;
      },
      { missing: '', checkIntervalMs: 0 },
    );
    assert.deepEqual(await Promise.all([cached.get(), cached.get(), cached.get()]), ['one', 'one', 'one']);
    assert.equal(parses, 1);
    assert.equal(await cached.get(), 'one');
    assert.equal(parses, 1, 'unchanged file: not read again');
    await writeFile(file, 'two!');
    assert.deepEqual(await Promise.all([cached.get(), cached.get()]), ['two!', 'two!']);
    assert.equal(parses, 2);
  });

  it('looks at the file at most once per interval unless forced', async () => {
    const file = path.join(dir, 'throttled');
    await writeFile(file, 'old');
    const cached = new CachedFile(file, (text) => text, { missing: '', checkIntervalMs: 60_000 });
    assert.equal(await cached.get(), 'old');
    await writeFile(file, 'newer');
    assert.equal(await cached.get(), 'old');
    assert.equal(await cached.get(true), 'newer');
    // The race fixed in the old IdFile: a caller arriving while a reload runs (its check is not
    // due yet) waits for that reload instead of answering the previous content.
    await writeFile(file, 'newest');
    assert.deepEqual(await Promise.all([cached.get(true), cached.get()]), ['newest', 'newest']);
  });

  it('rejects on a read error, or keeps the last good value when told to', async () => {
    const file = path.join(dir, 'flaky');
    await writeFile(file, 'good');
    assert.equal(await new CachedFile(path.join(dir, 'gone'), (t) => t, { missing: 'none' }).get(), 'none');
    await assert.rejects(new CachedFile(dir, (t) => t, { missing: '' }).get());
    const errors: unknown[] = [];
    const cached = new CachedFile(file, (t) => t, {
      missing: '',
      checkIntervalMs: 0,
      onReadError: (err) => errors.push(err),
    });
    assert.equal(await cached.get(), 'good');
    // A directory in its place: stat() works, reading fails (EISDIR).
    await rm(file);
    await mkdir(file);
    assert.equal(await cached.get(), 'good');
    assert.equal(errors.length, 1);
  });
});
