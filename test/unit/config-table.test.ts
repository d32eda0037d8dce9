// The switch table itself, command-line syntax errors, --help and --version.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig, helpText, loadConfig, SWITCHES, type Config } from '../../src/config/index.js';
import { parseServices } from '../../src/config/services.js';
import { refuses, validConfig } from '../helpers/config.js';

/** A valid value for every switch that takes one, to check that each Config field has a switch. */
// prettier-ignore
const SAMPLES: Record<string, string> = {
  bind: '127.0.0.1,2121', 'max-clients': '7', 'max-clients-per-ip': '2', 'max-idle-time': '3',
  'passive-port-range': '40000:40100', 'force-passive-ip': '192.0.2.1', 'pid-file': '/run/x.pid',
  'syslog-facility': 'daemon', 'alt-log': 'stats:/var/log/x.log', 'upload-pipe': '/run/x.pipe', 'who-socket': '/run/w.sock', 'trusted-ip': '127.0.0.1', 'trusted-gid': '100', 'aliases-file': '/etc/aliases.x', 'hash-limit': '100', language: 'de', 'ext-cert': '/run/certd.sock', 'vhost-dir': '/etc/vh', metrics: '127.0.0.1:9101', 'metrics-auth': '/etc/m.auth', 'max-load': '4', 'fortunes-file': '/etc/motd', 'max-disk-usage': '90', 'log-format': 'json', login: 'puredb:/x.pdb', 'anonymous-root': '/srv',
  'passwd-file': '/pw', 'auth-delay': '5', umask: '077:077', 'limit-recursion': '9:9', 'min-uid': '1000',
  quota: '1000:10', 'anonymous-ratio': '1:5', 'user-ratio': '2:3', 'anonymous-bandwidth': '8',
  'user-bandwidth': '16:32', 'per-user-limits': '3:20', tls: '1', 'cert-file': '/c.pem,/k.pem',
  'syslog-socket': '/run/log.sock',
  'tls-cipher-suite': '-C:HIGH', 'implicit-tls': '127.0.0.1,990', workers: '4', 'run-as': 'ftp',
  'ban-after': '5', 'ban-window': '60', 'ban-time': '30', 'ban-max-time': '3600', 'ban-allow': '10.0.0.0/8',
  'ban-account-after': '9', 'proxy-protocol': '127.0.0.1', state: 'redis://127.0.0.1:6379/0', 'node-name': 'n1',
};

describe('switch table', () => {
  it('every Config field is set by some switch', async () => {
    const touched = new Set<string>();
    for (const spec of SWITCHES) {
      if (spec.apply === undefined) continue;
      const value = spec.arg === undefined ? '' : SAMPLES[spec.name];
      assert.ok(value !== undefined, `no sample value for --${spec.name}`);
      const before = defaultConfig();
      const after = defaultConfig();
      const seen = new Set<string>();
      const ctx = {
        cwd: '/',
        firstInSource: (mark: string) => !seen.has(mark) && Boolean(seen.add(mark)),
        lookupService: async () => undefined,
      };
      await spec.apply(after, value, ctx);
      for (const key of Object.keys(after) as (keyof Config)[]) {
        if (JSON.stringify(after[key]) !== JSON.stringify(before[key])) touched.add(key);
      }
    }
    const fields = new Set([
      ...Object.keys(defaultConfig()),
      'forcePassiveIp',
      'pidFile',
      'anonymousRoot',
      'passwdFile',
      'syslogFacility',
      'minUid',
      'quota',
      'anonymousRatio',
      'userRatio',
      'bandwidth',
      'perUserLimits',
      'keyFile',
      'tlsCiphers',
      'workers',
      'runAs',
      'trustedIp',
      'trustedGid',
      'aliasesFile',
      'language',
      'hashLimitMb',
      'extCertSocket',
      'vhostDir',
      'whoSocket',
      'metrics',
      'metricsAuth',
      'proxyProtocol',
      'state',
      'nodeName',
    ]);
    assert.deepEqual(
      [...fields].filter((f) => !touched.has(f)),
      [],
    );
  });
  it('every switch has a help line and a readable long name; unsupported ones still have a letter', () => {
    for (const spec of SWITCHES) {
      assert.ok(spec.help.length > 0 && /^[a-z0-9-]+$/.test(spec.name), spec.name);
      if (spec.kind === 'unsupported') assert.ok(spec.short !== undefined && spec.conf !== undefined);
    }
  });
  it('-V is trusted IP, not version', async () => {
    assert.equal((await validConfig('-V', '192.0.2.1')).trustedIp, '192.0.2.1');
    const result = await loadConfig(['--version']);
    assert.ok('version' in result && /^tsftpd \d+\.\d+\.\d+/.test(result.version));
  });
});

describe('command-line syntax', () => {
  it('-3 and --language are read; -v is refused as Linux builds of Pure-FTPd refuse it', async () => {
    assert.equal((await validConfig('-3', '/run/certd.sock')).extCertSocket, '/run/certd.sock');
    assert.equal((await validConfig('--ext-cert=/run/certd.sock')).extCertSocket, '/run/certd.sock');
    assert.equal((await validConfig('--language', 'pt-br')).language, 'pt-BR');
    assert.equal((await validConfig('-Aa', '100')).trustedGid, 100);
    await refuses(['-n', '1000'], 'tsftpd: -n 1000: expected files:MB, for example 1000:10');
    await refuses(
      ['-v', 'myftp'],
      'tsftpd: -v: Bonjour registration exists only in macOS builds; not available on Linux',
    );
  });
  it('unknown, ambiguous, valueless and value-less switches', async () => {
    await refuses(['-%'], 'tsftpd: -%: unknown switch (see tsftpd --help)');
    await refuses(['--nope'], 'tsftpd: --nope: unknown switch (see tsftpd --help)');
    await refuses(['--no'], /^tsftpd: --no: ambiguous, could be --no-anonymous, /);
    await refuses(['--chrooteveryone=yes'], 'tsftpd: --chrooteveryone: takes no value');
    await refuses(['-A', '-p'], 'tsftpd: -p: needs a value (first:last)');
    await refuses(['--bind'], 'tsftpd: --bind: needs a value ([address],[port])');
  });
  it('stray arguments are refused; -- ends the switches', async () => {
    await refuses(['-A', 'x'], 'tsftpd: invalid argument: "x"');
    await refuses(['--', 'x'], 'tsftpd: invalid argument: "x"');
    await refuses(['-A', '-'], 'tsftpd: invalid argument: "-"');
    const result = await loadConfig(['-A', '--']);
    assert.ok('config' in result && result.config.chrootEveryone);
  });
  it('a value may start with a dash, as with getopt', async () => {
    const result = await loadConfig(['-g', '-A']);
    assert.ok('config' in result && result.config.pidFile?.endsWith('/-A') && !result.config.chrootEveryone);
  });
});

describe('--help', () => {
  it('lists every switch by letter and both long names, and wins over other switches', async () => {
    for (const argv of [['-h'], ['--help'], ['-Y', '1', '-h'], ['-A', '--he']]) {
      const result = await loadConfig(argv);
      assert.ok('help' in result, JSON.stringify(argv));
    }
    const text = helpText();
    for (const spec of SWITCHES) {
      if (spec.short !== undefined) assert.match(text, new RegExp(`^  -${spec.short} `, 'm'));
      if (spec.pureName !== undefined) assert.ok(text.includes(`--${spec.pureName} `), spec.pureName);
      assert.ok(text.includes(`--${spec.name}`), spec.name);
    }
  });
});

describe('/etc/services parsing', () => {
  it('reads TCP ports and aliases, skips comments and UDP', () => {
    const map = parseServices('# c\nftp\t\t21/tcp\nhttp 80/tcp www # web\nsyslog 514/udp\nbad\n');
    assert.deepEqual(
      [...map],
      [
        ['ftp', 21],
        ['http', 80],
        ['www', 80],
      ],
    );
  });
});
