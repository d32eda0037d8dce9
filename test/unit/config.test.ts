// Command-line switches: every form of every switch, clusters, and errors that name the switch.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { defaultConfig, quickstartConfig, type Config } from '../../src/config/index.js';
import { refuses, validConfig } from '../helpers/config.js';

describe('defaults', () => {
  it('no switches gives Pure-FTPd defaults, deeply frozen', async () => {
    const config = await validConfig();
    assert.deepEqual(config, defaultConfig());
    assert.equal(config.bind.port, 21);
    assert.deepEqual(config.umask, { file: 0o133, dir: 0o022 });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.bind) && Object.isFrozen(config.auth));
  });
  it('--quickstart anywhere switches the defaults; flags still win', async () => {
    assert.deepEqual(await validConfig('--quickstart'), quickstartConfig());
    const config = await validConfig('-A', '--quickstart', '-S', '2200');
    assert.equal(config.bind.port, 2200);
    assert.equal(config.anonymousRoot, resolve('public'));
    assert.equal(config.passwdFile, resolve('pureftpd.passwd'));
    assert.equal(config.chrootEveryone, true);
  });
});

describe('-S bind', () => {
  const cases: [string, { host?: string; port: number }][] = [
    ['2121', { port: 2121 }],
    ['127.0.0.1,', { host: '127.0.0.1', port: 21 }],
    ['127.0.0.1,2121', { host: '127.0.0.1', port: 2121 }],
    [',2121', { port: 2121 }],
    ['::1,2121', { host: '::1', port: 2121 }],
    ['[::1],2121', { host: '::1', port: 2121 }],
    ['localhost,0', { host: 'localhost', port: 0 }],
    ['ftp', { port: 21 }],
    [',ftp', { port: 21 }],
  ];
  for (const [value, bind] of cases) {
    it(`-S ${value}`, async () => assert.deepEqual((await validConfig('-S', value)).bind, bind));
  }
  it('every spelling', async () => {
    for (const argv of [['-S2121'], ['--bind', '2121'], ['--bind=2121'], ['--bi=2121']]) {
      assert.equal((await validConfig(...argv)).bind.port, 2121);
    }
  });
  it('keeps the first address and the last port, like Pure-FTPd', async () => {
    assert.deepEqual((await validConfig('-S', '127.0.0.1,21', '-S', '::1,2121')).bind, {
      host: '127.0.0.1',
      port: 2121,
    });
  });
  it('refuses an address without a comma, with a hint', async () => {
    await refuses(
      ['-S', '127.0.0.1'],
      'tsftpd: -S 127.0.0.1: no comma, so this is read as a port; did you mean 127.0.0.1,21?',
    );
    await refuses(['-S', '[::1]:2121'], /did you mean ::1,2121\?$/);
  });
  it('refuses bad ports, addresses and empty values', async () => {
    await refuses(['-S', '70000'], 'tsftpd: -S 70000: the port must be <= 65535');
    await refuses(
      ['-S', 'no-such-service'],
      /^tsftpd: -S no-such-service: "no-such-service" is neither a port number/,
    );
    await refuses(['-S', 'bad host!,21'], /^tsftpd: -S bad host!,21: "bad host!" is not an IP address/);
    await refuses(['-S', ','], /^tsftpd: -S ,: expected /);
  });
});

describe('value switches', () => {
  it('-c, -C, -I, -p, -P, -U, -L, -g, -f', async () => {
    const c = await validConfig(
      '-c5',
      '-C',
      '2',
      '-I',
      '5',
      '-p',
      '40000:40100',
      '-P',
      '192.0.2.1',
      '-U',
      '077:022',
    );
    assert.deepEqual([c.maxClients, c.maxClientsPerIp, c.maxIdleSeconds], [5, 2, 300]);
    assert.deepEqual(c.passivePorts, { first: 40000, last: 40100 });
    assert.equal(c.forcePassiveIp, '192.0.2.1');
    assert.deepEqual(c.umask, { file: 0o077, dir: 0o022 });
    const d = await validConfig('-L', '100:3', '-g', 'run/x.pid', '-f', 'LOCAL3', '-P', 'ftp.example.com');
    assert.deepEqual(d.limitRecursion, { files: 100, depth: 3 });
    assert.equal(d.pidFile, resolve('run/x.pid'));
    assert.equal(d.syslogFacility, 'local3');
    assert.equal(d.forcePassiveIp, 'ftp.example.com');
    assert.equal((await validConfig('-f', 'none')).syslogFacility, 'none');
  });
  it('-I 0 or junk means 15 minutes (upstream §1.2)', async () => {
    for (const v of ['0', 'abc', '']) assert.equal((await validConfig('-I', v)).maxIdleSeconds, 900);
  });
  it('-U single mask and one-sided forms', async () => {
    assert.deepEqual((await validConfig('-U', '022')).umask, { file: 0o022, dir: 0o022 });
    assert.deepEqual((await validConfig('-U', ':077')).umask, { file: 0o133, dir: 0o077 });
    assert.deepEqual((await validConfig('-U', '0177:')).umask, { file: 0o177, dir: 0o022 });
  });
  it('-c is capped at half the passive range (upstream §6.4)', async () => {
    assert.equal((await validConfig('-c', '500', '-p', '40000:40009')).maxClients, 5);
    assert.equal((await validConfig('-p', '40000:40000')).maxClients, 1);
  });
  it('long-only options', async () => {
    const c = await validConfig(
      '--anonymous-root',
      'pub',
      '--passwd-file=pw',
      '--auth-delay',
      '0',
      '--log-format',
      'json',
    );
    assert.deepEqual(
      [c.anonymousRoot, c.passwdFile, c.authDelayMs, c.logFormat],
      [resolve('pub'), resolve('pw'), 0, 'json'],
    );
    assert.equal((await validConfig('--follow-symlinks-out')).followSymlinksOut, true);
  });
  it('errors name the switch as written and the value', async () => {
    await refuses(['-p', '80:90'], 'tsftpd: -p 80:90: the first passive port must be >= 1024');
    await refuses(
      ['-p', '40100:40000'],
      'tsftpd: -p 40100:40000: the last passive port must be >= the first',
    );
    await refuses(
      ['--passive-port-range=1024:70000'],
      'tsftpd: --passive-port-range 1024:70000: the last passive port must be <= 65535',
    );
    await refuses(['-p', '40000'], /^tsftpd: -p 40000: expected first:last/);
    await refuses(['-c', '0'], 'tsftpd: -c 0: the number of clients must be >= 1');
    await refuses(['-C', 'x'], 'tsftpd: -C x: the number of clients per IP must be a whole number');
    await refuses(['-U', '888'], /^tsftpd: -U 888: the file mask must be an octal number/);
    await refuses(['-U', '1000'], 'tsftpd: -U 1000: the file mask must be <= 777');
    await refuses(['-L', '0:5'], 'tsftpd: -L 0:5: the number of files must be >= 1');
    await refuses(['-L', '5:0'], 'tsftpd: -L 5:0: the depth must be >= 1');
    await refuses(['-P', '::1'], /^tsftpd: -P ::1: PASV replies carry an IPv4 address/);
    await refuses(['-f', 'bogus'], /^tsftpd: -f bogus: unknown syslog facility/);
    await refuses(['--auth-delay', '-1'], 'tsftpd: --auth-delay -1: the delay must be a whole number');
    await refuses(['--log-format', 'xml'], 'tsftpd: --log-format xml: expected text or json');
  });
});

describe('-l authentication chain', () => {
  it('keeps order, matches methods case-insensitively, resolves files', async () => {
    const c = await validConfig(
      '-l',
      'PureDB:etc/users.pdb',
      '--login=unix',
      '-lpam',
      '-l',
      'mysql:/etc/my.conf',
    );
    assert.deepEqual(c.auth, [
      { method: 'puredb', arg: resolve('etc/users.pdb') },
      { method: 'unix' },
      { method: 'pam' },
      { method: 'mysql', arg: '/etc/my.conf' },
    ]);
    assert.deepEqual((await validConfig('-l', 'unix:ignored')).auth, [{ method: 'unix' }]);
  });
  it('refuses unknown methods and missing files', async () => {
    await refuses(['-l', 'puredb'], 'tsftpd: -l puredb: puredb needs a file: -l puredb:/path/to/file');
    await refuses(['-l', 'extauth:'], /^tsftpd: -l extauth:: extauth needs a file/);
    await refuses(['-l', 'kerberos'], /^tsftpd: -l kerberos: unknown authentication method/);
  });
});

describe('flags and clusters', () => {
  // prettier-ignore
  const flags: [string, keyof Config, unknown][] = [
    ['-4', 'ipv4Only', true], ['-6', 'ipv6Only', true], ['-e', 'anonymousOnly', true],
    ['-E', 'noAnonymous', true], ['-i', 'anonymousCantUpload', true], ['-M', 'anonymousCanCreateDirs', true],
    ['-N', 'natMode', true], ['-0', 'noTruncate', true], ['-r', 'autoRename', true],
    ['-K', 'keepAllFiles', true], ['-G', 'noRename', true], ['-R', 'noChmod', true],
    ['-D', 'displayDotFiles', true], ['-x', 'prohibitDotFilesWrite', true], ['-X', 'prohibitDotFilesRead', true],
    ['-z', 'allowDotFiles', true], ['-w', 'allowUserFxp', true], ['-W', 'allowAnonymousFxp', true],
    ['-H', 'dontResolve', true], ['-d', 'verboseLog', 1], ['-B', 'daemonize', true],
    ['-b', 'brokenClients', true], ['-A', 'chrootEveryone', true], ['-j', 'createHomeDir', true],
  ];
  for (const [flag, field, value] of flags) {
    it(`${flag} sets ${field}`, async () => assert.equal((await validConfig(flag))[field], value));
  }
  it('clusters, with a value at the end of a cluster', async () => {
    const c = await validConfig('-AjE', '-dHp40000:40100', '-Bc', '7');
    assert.deepEqual(
      [
        c.chrootEveryone,
        c.createHomeDir,
        c.noAnonymous,
        c.verboseLog,
        c.dontResolve,
        c.daemonize,
        c.maxClients,
      ],
      [true, true, true, 1, true, true, 7],
    );
    assert.deepEqual(c.passivePorts, { first: 40000, last: 40100 });
  });
  it('-d counts up to two, like Pure-FTPd', async () => {
    assert.equal((await validConfig('-dd')).verboseLog, 2);
    assert.equal((await validConfig('-d', '-d', '-d')).verboseLog, 2);
  });
  it('Pure-FTPd long names and readable names', async () => {
    assert.equal((await validConfig('--chrooteveryone')).chrootEveryone, true);
    assert.equal((await validConfig('--chroot-everyone')).chrootEveryone, true);
    assert.equal((await validConfig('--maxclientsnumber', '9')).maxClients, 9);
    assert.equal((await validConfig('--max-clients=9')).maxClients, 9);
  });
  it('the last of -e/-E and of -w/-W wins; -X implies -x (upstream §1.2, §6.3)', async () => {
    const a = await validConfig('-E', '-e');
    assert.deepEqual([a.anonymousOnly, a.noAnonymous], [true, false]);
    const b = await validConfig('-W', '-w');
    assert.deepEqual([b.allowUserFxp, b.allowAnonymousFxp], [true, false]);
    const c = await validConfig('-w', '-W');
    assert.deepEqual([c.allowUserFxp, c.allowAnonymousFxp], [true, true]);
    assert.equal((await validConfig('-X')).prohibitDotFilesWrite, true);
  });
  it('-4 with -6, or with an address of the other family, is refused', async () => {
    await refuses(['-4', '-6'], 'tsftpd: -4 and -6 cannot be used together');
    await refuses(
      ['-4', '-S', '::1,21'],
      /^tsftpd: -4 \(IPv4 only\) conflicts with the IPv6 bind address ::1$/,
    );
    await refuses(['-6', '-S', '127.0.0.1,21'], /conflicts with the IPv4 bind address 127\.0\.0\.1$/);
  });
});
