/**
 * The SQL backends called directly against the real MariaDB and PostgreSQL (upstream §3.6): the
 * Account they build (units, /./ split, defaults), the "exactly one row, one column" rule, failing
 * queries, and databases that accept connections but never answer (bounded by the timeouts, 421,
 * no hang). Skipped with the reason when a database is unreachable, failing under CI=true.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FtpError } from '../../src/errors.js';
import { createMysqlAuthenticator } from '../../src/auth/backends/mysql.js';
import { createPgsqlAuthenticator } from '../../src/auth/backends/pgsql.js';
import type { Authenticator } from '../../src/auth/types.js';
import { credentials } from '../helpers/credentials.js';
import type { SqlBackendOptions } from '../../src/auth/backends/sql-auth.js';
import { sqlFixtures, standardQueries, type SqlFixture } from '../helpers/sql-db.js';

/** A login from `remoteIp` (for the address rules) to port 2121. */
const cred = (password: string, remoteIp = '127.0.0.1') =>
  credentials(password, { remoteIp, localPort: 2121 });

const factories = { mysql: createMysqlAuthenticator, pgsql: createPgsqlAuthenticator };
const fixtures = await sqlFixtures();

for (const [dialect, fx] of Object.entries(fixtures) as [keyof typeof factories, SqlFixture | string][]) {
  describe(`${dialect} backend`, { skip: typeof fx === 'string' ? fx : false }, () => {
    const db = fx as SqlFixture;
    const backends: Authenticator[] = [];
    const warnings: string[] = [];
    let dir = '';
    const backend = async (lines: string[], opts: SqlBackendOptions = {}): Promise<Authenticator> => {
      const conf = await db.writeConf(dir, `c${backends.length}.conf`, lines);
      const a = factories[dialect](conf, { onWarning: (m) => warnings.push(m), ...opts });
      backends.push(a);
      return a;
    };

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), `tsftpd-${dialect}-backend-`));
      await db.insert({
        user: 'full',
        password: 'pw',
        uid: 1234,
        gid: 2345,
        dir: '/srv/ftp/full/./incoming/../pub',
        quotaFiles: 10,
        quotaSize: 5,
        ulBandwidth: 100,
        dlBandwidth: 200,
        ulRatio: 2,
        dlRatio: 3,
      });
      await db.insert({
        user: 'plain',
        password: 'pw',
        uid: 1234,
        gid: 2345,
        dir: '/srv/ftp/plain/',
        quotaFiles: 0,
      });
      await db.insert({ user: 'twin1', password: 'pw', uid: 1, gid: 1, dir: '/x', ip: 'twin' });
      await db.insert({ user: 'twin2', password: 'pw', uid: 1, gid: 1, dir: '/x', ip: 'twin' });
      await db.insert({ user: 'relative', password: 'pw', uid: 1, gid: 1, dir: 'srv/rel' });
      await db.insert({ user: 'empty', password: '', uid: 1, gid: 1, dir: '/x' });
    });

    after(async () => {
      for (const b of backends) await b.close?.();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('builds the Account: /./ split, MB and KB/s converted, ratios; zero values ignored', async () => {
      const a = await backend(standardQueries(db, 'cleartext'));
      const r = await a.authenticate('full', cred('pw'));
      assert.equal(r.kind, 'ok');
      assert.ok(r.kind === 'ok');
      assert.deepEqual(
        { ...r.account },
        {
          login: 'full',
          uid: 1234,
          gid: 2345,
          home: '/srv/ftp/full',
          chroot: true,
          startDir: '/pub',
          anonymous: false,
          backend: dialect,
          quota: { files: 10, bytes: 5 * 1024 * 1024 },
          ratio: { up: 2, down: 3 },
          bandwidth: { up: 100 * 1024, down: 200 * 1024 },
        },
      );
      const p = await a.authenticate('plain', cred('pw'));
      assert.ok(p.kind === 'ok');
      assert.equal(p.account.home, '/srv/ftp/plain');
      assert.equal(p.account.chroot, false);
      assert.equal(p.account.quota, undefined);
      assert.equal(p.account.bandwidth, undefined);
    });

    it('DefaultUID/GID replace the queries; empty cleartext and relative homes are refused', async () => {
      const lines = standardQueries(db, 'cleartext').filter((l) => !/Get[UG]ID /.test(l));
      const a = await backend([...lines, `${db.prefix}DefaultUID 4242`, `${db.prefix}DefaultGID 4343`]);
      const r = await a.authenticate('plain', cred('pw'));
      assert.ok(r.kind === 'ok');
      assert.deepEqual([r.account.uid, r.account.gid], [4242, 4343]);
      assert.equal(
        (await a.authenticate('empty', cred(''))).kind,
        'unknown',
        'an empty stored value is missing',
      );
      assert.equal((await a.authenticate('relative', cred('pw'))).kind, 'denied');
    });

    it('a query must return exactly one row of one column; a failing query is logged and missing', async () => {
      const I = db.id;
      const twins = `SELECT ${I('Password')} FROM ${I('users')} WHERE ${I('Ip')}='twin' AND '\\L'<>''`;
      const pwTwoCols = `SELECT ${I('Password')}, ${I('Uid')} FROM ${I('users')} WHERE ${I('User')}='\\L'`;
      const replace = (query: string): string[] =>
        standardQueries(db, 'cleartext').map((l) =>
          l.startsWith(`${db.prefix}GetPW `) ? `${db.prefix}GetPW ${query}` : l,
        );
      assert.equal((await (await backend(replace(twins))).authenticate('twin1', cred('pw'))).kind, 'unknown');
      assert.equal(
        (await (await backend(replace(pwTwoCols))).authenticate('plain', cred('pw'))).kind,
        'unknown',
      );
      const broken = await backend(
        replace(`SELECT nosuchcolumn FROM ${I('users')} WHERE ${I('User')}='\\L'`),
      );
      warnings.length = 0;
      assert.equal((await broken.authenticate('plain', cred('pw'))).kind, 'unknown');
      assert.ok(
        warnings.some((w) => w.includes('GetPW') && w.includes('failed')),
        warnings.join('\n'),
      );
      // A failing optional query does not cost the login.
      const lines = [...standardQueries(db, 'cleartext'), `${db.prefix}GetQTAFS SELECT broken(`];
      assert.equal((await (await backend(lines)).authenticate('plain', cred('pw'))).kind, 'ok');
    });

    it('a literal mixing text and placeholders is bound as a concatenation', async () => {
      const lines = standardQueries(db, 'cleartext').map((l) =>
        l.startsWith(`${db.prefix}GetDir `) ? `${db.prefix}GetDir SELECT '/srv/\\L/./in''s'` : l,
      );
      const r = await (await backend(lines)).authenticate('plain', cred('pw'));
      assert.ok(r.kind === 'ok');
      assert.deepEqual([r.account.home, r.account.startDir], ['/srv/plain', "/in's"]);
    });

    it('a query slower than the timeout gives 421, and the next login works again', async () => {
      const sleep = db.dialect === 'mysql' ? 'SELECT SLEEP(5)' : 'SELECT pg_sleep(5)::text';
      const lines = standardQueries(db, 'cleartext').map((l) =>
        l.startsWith(`${db.prefix}GetPW `)
          ? `${db.prefix}GetPW ${sleep} FROM ${db.id('users')} WHERE ${db.id('User')}='\\L'`
          : l,
      );
      const slow = await backend(lines, { timeoutMs: 300, deadlineMs: 1000 });
      const started = Date.now();
      await assert.rejects(
        slow.authenticate('plain', cred('pw')),
        (e: unknown) => e instanceof FtpError && e.reply === 421,
      );
      assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
      const fast = await backend(standardQueries(db, 'cleartext'), { timeoutMs: 300, deadlineMs: 1000 });
      assert.equal((await fast.authenticate('plain', cred('pw'))).kind, 'ok');
    });

    it('the 8192-byte cap of the substituted query (Pure-FTPd drops longer queries)', async () => {
      const I = db.id;
      const base = `SELECT ${I('Password')} FROM ${I('users')} WHERE ${I('User')}='\\L' /*`;
      // Template bytes without the placeholder: 8187, so a 4-byte login fits and a 5-byte one does not.
      const padded = base + 'x'.repeat(8189 - base.length - 2) + '*/';
      const lines = standardQueries(db, 'cleartext').map((l) =>
        l.startsWith(`${db.prefix}GetPW `) ? `${db.prefix}GetPW ${padded}` : l,
      );
      const a = await backend(lines);
      warnings.length = 0;
      assert.equal((await a.authenticate('full', cred('pw'))).kind, 'ok');
      assert.equal((await a.authenticate('plain', cred('pw'))).kind, 'unknown');
      assert.ok(
        warnings.some((w) => w.includes('8192')),
        warnings.join('\n'),
      );
    });
  });
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: async () => {
      for (const c of sockets) c.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

for (const dialect of ['mysql', 'pgsql'] as const) {
  it(`${dialect}: a database that accepts but never answers gives 421 within the timeout, never a hang`, async () => {
    const silent = await silentServer();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-silent-'));
    const p = dialect === 'mysql' ? 'MYSQL' : 'PGSQL';
    const conf = path.join(dir, 'silent.conf');
    const q = "SELECT 1 FROM t WHERE u='\\L'";
    await writeFile(
      conf,
      [`${p}Server 127.0.0.1`, `${p}Port ${silent.port}`, `${p}User u`, `${p}Database d`]
        .concat([`${p}GetPW ${q}`, `${p}GetUID ${q}`, `${p}GetGID ${q}`, `${p}GetDir ${q}`])
        .join('\n'),
    );
    const warnings: string[] = [];
    const a = factories[dialect](conf, {
      timeoutMs: 500,
      deadlineMs: 1500,
      onWarning: (m) => warnings.push(m),
    });
    const started = Date.now();
    try {
      await assert.rejects(
        a.authenticate('joe', cred('pw')),
        (e: unknown) => e instanceof FtpError && e.reply === 421,
      );
      assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
      assert.ok(warnings.some((w) => w.includes(`127.0.0.1:${silent.port}`) && w.includes('unavailable')));
    } finally {
      await a.close?.();
      await silent.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
