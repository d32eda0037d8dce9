/**
 * `-l ldap:FILE` against a real OpenLDAP slapd (upstream §3.7): BIND and PASSWORD methods, the
 * ok/denied/unknown outcomes, FTPStatus, the Pure-FTPd attributes mapped to the Account, filter
 * injection, StartTLS and ldaps, and a directory that is down or silent (421, quickly). Logins go
 * through the real server with a real client, and an upload must land in the LDAP home.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { LdapAuthenticator } from '../../src/auth/backends/ldap.js';
import { loadLdapConfig } from '../../src/auth/backends/ldap-conf.js';
import { cryptWithSetting, generateSalt, hashPassword } from '../../src/auth/hashes/index.js';
import type { Account, AuthResult } from '../../src/auth/types.js';
import { credentials } from '../helpers/credentials.js';
import { FtpError } from '../../src/errors.js';
import { RawFtp } from '../helpers/raw.js';
import { startServer, TEST_GID, TEST_UID } from '../helpers/server.js';
import {
  BASE_DN,
  freePort,
  personLdif,
  READER_DN,
  READER_PASSWORD,
  slapdUnavailable,
  startSlapd,
  type Slapd,
} from '../helpers/slapd.js';
import { ciSkip } from '../helpers/ci.js';

const skip = ciSkip(await slapdUnavailable());

describe('ldap backend against slapd', { skip }, () => {
  let slapd: Slapd;
  let homes: string;
  const logs: string[] = [];
  const home = (login: string): string => path.join(homes, login);
  const backend = async (keys: Record<string, string | number>): Promise<LdapAuthenticator> => {
    const file = await slapd.writeConf(`ldap-${Object.keys(keys).length}-${Math.random()}.conf`, keys);
    return new LdapAuthenticator(loadLdapConfig(file, { LDAPCONF: '/nonexistent' }), (level, m) =>
      logs.push(`[${level}] ${m}`),
    );
  };
  const plain = (): Record<string, string | number> => ({
    LDAPServer: '127.0.0.1',
    LDAPPort: slapd.port,
    LDAPBaseDN: BASE_DN,
  });
  const reader = (): Record<string, string | number> => ({
    ...plain(),
    LDAPBindDN: READER_DN,
    LDAPBindPW: READER_PASSWORD,
  });
  const ok = (r: AuthResult): Account => {
    if (r.kind !== 'ok') assert.fail(`expected ok, got ${JSON.stringify(r)}`);
    return r.account;
  };

  before(async () => {
    homes = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-ldap-homes-'));
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', "o'brien", 'rooty', 'ids'];
    for (const u of users) {
      await mkdir(home(u));
      if (process.geteuid?.() === 0) await chown(home(u), TEST_UID, TEST_GID);
    }
    const crypt = async (pw: string) => `{crypt}${await cryptWithSetting(pw, (await generateSalt('$6$'))!)}`;
    const ids = { uidNumber: TEST_UID, gidNumber: TEST_GID };
    const ldif = [
      personLdif('alice', {
        ...ids,
        homeDirectory: `${home('alice')}/./`,
        userPassword: await crypt('alicepw'),
        FTPStatus: 'enabled',
        FTPQuotaFiles: 100,
        FTPQuotaMBytes: 5,
        FTPUploadBandwidth: 50,
        FTPDownloadBandwidth: 60,
        FTPUploadRatio: 1,
        FTPDownloadRatio: 3,
      }),
      personLdif('bob', { ...ids, homeDirectory: home('bob'), userPassword: 'bobpw' }),
      personLdif('carol', {
        ...ids,
        homeDirectory: home('carol'),
        userPassword: 'carolpw',
        FTPStatus: 'disabled',
      }),
      personLdif('dave', {
        ...ids,
        homeDirectory: home('dave'),
        userPassword: `{ARGON2}${await hashPassword('davepw', { memoryKiB: 8192, timeCost: 1 })}`,
      }),
      personLdif('erin', {
        ...ids,
        homeDirectory: home('erin'),
        userPassword: `{scrypt}${await cryptWithSetting('erinpw', (await generateSalt('$7$'))!)}`,
      }),
      personLdif('frank', { ...ids, homeDirectory: home('frank'), userPassword: '{SSHA}abcdefgh' }),
      personLdif("o'brien", { ...ids, homeDirectory: home("o'brien"), userPassword: 'irishpw' }),
      personLdif('rooty', {
        uidNumber: 0,
        gidNumber: 0,
        homeDirectory: home('rooty'),
        userPassword: 'rootpw',
      }),
      personLdif('ids', {
        ...ids,
        FTPuid: 4242,
        FTPgid: 4343,
        homeDirectory: home('ids'),
        userPassword: 'idspw',
      }),
      `dn: ou=staff,${BASE_DN}\nobjectClass: organizationalUnit\nou: staff\n`,
      personLdif('twin', { ...ids, homeDirectory: home('bob'), userPassword: 'twinpw' }),
      personLdif(
        'twin',
        { ...ids, homeDirectory: home('bob'), userPassword: 'twinpw' },
        `ou=staff,${BASE_DN}`,
      ),
    ];
    slapd = await startSlapd(ldif.join('\n'));
  });

  after(async () => {
    await slapd?.stop();
    await rm(homes, { recursive: true, force: true });
  });

  it('PASSWORD method: {crypt}, cleartext, {argon2}, {scrypt} hashes and the mapped attributes', async () => {
    const b = await backend(reader());
    const alice = ok(await b.authenticate('alice', credentials('alicepw')));
    assert.deepEqual(
      { uid: alice.uid, gid: alice.gid, home: alice.home, chroot: alice.chroot, backend: alice.backend },
      { uid: TEST_UID, gid: TEST_GID, home: home('alice'), chroot: true, backend: 'ldap' },
    );
    assert.deepEqual(alice.quota, { files: 100, bytes: 5 * 1024 * 1024 });
    assert.deepEqual(alice.bandwidth, { up: 50 * 1024, down: 60 * 1024 });
    assert.deepEqual(alice.ratio, { up: 1, down: 3 });
    assert.equal(ok(await b.authenticate('bob', credentials('bobpw'))).chroot, false);
    ok(await b.authenticate('dave', credentials('davepw')));
    ok(await b.authenticate('erin', credentials('erinpw')));
    ok(await b.authenticate("o'brien", credentials('irishpw')));
    const ids = ok(await b.authenticate('ids', credentials('idspw')));
    assert.deepEqual([ids.uid, ids.gid], [4242, 4343], 'FTPuid/FTPgid override uidNumber/gidNumber');
  });

  it('PASSWORD method: wrong passwords, disabled, root and ambiguous entries are denied', async () => {
    const b = await backend(reader());
    for (const [login, pw] of [
      ['alice', 'nope'],
      ['bob', ''],
      ['dave', 'x'],
      ['erin', 'x'],
      ['carol', 'carolpw'],
      ['rooty', 'rootpw'],
      ['frank', '{SSHA}abcdefgh'],
      ['twin', 'twinpw'],
    ]) {
      const r = await b.authenticate(login, credentials(pw));
      assert.equal(r.kind, 'denied', `${login}: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(await b.authenticate('nobody', credentials('x')), { kind: 'unknown' });
    assert.ok(logs.some((l) => l.includes('unsupported password scheme {SSHA}')));
  });

  it('rejects filter injection by charset and escapes what it lets through', async () => {
    const b = await backend(reader());
    for (const login of ['*)(uid=*', '*', 'alice)(uid=*', 'a\\2a', 'al(ice']) {
      assert.deepEqual(await b.authenticate(login, credentials('alicepw')), { kind: 'unknown' }, login);
    }
  });

  it('BIND method: the directory checks the password; empty passwords never bind', async () => {
    const b = await backend(plain());
    ok(await b.authenticate('alice', credentials('alicepw')));
    ok(await b.authenticate("o'brien", credentials('irishpw')));
    assert.equal((await b.authenticate('alice', credentials('wrong'))).kind, 'denied');
    assert.equal((await b.authenticate('alice', credentials(''))).kind, 'denied');
    assert.equal((await b.authenticate('carol', credentials('carolpw'))).kind, 'denied');
    assert.deepEqual(await b.authenticate('nobody', credentials('x')), { kind: 'unknown' });
  });

  it('PASSWORD method without read access to userPassword denies and says why', async () => {
    const b = await backend({ ...plain(), LDAPAuthMethod: 'PASSWORD' });
    assert.equal((await b.authenticate('bob', credentials('bobpw'))).kind, 'denied');
    assert.ok(logs.some((l) => l.includes('no userPassword readable for bob')));
  });

  it('home attribute, default home, default and forced ids', async () => {
    const noHome = await backend({ ...reader(), LDAPHomeDir: 'description' });
    assert.deepEqual(await noHome.authenticate('bob', credentials('bobpw')), { kind: 'unknown' });
    const withDefault = await backend({
      ...reader(),
      LDAPHomeDir: 'description',
      LDAPDefaultHomeDirectory: homes,
    });
    assert.equal(ok(await withDefault.authenticate('bob', credentials('bobpw'))).home, homes);
    const forced = await backend({
      ...reader(),
      LDAPDefaultUID: 3000,
      LDAPForceDefaultUID: 'True',
      LDAPDefaultGID: 3001,
    });
    const acct = ok(await forced.authenticate('ids', credentials('idspw')));
    assert.deepEqual([acct.uid, acct.gid], [3000, 4343]);
  });

  it('StartTLS and ldaps with the directory certificate; an untrusted certificate is a 421', async () => {
    const startTls = await backend({ ...reader(), LDAPUseTLS: 'True', LDAPTLSCACertFile: slapd.caFile });
    ok(await startTls.authenticate('alice', credentials('alicepw')));
    const tlsKeys = { ...reader(), LDAPScheme: 'ldaps', LDAPPort: slapd.tlsPort };
    ok(
      await (
        await backend({ ...tlsKeys, LDAPTLSCACertFile: slapd.caFile })
      ).authenticate('bob', credentials('bobpw')),
    );
    const untrusted = await backend(tlsKeys);
    await assert.rejects(
      untrusted.authenticate('bob', credentials('bobpw')),
      (e: FtpError) => e.reply === 421,
    );
  });

  it('logs in through the server, uploads into the LDAP home, refuses bad logins', async () => {
    const conf = await slapd.writeConf('server.conf', reader());
    const srv = await startServer({ args: ['-l', `ldap:${conf}`] });
    const client = new Client(10000);
    try {
      await client.access({ host: srv.host, port: srv.port, user: 'alice', password: 'alicepw' });
      await client.uploadFrom(Readable.from([Buffer.from('hello ldap\n')]), 'hello.txt');
      assert.equal(await readFile(path.join(home('alice'), 'hello.txt'), 'utf8'), 'hello ldap\n');
      client.close();
      await client.access({ host: srv.host, port: srv.port, user: "o'brien", password: 'irishpw' });
      client.close();
      for (const [user, pass] of [
        ['alice', 'wrong'],
        ['*)(uid=*', 'alicepw'],
        ['carol', 'carolpw'],
      ]) {
        const { ftp } = await RawFtp.connect(srv.port, srv.host);
        await ftp.cmd(`USER ${user}`);
        assert.equal((await ftp.cmd(`PASS ${pass}`)).code, 530, user);
        ftp.close();
      }
    } finally {
      client.close();
      await srv.close();
    }
  });

  it('a directory that is down or silent gives 421 quickly, never a hang', async () => {
    const silent = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const sockets = new Set<net.Socket>();
    silent.on('connection', (s) => sockets.add(s));
    try {
      const cases: Record<string, string | number>[] = [
        { LDAPServer: '127.0.0.1', LDAPPort: await freePort(), LDAPBaseDN: BASE_DN },
        {
          LDAPServer: '127.0.0.1',
          LDAPPort: (silent.address() as net.AddressInfo).port,
          LDAPBaseDN: BASE_DN,
          LDAPTimeout: 1,
        },
      ];
      for (const keys of cases) {
        const conf = await slapd.writeConf(`down-${keys['LDAPPort']}.conf`, keys);
        const srv = await startServer({ args: ['-l', `ldap:${conf}`] });
        try {
          const { ftp } = await RawFtp.connect(srv.port, srv.host);
          await ftp.cmd('USER alice');
          const started = Date.now();
          const r = await ftp.cmd('PASS alicepw', 8000);
          assert.equal(r.code, 421);
          assert.match(r.text, /Temporary authentication failure/);
          assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
          assert.ok(
            srv.logs.some((l) => l.includes('unavailable')),
            srv.logs.join('\n'),
          );
          ftp.close();
        } finally {
          // The silent directory's side of the connection is the test's: closed before the
          // server's leak check, which then sees whether the server closed its LDAP client socket.
          for (const s of sockets) s.destroy();
          await srv.close();
        }
      }
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
