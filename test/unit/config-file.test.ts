// pure-ftpd.conf files: keys, booleans, two-number keys, Include, bad lines, and precedence file < flags.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { refuses, validConfig } from '../helpers/config.js';
import { loadConfig } from '../../src/config/index.js';

let dir = '';
before(async () => (dir = await mkdtemp(join(tmpdir(), 'tsftpd-config-'))));
after(async () => rm(dir, { recursive: true, force: true }));

/** Writes `name` in the temp dir with the given lines; returns its path. */
async function conf(name: string, ...lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

describe('pure-ftpd.conf', () => {
  it('reads keys case-insensitively, with comments, booleans and separators', async () => {
    const file = await conf(
      'a.conf',
      '# a comment',
      '',
      '   ChrootEveryone    yes',
      'createhomedir ON',
      'NoAnonymous true',
      'KeepAllFiles 1',
      'NoRename no',
      'DisplayDotFiles off',
      'AntiWarez no',
      'MaxClientsNumber = 20',
      'MaxClientsPerIP: 3',
      'MaxIdleTime 2',
      'PassivePortRange 40000 40100',
      'LimitRecursion 500:4',
      'Umask 177:077',
      'Bind 127.0.0.1,2121',
      'ForcePassiveIP 192.0.2.7',
      'SyslogFacility ftp',
      'VerboseLog yes',
      'PIDFile "/run/tsftpd.pid"',
      'AnonymousRoot /srv/ftp',
      'PasswdFile /etc/pureftpd.passwd',
      'AuthDelay 10',
      'FollowSymlinksOut yes',
      'LogFormat json',
    );
    const c = await validConfig(file);
    assert.deepEqual(
      [c.chrootEveryone, c.createHomeDir, c.noAnonymous, c.keepAllFiles, c.noRename, c.displayDotFiles],
      [true, true, true, true, false, false],
    );
    assert.deepEqual([c.maxClients, c.maxClientsPerIp, c.maxIdleSeconds], [20, 3, 120]);
    assert.deepEqual(c.passivePorts, { first: 40000, last: 40100 });
    assert.deepEqual(c.limitRecursion, { files: 500, depth: 4 });
    assert.deepEqual(c.umask, { file: 0o177, dir: 0o077 });
    assert.deepEqual(c.bind, { host: '127.0.0.1', port: 2121 });
    assert.deepEqual(
      [c.forcePassiveIp, c.syslogFacility, c.verboseLog, c.pidFile, c.anonymousRoot, c.passwdFile],
      ['192.0.2.7', 'ftp', 1, '/run/tsftpd.pid', '/srv/ftp', '/etc/pureftpd.passwd'],
    );
    assert.deepEqual([c.authDelayMs, c.followSymlinksOut, c.logFormat], [10, true, 'json']);
  });
  it('authentication keys build the chain in line order', async () => {
    const file = await conf(
      'auth.conf',
      'UnixAuthentication yes',
      'PureDB /etc/pure-ftpd/pureftpd.pdb',
      'PAMAuthentication no',
      'ExtAuth /run/authd.sock',
    );
    assert.deepEqual((await validConfig('--config', file)).auth, [
      { method: 'unix' },
      { method: 'puredb', arg: '/etc/pure-ftpd/pureftpd.pdb' },
      { method: 'extauth', arg: '/run/authd.sock' },
    ]);
  });
  it('Include: relative to the including file, missing files skipped, depth bounded', async () => {
    await conf('inc-b.conf', 'NoChmod yes');
    const file = await conf(
      'inc-a.conf',
      'Include inc-b.conf',
      'Include does-not-exist.conf',
      'NoRename yes',
    );
    const c = await validConfig(file);
    assert.deepEqual([c.noChmod, c.noRename], [true, true]);
    const loop = await conf('loop.conf', 'Include loop.conf');
    await refuses([loop], new RegExp(`^tsftpd: ${loop}:1: Include: more than 16 levels of files$`));
  });
  it('refuses unknown keys, bad lines and bad values, naming file and line', async () => {
    const unknown = await conf('u.conf', '# ok', 'FooBar 1');
    await refuses([unknown], `tsftpd: ${unknown}:2: unknown key "FooBar"`);
    const syntax = await conf('s.conf', '-A');
    await refuses([syntax], `tsftpd: ${syntax}:1: syntax error: "-A"`);
    const bool = await conf('b.conf', 'ChrootEveryone maybe');
    await refuses([bool], `tsftpd: ${bool}:1: ChrootEveryone maybe: expected yes or no`);
    const empty = await conf('e.conf', 'Bind');
    await refuses([empty], `tsftpd: ${empty}:1: Bind: missing value`);
    const ports = await conf('p.conf', '', 'PassivePortRange 80 90');
    await refuses(
      [ports],
      `tsftpd: ${ports}:2: PassivePortRange 80 90: the first passive port must be >= 1024`,
    );
    await refuses(
      [join(dir, 'missing.conf')],
      `tsftpd: ${join(dir, 'missing.conf')}: cannot read the config file: no such file`,
    );
  });
  it('Bonjour is refused as on Linux builds; ExtCert and Language are read', async () => {
    const certd = await conf('certd.conf', 'NoAnonymous yes', 'ExtCert /run/certd.sock', 'Language german');
    const read = await loadConfig([certd]);
    assert.ok('config' in read);
    assert.equal(read.config.extCertSocket, '/run/certd.sock');
    assert.equal(read.config.language, 'de');
    const bonjour = await conf('bonjour.conf', 'Bonjour myftp');
    await refuses(
      [bonjour],
      `tsftpd: ${bonjour}:1: Bonjour: Bonjour registration exists only in macOS builds; not available on Linux`,
    );
  });
});

describe('TLS keys (upstream §1.3, docs/tls.md)', () => {
  it('TLS, CertFile, CertFileAndKey, TLSCipherSuite, ImplicitTLS and NoTLSSessionBinding', async () => {
    const file = await conf(
      'tls.conf',
      'TLS 2',
      'CertFileAndKey "/etc/ssl/ftp.pem" "/etc/ssl/ftp.key"',
      'TLSCipherSuite -C:HIGH:!aNULL',
      'ImplicitTLS 990',
      'NoTLSSessionBinding yes',
    );
    const c = await validConfig(file);
    assert.deepEqual([c.tls, c.certFile, c.keyFile], [2, '/etc/ssl/ftp.pem', '/etc/ssl/ftp.key']);
    assert.deepEqual([c.tlsClientCert, c.tlsCiphers, c.tlsSessionBinding], [true, 'HIGH:!aNULL', false]);
    assert.deepEqual(c.implicitTls, [{ port: 990 }]);
    const single = await validConfig(
      await conf('tls1.conf', 'TLS 1', 'CertFile /etc/ssl/private/pure-ftpd.pem'),
    );
    assert.deepEqual(
      [single.certFile, single.keyFile, single.tlsSessionBinding],
      ['/etc/ssl/private/pure-ftpd.pem', undefined, true],
    );
  });
});

describe('precedence: defaults < file < flags', () => {
  it('flags override values from the file', async () => {
    const file = await conf(
      'prec.conf',
      'MaxClientsNumber 10',
      'ChrootEveryone yes',
      'PureDB /a.pdb',
      'VerboseLog yes',
      'Bind 127.0.0.1,21',
    );
    const fileOnly = await validConfig('--config', file);
    assert.deepEqual([fileOnly.maxClients, fileOnly.chrootEveryone, fileOnly.verboseLog], [10, true, 1]);
    const c = await validConfig('-c', '20', '--config', file, '-l', 'unix', '-S', '2121');
    assert.equal(c.maxClients, 20);
    assert.equal(c.chrootEveryone, true);
    assert.deepEqual(c.auth, [{ method: 'unix' }]);
    assert.deepEqual(c.bind, { host: '127.0.0.1', port: 2121 });
    assert.deepEqual((await validConfig('--config', file, '-S', '::1,')).bind, { host: '::1', port: 21 });
    assert.equal((await validConfig('--config', file, '-dd')).verboseLog, 2);
  });
  it('one lone argument is a config file; --config only once', async () => {
    const file = await conf('lone.conf', 'NoChmod yes');
    assert.equal((await validConfig(file)).noChmod, true);
    await refuses(['--config', file, '--config', file], 'tsftpd: --config: given more than once');
    await refuses([file, file], `tsftpd: invalid argument: ${JSON.stringify(file)}`);
  });
});
