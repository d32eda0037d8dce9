/**
 * `--debian-conf DIR` (issue 14): Debian's one-file-per-option layout read as pure-ftpd-wrapper reads
 * it. The real wrapper (Debian's pure-ftpd package), pointed at a copy of the layout, prints the
 * switches it would run (`--show-options`); tsftpd's configuration from those switches must equal its
 * configuration from `--debian-conf` on the same directory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { findTool, runTool, toolSkip } from '../helpers/clients.js';

const WRAPPER = '/usr/sbin/pure-ftpd-wrapper';
const skip =
  toolSkip('perl') ||
  (findTool('pure-ftpd-wrapper') === undefined && toolSkip('pure-ftpd-wrapper', 'apt-get install pure-ftpd'));

describe('--debian-conf: the layout pure-ftpd-wrapper reads', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-debconf-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Builds DIR/conf and DIR/auth; returns DIR. */
  async function layout(
    name: string,
    conf: Record<string, string>,
    auth: Record<string, string>,
  ): Promise<string> {
    const etc = path.join(dir, name);
    await mkdir(path.join(etc, 'conf'), { recursive: true });
    await mkdir(path.join(etc, 'auth'));
    for (const [k, v] of Object.entries(conf)) await writeFile(path.join(etc, 'conf', k), `${v}\n`);
    for (const [link, key] of Object.entries(auth))
      await symlink(`../conf/${key}`, path.join(etc, 'auth', link));
    return etc;
  }

  /** The real wrapper's switches for `etc` (a copy of the script whose fixed paths point there). */
  async function wrapperSwitches(etc: string): Promise<string[]> {
    const script = path.join(dir, `wrapper-${path.basename(etc)}.pl`);
    const text = await readFile(WRAPPER, 'utf8');
    await writeFile(script, text.split('/etc/pure-ftpd/').join(`${etc}/`));
    const r = await runTool('perl', [script, '--show-options']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split(' ');
  }

  it("Debian's stock layout reads the same as the wrapper's command line", async () => {
    const stock = path.join(dir, 'stock');
    await mkdir(path.join(stock, 'conf'), { recursive: true });
    await mkdir(path.join(stock, 'auth'));
    for (const f of await readdir('/etc/pure-ftpd/conf')) {
      await copyFile(path.join('/etc/pure-ftpd/conf', f), path.join(stock, 'conf', f));
    }
    for (const f of await readdir('/etc/pure-ftpd/auth')) {
      const target = await (await import('node:fs/promises')).readlink(path.join('/etc/pure-ftpd/auth', f));
      await symlink(target, path.join(stock, 'auth', f));
    }
    const theirs = await loadConfig(await wrapperSwitches(stock));
    const ours = await loadConfig(['--debian-conf', stock]);
    assert.ok('config' in theirs && 'config' in ours);
    assert.deepEqual(ours.config, theirs.config);
  });

  it('a richer layout: options, pairs, the auth order of the links', async () => {
    const pdb = path.join(dir, 'pureftpd.pdb');
    await writeFile(pdb, '');
    const etc = await layout(
      'rich',
      {
        ChrootEveryone: 'yes',
        NoAnonymous: 'no',
        MaxClientsNumber: '50',
        MaxClientsPerIP: '8',
        PassivePortRange: '30000 30100',
        Umask: '177 077',
        TrustedIP: '127.0.0.1',
        TrustedGID: '100',
        MinUID: '1000',
        AltLog: 'clf:/var/log/pure-ftpd/transfer.log',
        PureDB: pdb,
        UnixAuthentication: 'yes',
        PAMAuthentication: 'yes',
        DontResolve: 'yes',
        FSCharset: 'UTF-8',
        UserBandwidth: '100 200',
        LimitRecursion: '2000 8',
      },
      { '40pam': 'PAMAuthentication', '50pure': 'PureDB', '65unix': 'UnixAuthentication' },
    );
    const theirs = await loadConfig(await wrapperSwitches(etc));
    const ours = await loadConfig(['--debian-conf', etc]);
    assert.ok('config' in theirs && 'config' in ours);
    assert.deepEqual(ours.config, theirs.config);
    assert.deepEqual(
      ours.config.auth.map((a) => a.method),
      ['pam', 'puredb', 'unix'],
    );
    // The command line still wins.
    const over = await loadConfig(['--debian-conf', etc, '-c', '7', '-g', '/tmp/x.pid']);
    assert.ok('config' in over);
    assert.equal(over.config.maxClients, 7);
    assert.equal(over.config.pidFile, '/tmp/x.pid');
  });

  it('an unknown option file is reported with its path', async () => {
    const etc = await layout('bad', { NoSuchOption: 'yes' }, {});
    await assert.rejects(
      loadConfig(['--debian-conf', etc]),
      /conf\/NoSuchOption:1: unknown key "NoSuchOption"/,
    );
  });
});
