// Start-up and command-line messages (issue 10 items 5, 7, 8, 12): pure functions of the
// configuration, checked without starting a server.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  defaultConfig,
  helpText,
  loadConfig,
  quickstartConfig,
  type Config,
} from '../../src/config/index.js';
import { HELP_WIDTH } from '../../src/config/help.js';
import { editDistance, nearest } from '../../src/config/suggest.js';
import {
  addUserText,
  adminCommand,
  authLabel,
  backgroundLogText,
  listenerText,
  logTarget,
  otherPortHint,
  placeText,
  usersText,
} from '../../src/server/startup-text.js';
import { isUnknownCommand, SUBCOMMANDS, unknownCommandMessage } from '../../src/subcommands.js';
import { pdbProblemText } from '../../src/auth/pdb.js';
import { refuses } from '../helpers/config.js';
import { LANGUAGES } from '../../src/i18n/languages.js';

const config = (patch: Partial<Config> = {}): Config => ({ ...defaultConfig(), ...patch });
const none = { exists: () => false };
const all = { exists: () => true };

describe('the start-up line names real URLs (item 12)', () => {
  it('one URL per listener; a wildcard bind says so and gives the loopback URL', () => {
    assert.equal(listenerText(config(), { address: '127.0.0.1', port: 2121 }, 'ftp'), 'ftp://127.0.0.1:2121');
    assert.equal(listenerText(config(), { address: '::1', port: 990 }, 'ftps'), 'ftps://[::1]:990');
    assert.equal(
      listenerText(config(), { address: '::', port: 2121 }, 'ftp'),
      'port 2121 of every IPv4 and IPv6 address, e.g. ftp://127.0.0.1:2121',
    );
    assert.equal(
      listenerText(config({ ipv4Only: true }), { address: '0.0.0.0', port: 21 }, 'ftp'),
      'port 21 of every IPv4 address, e.g. ftp://127.0.0.1:21',
    );
    assert.equal(
      listenerText(config({ ipv6Only: true }), { address: '::', port: 21 }, 'ftp'),
      'port 21 of every IPv6 address, e.g. ftp://[::1]:21',
    );
    for (const text of [
      listenerText(config(), { address: '::', port: 2121 }, 'ftp'),
      placeText(config(), undefined, 21),
    ]) {
      assert.doesNotMatch(text, /\[0\.0\.0\.0|\]\]/);
    }
  });
  it('a listener that cannot open is named plainly', () => {
    assert.equal(placeText(config(), undefined, 2121), 'port 2121 (every IPv4 and IPv6 address)');
    assert.equal(placeText(config(), '::', 2121), 'port 2121 (every IPv4 and IPv6 address)');
    assert.equal(placeText(config(), '127.0.0.1', 2121), '127.0.0.1 port 2121');
  });
  it('a busy port says how to choose another, the npm start way under npm start', () => {
    assert.equal(
      otherPortHint(config(), 2121, { npm_lifecycle_event: 'start' }),
      'choose another port with: npm start -- -S 2122',
    );
    assert.equal(otherPortHint(config(), 21, {}), 'choose another port with -S 22');
    assert.equal(
      otherPortHint(config({ bind: { host: '127.0.0.1', port: 2121 } }), 2121, {}),
      'choose another port with -S 127.0.0.1,2122',
    );
  });
});

describe('the users part of the start-up line (item 12)', () => {
  it('no trailing colon for -l entries without argument', () => {
    assert.equal(authLabel({ method: 'pam' }), 'pam');
    assert.equal(authLabel({ method: 'unix' }), 'unix');
    assert.equal(authLabel({ method: 'pam', arg: 'ftp' }), 'pam:ftp');
    assert.equal(usersText(config({ auth: [{ method: 'pam' }] }), '/d.pdb', 'tsftpd', all), 'users: pam');
  });
  it('--passwd-file is named instead of a default .pdb that does not exist', () => {
    const c = config({ passwdFile: '/srv/pureftpd.passwd' });
    assert.equal(
      usersText(c, '/etc/pure-ftpd/pureftpd.pdb', 'tsftpd', all),
      'users: /etc/pure-ftpd/pureftpd.pdb, /srv/pureftpd.passwd',
    );
    assert.equal(
      usersText(c, '/etc/pure-ftpd/pureftpd.pdb', 'tsftpd', none),
      'users: /srv/pureftpd.passwd (not created yet)',
    );
  });
  it('missing files are marked; no source at all names the default .pdb and the command', () => {
    const c = config({ auth: [{ method: 'puredb', arg: '/x/users.pdb' }, { method: 'unix' }] });
    assert.equal(usersText(c, '/d.pdb', 'tsftpd', none), 'users: puredb:/x/users.pdb (missing), unix');
    assert.equal(
      usersText(config(), '/etc/pure-ftpd/pureftpd.pdb', 'tsftpd', none),
      'users: none yet (/etc/pure-ftpd/pureftpd.pdb does not exist; tsftpd pw useradd ... -m creates it)',
    );
  });
  it('a missing .pdb is named with the command that makes it', () => {
    assert.equal(
      pdbProblemText('/x/u.pdb', 'cannot open', { code: 'ENOENT' }),
      'user database /x/u.pdb does not exist; create it with: tsftpd pw mkdb /x/u.pdb',
    );
    assert.equal(
      pdbProblemText('/x/u.pdb', 'bad magic (old format?)'),
      'user database /x/u.pdb: bad magic (old format?); rebuild it with: tsftpd pw mkdb /x/u.pdb',
    );
  });
});

describe('the admin command suggested (item 12)', () => {
  const script = '/usr/lib/node_modules/tsftpd/dist/src/main.js';
  const realpaths: Record<string, string> = { '/usr/bin/tsftpd': script };
  const realpathOf = (f: string): string | undefined => realpaths[f];
  it('tsftpd for a global install found on PATH', () => {
    const facts = { exists: () => true, env: { PATH: '/usr/local/bin:/usr/bin' }, cwd: '/root' };
    assert.equal(adminCommand(facts, script, '/usr/bin/tsftpd', realpathOf), 'tsftpd');
  });
  it('npx tsftpd only when npm started us (npm start in a checkout, npx)', () => {
    const facts = { exists: () => true, env: { PATH: '/usr/bin', npm_command: 'start' }, cwd: '/src/tsftpd' };
    assert.equal(
      adminCommand(facts, '/src/tsftpd/dist/src/main.js', '/src/tsftpd/dist/src/main.js', () => undefined),
      'npx tsftpd',
    );
  });
  it('otherwise what was run: node and the script, relative to the working directory when inside it', () => {
    const facts = { exists: () => true, env: { PATH: '/usr/bin' }, cwd: '/src/tsftpd' };
    const main = '/src/tsftpd/dist/src/main.js';
    assert.equal(
      adminCommand(facts, main, main, () => undefined),
      'node dist/src/main.js',
    );
    assert.equal(
      adminCommand({ ...facts, cwd: '/tmp' }, main, main, () => undefined),
      `node ${main}`,
    );
  });
  it('the quickstart line adds a user whose home is created at first login; root gets nobody', () => {
    const [intro, example] = addUserText('tsftpd', '/w/pureftpd.passwd', '/w', { uid: 0, gid: 0 });
    assert.match(intro, /created at first login, -j/);
    assert.equal(example, '  tsftpd pw useradd joe -u nobody -d /w/home/joe -f /w/pureftpd.passwd');
    assert.equal(
      addUserText('npx tsftpd', '/w/p', '/w', { uid: 1000, gid: 100 })[1],
      '  npx tsftpd pw useradd joe -u 1000 -g 100 -d /w/home/joe -f /w/p',
    );
  });
});

describe('--quickstart makes the README path work (item 8)', () => {
  it('creates missing homes at login (-j)', async () => {
    assert.equal(quickstartConfig('/w').createHomeDir, true);
    const loaded = await loadConfig(['--quickstart']);
    assert.ok('config' in loaded && loaded.config.createHomeDir);
  });
});

describe('logs in the background (item 5)', () => {
  it('-B without -f logs to syslog (facility ftp); -f none keeps standard error', () => {
    assert.deepEqual(logTarget(config({ daemonize: true })), {
      kind: 'syslog',
      facility: 'ftp',
      socket: '/dev/log',
    });
    assert.deepEqual(logTarget(config()), { kind: 'stderr' });
    assert.deepEqual(logTarget(config({ daemonize: true, syslogFacility: 'none' })), { kind: 'stderr' });
    assert.deepEqual(logTarget(config({ syslogFacility: 'local3' })), {
      kind: 'syslog',
      facility: 'local3',
      socket: '/dev/log',
    });
  });
  it('the -B line says where the logs go, and warns when nowhere', () => {
    const c = config({ daemonize: true });
    assert.equal(backgroundLogText(c, all), 'logs go to syslog (facility ftp, /dev/log)');
    assert.match(backgroundLogText(c, none), /but \/dev\/log does not exist: log lines are lost/);
    assert.match(backgroundLogText(config({ daemonize: true, syslogFacility: 'none' }), all), /discarded/);
  });
});

describe('typos get the nearest name (items 7, 12)', () => {
  it('edit distance counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('chrooteveryon', 'chrooteveryone'), 1);
    assert.equal(editDistance('umaks', 'umask'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('abc', 'xyzxyz', 2), 3);
  });
  it('nearest: case-insensitive, bounded, none for short words far away', () => {
    assert.equal(nearest('ChrootEveryon', ['Bind', 'ChrootEveryone']), 'ChrootEveryone');
    assert.equal(nearest('CHROOTEVERYONE_', ['ChrootEveryone']), 'ChrootEveryone');
    assert.equal(nearest('bad', ['Bind']), undefined);
    assert.equal(nearest('Bnd', ['Bind']), 'Bind');
    assert.equal(nearest('ab', ['abc']), undefined);
  });
  it('an unknown long switch suggests the nearest one', async () => {
    await refuses(
      ['--chrot-everyone'],
      'tsftpd: --chrot-everyone: unknown switch (did you mean --chroot-everyone? see tsftpd --help)',
    );
  });
});

describe('a switch that swallowed the next switch is named (item 12)', () => {
  it('-c -S 127.0.0.1,3208 names -c, not the stray address', async () => {
    await refuses(['-c', '-S', '127.0.0.1,3208'], 'tsftpd: -c: needs a value (count), got the switch -S');
    await refuses(
      ['-E', '--max-clients', '-S', '127.0.0.1,3208'],
      'tsftpd: --max-clients: needs a value (count), got the switch -S',
    );
  });
  it('also when the value fails its check and nothing follows', async () => {
    await refuses(
      ['-S', '127.0.0.1,3208', '-c', '-A'],
      'tsftpd: -c: needs a value (count), got the switch -A',
    );
    await refuses(['-p', '--bind=,21'], 'tsftpd: -p: needs a value (first:last), got the switch --bind=,21');
  });
  it('a value that is a valid switch-like path is still taken, as getopt does', async () => {
    const loaded = await loadConfig(['-g', '-A']);
    assert.ok('config' in loaded && loaded.config.pidFile?.endsWith('/-A'));
    // A real stray argument still gets the plain message.
    await refuses(['-A', 'x'], 'tsftpd: invalid argument: "x"');
  });
});

describe('unknown commands (item 12)', () => {
  it('a word that is neither a subcommand nor an existing file is an unknown command', () => {
    const exists = (f: string): boolean => f === 'pure-ftpd.conf' || f === 'myconf';
    assert.equal(isUnknownCommand(['frobnicate'], exists), true);
    assert.equal(isUnknownCommand(['frobnicate', '-s'], exists), true);
    assert.equal(isUnknownCommand(['myconf'], exists), false); // Pure-FTPd's lone config-file form
    assert.equal(isUnknownCommand(['/etc/pure-ftpd/pure-ftpd.conf'], exists), false); // a path: "cannot read"
    assert.equal(isUnknownCommand(['pure-ftpd.conf'], exists), false);
    assert.equal(isUnknownCommand(['-S', '21'], exists), false);
    assert.equal(isUnknownCommand([], exists), false);
    for (const c of SUBCOMMANDS) assert.equal(isUnknownCommand([c.name], exists), false);
  });
  it('the message lists the commands and suggests the nearest', () => {
    const text = unknownCommandMessage('frobnicate');
    assert.match(text, /^tsftpd: unknown command "frobnicate"\n/);
    for (const c of SUBCOMMANDS) assert.ok(text.includes(c.name), c.name);
    assert.match(unknownCommandMessage('qoutacheck'), /did you mean quotacheck\?/);
  });
});

describe('tsftpd -h (item 12)', () => {
  it(`fits in ${HELP_WIDTH} columns and lists the subcommands`, () => {
    const text = helpText();
    const widest = Math.max(...text.split('\n').map((l) => l.length));
    assert.ok(widest <= HELP_WIDTH && HELP_WIDTH <= 100, `a line of ${widest} columns`);
    for (const c of SUBCOMMANDS) assert.match(text, new RegExp(`^  ${c.name} +\\S`, 'm'), c.name);
    assert.match(text, /tsftpd <command>/);
  });
});

describe('config files: every bad line at once (item 7)', () => {
  let dir = '';
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), 'tsftpd-conf-all-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('reports each unsupported, unknown or invalid line with file:line, then a count', async () => {
    const file = path.join(dir, 'several.conf');
    await writeFile(
      file,
      [
        '# stock-like file',
        'ChrootEveryon yes', // 2: typo
        'MaxClientsNumber 50',
        'TrustedIP ftp.example.com', // 4: bad value
        'Bonjour myftp', // 5: refused on Linux
        'MaxClientsPerIP lots', // 6: bad value
        'DisplayDotFiles maybe', // 7: bad boolean
        '=== junk', // 8: syntax
        'TrustedGID staff', // 9: bad value
        'Language klingon', // 10: no such language
        '',
      ].join('\n'),
    );
    await assert.rejects(loadConfig([file]), (err: Error & { problems?: string[] }) => {
      assert.deepEqual(err.problems, [
        `tsftpd: ${file}:2: unknown key "ChrootEveryon" (did you mean ChrootEveryone?)`,
        `tsftpd: ${file}:4: TrustedIP ftp.example.com: expected a numeric IPv4 or IPv6 address (the local address trusted for accounts)`,
        `tsftpd: ${file}:5: Bonjour: Bonjour registration exists only in macOS builds; not available on Linux`,
        `tsftpd: ${file}:6: MaxClientsPerIP lots: the number of clients per IP must be a whole number`,
        `tsftpd: ${file}:7: DisplayDotFiles maybe: expected yes or no`,
        `tsftpd: ${file}:8: syntax error: "=== junk"`,
        `tsftpd: ${file}:9: TrustedGID staff: the trusted gid must be a whole number`,
        `tsftpd: ${file}:10: Language klingon: unknown language "klingon" (one of ${LANGUAGES.map((l) => l.tag).join(', ')})`,
      ]);
      assert.match(err.message, /\ntsftpd: 8 problems in the configuration; nothing was started$/);
      return true;
    });
  });
  it('problems of the file and of the command line come together', async () => {
    const file = path.join(dir, 'one.conf');
    await writeFile(file, 'Bonjour myftp\n');
    await assert.rejects(
      loadConfig(['--config', file, '-c', 'x']),
      (err: Error & { problems?: string[] }) => {
        assert.deepEqual(err.problems, [
          `tsftpd: ${file}:1: Bonjour: Bonjour registration exists only in macOS builds; not available on Linux`,
          'tsftpd: -c x: the number of clients must be a whole number',
        ]);
        return true;
      },
    );
  });
  it('one problem is one line, as before', async () => {
    await refuses(['-c', 'x'], 'tsftpd: -c x: the number of clients must be a whole number');
  });
});
