/**
 * Chain semantics (upstream §3.1) with real backends: `-l puredb:FILE -l ldap:FILE -l unix`. unknown
 * passes to the next backend, ok and denied stop the chain — a refusal by LDAP holds even when
 * the unix backend would accept the same password — and a login nobody knows gets 530.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';
import { UnixAuthenticator } from '../../src/auth/backends/unix.js';
import { writePureDb } from '../../src/auth/pdb.js';
import { RawFtp } from '../helpers/raw.js';
import { sha512Hash, startServer, TEST_GID, TEST_UID, type TestServer } from '../helpers/server.js';
import {
  BASE_DN,
  personLdif,
  READER_DN,
  READER_PASSWORD,
  slapdUnavailable,
  startSlapd,
  type Slapd,
} from '../helpers/slapd.js';
import {
  createUser,
  removeUsers,
  systemAccountsUnavailable,
  type SystemUser,
} from '../helpers/system-accounts.js';
import { ciSkip } from '../helpers/ci.js';

const skip = ciSkip((await slapdUnavailable()) ?? (await systemAccountsUnavailable()));

describe('puredb -> ldap -> unix chain', { skip }, () => {
  let dir: string;
  let slapd: Slapd;
  let srv: TestServer;
  let twin: SystemUser;
  let sysOnly: SystemUser;

  /** Logs in on a fresh control connection; returns the PASS reply code and text. */
  const login = async (user: string, pass: string): Promise<string> => {
    const { ftp } = await RawFtp.connect(srv.port, srv.host);
    try {
      await ftp.cmd(`USER ${user}`);
      return (await ftp.cmd(`PASS ${pass}`)).text;
    } finally {
      ftp.close();
    }
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-chain-'));
    for (const d of ['pdbuser', 'ldapuser', 'both']) {
      await mkdir(path.join(dir, d));
      await chown(path.join(dir, d), TEST_UID, TEST_GID);
    }
    // The same login exists in LDAP (other password) and as a system account.
    twin = await createUser('tstwin', { password: 'Unix-pw1', homeParent: dir });
    sysOnly = await createUser('tssys', { password: 'Unix-pw2', homeParent: dir });
    const pdb = path.join(dir, 'users.pdb');
    const line = async (pw: string, home: string) =>
      `${await sha512Hash(pw)}:${TEST_UID}:${TEST_GID}::${path.join(dir, home)}/./::::::::::::`;
    await writePureDb(pdb, [
      ['pdbuser', await line('pdb-pw', 'pdbuser')],
      ['both', await line('pdb-pw', 'both')],
    ]);
    const ids = { uidNumber: TEST_UID, gidNumber: TEST_GID };
    slapd = await startSlapd(
      [
        personLdif('ldapuser', {
          ...ids,
          homeDirectory: `${path.join(dir, 'ldapuser')}/./`,
          userPassword: 'ldap-pw',
        }),
        personLdif('both', {
          ...ids,
          homeDirectory: `${path.join(dir, 'both')}/./`,
          userPassword: 'ldap-pw',
        }),
        personLdif(twin.login, { ...ids, homeDirectory: twin.home, userPassword: 'Ldap-other' }),
      ].join('\n'),
    );
    const conf = await slapd.writeConf('chain.conf', {
      LDAPServer: '127.0.0.1',
      LDAPPort: slapd.port,
      LDAPBaseDN: BASE_DN,
      LDAPBindDN: READER_DN,
      LDAPBindPW: READER_PASSWORD,
    });
    srv = await startServer({ args: ['-l', `puredb:${pdb}`, '-l', `ldap:${conf}`, '-l', 'unix'] });
  });

  after(async () => {
    await srv?.close();
    await slapd?.stop();
    await removeUsers();
    await rm(dir, { recursive: true, force: true });
  });

  it('puredb knows the login: ok, and its refusal stops the chain', async () => {
    assert.match(await login('pdbuser', 'pdb-pw'), /^230 /);
    // `both` is in LDAP with this password, but puredb found it first and said no.
    assert.match(await login('both', 'ldap-pw'), /^530 /);
  });

  it('unknown in puredb, ok in LDAP: logs in and uploads into the LDAP home', async () => {
    const client = new Client(10000);
    try {
      await client.access({ host: srv.host, port: srv.port, user: 'ldapuser', password: 'ldap-pw' });
      await client.uploadFrom(Readable.from([Buffer.from('chained\n')]), 'c.txt');
    } finally {
      client.close();
    }
    assert.equal(await readFile(path.join(dir, 'ldapuser', 'c.txt'), 'utf8'), 'chained\n');
  });

  it('LDAP denied stops the chain even though unix would accept the password', async () => {
    const unixAlone = await new UnixAuthenticator().authenticate(twin.login, {
      password: 'Unix-pw1',
      remoteIp: '127.0.0.1',
      localIp: '127.0.0.1',
      localPort: 21,
      tls: false,
    });
    assert.equal(unixAlone.kind, 'ok', 'the unix backend alone accepts it');
    assert.equal(await login(twin.login, 'Unix-pw1'), '530 Login authentication failed');
    assert.match(await login(twin.login, 'Ldap-other'), /^230 /, 'the LDAP password is the one that counts');
  });

  it('unknown in puredb and LDAP: unix decides', async () => {
    assert.match(await login(sysOnly.login, 'Unix-pw2'), /^230 /);
    assert.match(await login(sysOnly.login, 'wrong'), /^530 /);
  });

  it('unknown everywhere: 530', async () => {
    assert.equal(await login('tsnobodyatall', 'whatever'), '530 Login authentication failed');
  });
});
