/**
 * End-to-end tests of `-l mysql:` and `-l pgsql:` (upstream §3.1, §3.6) against the real MariaDB and
 * PostgreSQL servers: a real server, real FTP logins and an upload. Covered for both dialects:
 * success, wrong password, fall-through to the next backend, uid 0, every crypt method, the
 * \R \I \P \D placeholders, SQL injection attempts (charset and binding), and a database that is
 * down (421 within seconds). Without a reachable database a dialect is skipped with the reason;
 * with CI=true it fails instead.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { cryptWithSetting, hashPassword } from '../../src/auth/hashes/index.js';
import { startServer, TEST_GID, TEST_UID, type TestServer } from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';
import {
  mysqlFixture,
  pgsqlFixture,
  sqlFixtures,
  standardQueries,
  type SqlFixture,
} from '../helpers/sql-db.js';

/** USER/PASS on a new connection; the final reply code (the session is closed afterwards). */
async function login(srv: TestServer, user: string, pass: string): Promise<{ code: number; text: string }> {
  const { ftp } = await RawFtp.connect(srv.port, srv.host);
  try {
    const r = await ftp.cmd(`USER ${user}`);
    const final = r.code === 331 ? await ftp.cmd(`PASS ${pass}`, 15000) : r;
    return { code: final.code, text: final.text };
  } finally {
    ftp.close();
  }
}

/** A TCP port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const fixtures = await sqlFixtures();

for (const [dialect, fx] of Object.entries(fixtures)) {
  describe(`-l ${dialect}`, { skip: typeof fx === 'string' ? fx : false }, () => {
    const db = fx as SqlFixture;
    const servers: TestServer[] = [];
    let base = '';
    const server = async (confLines: string[], extraArgs: string[] = []): Promise<TestServer> => {
      const conf = await db.writeConf(base, `${dialect}-${servers.length}.conf`, confLines);
      const srv = await startServer({ args: ['-l', `${dialect}:${conf}`, ...extraArgs], anonymous: false });
      servers.push(srv);
      return srv;
    };

    before(async () => {
      base = await mkdtemp(path.join(os.tmpdir(), `tsftpd-${dialect}-`));
      await chmod(base, 0o755); // accounts of other uids enter their homes below it
      const sha = (pw: string): Promise<string> => cryptWithSetting(pw, '$6$tsftpdsalt').then((h) => h!);
      const home = async (name: string): Promise<string> => {
        await mkdir(path.join(base, name), { recursive: true });
        await chown(path.join(base, name), TEST_UID, TEST_GID);
        return path.join(base, name);
      };
      const ids = { uid: TEST_UID, gid: TEST_GID };
      await db.insert({
        user: 'alice',
        password: await sha('alice-pw'),
        ...ids,
        dir: `${await home('alice')}/./`,
      });
      await db.insert({ user: 'clear', password: 'clear-pw', ...ids, dir: await home('clear') });
      await db.insert({
        user: 'argon',
        password: await hashPassword('argon-pw', { memoryKiB: 8192, timeCost: 1 }),
        ...ids,
        dir: await home('argon'),
      });
      const scrypt = await cryptWithSetting('scrypt-pw', '$7$6U..../....abcdefgh');
      await db.insert({ user: 'scrypt', password: scrypt!, ...ids, dir: await home('scrypt') });
      await db.insert({ user: 'sha', password: await sha('sha-pw'), ...ids, dir: await home('sha') });
      await db.insert({ user: "o'brien", password: await sha('ob-pw'), ...ids, dir: await home('obrien') });
      await db.insert({
        user: 'rooty',
        password: await sha('root-pw'),
        uid: 0,
        gid: TEST_GID,
        dir: await home('rooty'),
      });
      await db.insert({
        user: 'rootname',
        password: await sha('root-pw'),
        uid: 'root',
        gid: 'root',
        dir: base,
      });
      await db.insert({
        user: 'named',
        password: await sha('named-pw'),
        uid: 'daemon',
        gid: 'daemon',
        dir: base,
      });
      await db.insert({ user: 'here', password: await sha('here-pw'), ...ids, dir: base, ip: '127.0.0.1' });
      await db.insert({ user: 'there', password: await sha('there-pw'), ...ids, dir: base, ip: '10.9.9.9' });
    });

    after(async () => {
      for (const s of servers) await s.close();
      await db.close();
      await rm(base, { recursive: true, force: true });
    });

    it('logs in, uploads into the /./ home, and refuses a wrong password with 530', async () => {
      const srv = await server(standardQueries(db, 'any'));
      const client = new Client(10000);
      try {
        await client.access({ host: srv.host, port: srv.port, user: 'alice', password: 'alice-pw' });
        assert.equal(await client.pwd(), '/');
        await client.uploadFrom(Readable.from(Buffer.from('hello sql\n')), 'up.txt');
      } finally {
        client.close();
      }
      assert.equal(await readFile(path.join(base, 'alice', 'up.txt'), 'utf8'), 'hello sql\n');
      assert.equal((await login(srv, 'alice', 'wrong')).code, 530);
    });

    it('an unknown login falls through to the next backend (the passwd file)', async () => {
      const srv = await server(standardQueries(db, 'any'));
      assert.equal((await login(srv, 'joe', 'secret')).code, 230);
      assert.equal((await login(srv, 'nobody-at-all', 'x')).code, 530);
    });

    it('refuses uid/gid 0 (number or name) with the right password; accepts system names', async () => {
      const srv = await server(standardQueries(db, 'any'));
      assert.equal((await login(srv, 'rooty', 'root-pw')).code, 530);
      assert.equal((await login(srv, 'rootname', 'root-pw')).code, 530);
      assert.equal((await login(srv, 'named', 'named-pw')).code, 230);
    });

    it('each crypt method accepts its own hashes only', async () => {
      const users: Record<string, string> = {
        clear: 'clear-pw',
        argon: 'argon-pw',
        scrypt: 'scrypt-pw',
        sha: 'sha-pw',
      };
      const accepts: Record<string, string[]> = {
        cleartext: ['clear'],
        argon2: ['argon'],
        scrypt: ['scrypt'],
        crypt: ['sha', 'scrypt'], // libxcrypt's crypt(3) also knows $7$
        any: ['argon', 'scrypt', 'sha'],
        'some-unknown-method': ['clear'], // Pure-FTPd falls back to cleartext
      };
      for (const [method, ok] of Object.entries(accepts)) {
        const srv = await server(standardQueries(db, method));
        for (const [user, pw] of Object.entries(users)) {
          const { code } = await login(srv, user, pw);
          assert.equal(code, ok.includes(user) ? 230 : 530, `${method} / ${user}`);
        }
      }
    });

    it('binds \\R \\I \\P \\D: only the row matching the connection logs in', async () => {
      const I = db.id;
      const where =
        `${I('User')}='\\L' AND ${I('Ip')}='\\R' AND '\\I'='127.0.0.1' AND '\\D'='2130706433' ` +
        `AND EXISTS (SELECT 1 FROM ${I('ports')} WHERE ${I('port')}=\\P)`;
      const lines = standardQueries(db, 'any').map((l) =>
        l.startsWith(`${db.prefix}GetPW `)
          ? `${db.prefix}GetPW SELECT ${I('Password')} FROM ${I('users')} WHERE ${where}`
          : l,
      );
      const srv = await server(lines);
      await db.exec(`INSERT INTO ${I('ports')} (${I('port')}) VALUES (${srv.port})`);
      assert.equal((await login(srv, 'here', 'here-pw')).code, 230);
      assert.equal(
        (await login(srv, 'there', 'there-pw')).code,
        530,
        'a row for another client IP is not used',
      );
    });

    it('SQL injection: refused by the charset, and a quote in an allowed login is only data', async () => {
      const srv = await server(standardQueries(db, 'any'));
      assert.equal((await login(srv, "' OR 1=1 --", 'alice-pw')).code, 530);
      if (db.dialect === 'mysql') {
        // Only charset characters; substituted as text it would select alice's row (and log in).
        assert.equal((await login(srv, "x' OR User LIKE 'alice", 'alice-pw')).code, 530);
      }
      assert.equal(
        (await login(srv, "o'brien", 'ob-pw')).code,
        230,
        'the quote reached the database as data',
      );
    });

    it('a database that is down ends the session with 421 within seconds, and is logged', async () => {
      const port = await closedPort();
      const srv = await server([...standardQueries(db, 'any'), `${db.prefix}Port ${port}`]);
      const started = Date.now();
      const { code, text } = await login(srv, 'alice', 'alice-pw');
      assert.equal(code, 421, text);
      assert.match(text, /Temporary authentication failure/);
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      assert.ok(
        srv.logs.some((l) => /unavailable/.test(l)),
        srv.logs.join('\n'),
      );
    });

    if (dialect === 'mysql') {
      it('MYSQLTransactions On and the UNIX socket (MYSQLServer localhost) both work', async () => {
        const tx = await server([...standardQueries(db, 'any'), 'MYSQLTransactions On']);
        assert.equal((await login(tx, 'alice', 'alice-pw')).code, 230);
        const sock = '/run/mysqld/mysqld.sock';
        const viaSocket = await server([
          ...standardQueries(db, 'any'),
          'MYSQLServer localhost',
          `MYSQLSocket ${sock}`,
        ]);
        assert.equal((await login(viaSocket, 'alice', 'alice-pw')).code, 230);
      });
    }
  });
}

describe(
  '-l mysql -l pgsql: an account unknown to MySQL is found in PostgreSQL',
  {
    skip:
      typeof fixtures.mysql === 'string' || typeof fixtures.pgsql === 'string'
        ? 'needs both databases'
        : false,
  },
  () => {
    it('chains the two databases in -l order', async () => {
      const my = await mysqlFixture();
      const pgf = await pgsqlFixture();
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-chain-'));
      await chown(dir, TEST_UID, TEST_GID);
      let srv: TestServer | undefined;
      try {
        const [mf, pf] = [my as SqlFixture, pgf as SqlFixture];
        await pf.insert({ user: 'pgonly', password: 'pg-pw', uid: TEST_UID, gid: TEST_GID, dir });
        const mconf = await mf.writeConf(dir, 'm.conf', standardQueries(mf, 'cleartext'));
        const pconf = await pf.writeConf(dir, 'p.conf', standardQueries(pf, 'cleartext'));
        srv = await startServer({ args: ['-l', `mysql:${mconf}`, '-l', `pgsql:${pconf}`], anonymous: false });
        assert.equal((await login(srv, 'pgonly', 'pg-pw')).code, 230);
        assert.equal((await login(srv, 'pgonly', 'bad')).code, 530);
      } finally {
        await srv?.close();
        if (typeof my !== 'string') await my.close();
        if (typeof pgf !== 'string') await pgf.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);
