/**
 * The jail and the name policy end to end (upstream §6, §12, SECURITY.md): symlinks that leave an
 * account's root (to /etc and to a sibling directory) can be listed as links but never followed for
 * reading, writing, listing or CWD; `..`, absolute paths and `%2e%2e` stay inside; NUL, control
 * bytes, backslashes, over-long names and trailing slashes are handled; the dot-name policies for
 * users (-x, -X) and anonymous (-z); anonymous write refusals (-i, -M); and -K, -G, -R. Every
 * refusal is also checked on disk: nothing outside the root is read, created or changed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import path from 'node:path';
import { Client, FTPError } from 'basic-ftp';
import { TEST_GID, TEST_UID, chownTree, startServer, type TestServer } from '../helpers/server.js';
import { RawFtp, type RawReply } from '../helpers/raw.js';
import { curl, ftplib, ftpUrl, lftp, toolSkip } from '../helpers/clients.js';

const OUTSIDE_SECRET = 'outside the jail\n';
const FILE_TEXT = 'inside\n';
/** Text every /etc/passwd has; seeing it means the jail leaked. */
const PASSWD_MARK = /root:/;

/** Every RawFtp opened by a test, closed in after(). */
const clients: RawFtp[] = [];

after(() => {
  for (const c of clients) c.close();
});

async function session(srv: TestServer, user = 'joe', pass = 'secret'): Promise<RawFtp> {
  const { ftp } = await RawFtp.connect(srv.port);
  clients.push(ftp);
  await ftp.login(user, pass);
  assert.equal((await ftp.cmd('TYPE I')).code, 200);
  return ftp;
}

/** Builds joe's home: files, dot-names, and symlinks inside and out of the root. */
async function populateUser(srv: TestServer): Promise<{ home: string; outside: string }> {
  const home = srv.home('joe');
  const outside = path.join(srv.dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), OUTSIDE_SECRET);
  await writeFile(path.join(outside, 'target.txt'), OUTSIDE_SECRET);
  await writeFile(path.join(home, 'f.txt'), FILE_TEXT);
  await writeFile(path.join(home, '.hidden'), 'dot\n');
  await mkdir(path.join(home, '.dotdir'));
  await writeFile(path.join(home, '.dotdir', 'inner.txt'), 'inner\n');
  await mkdir(path.join(home, 'sub'));
  await writeFile(path.join(home, 'sub', 'in.txt'), FILE_TEXT);
  await symlink('/etc', path.join(home, 'etclink'));
  await symlink('/etc/passwd', path.join(home, 'pwlink'));
  await symlink(outside, path.join(home, 'outlink'));
  await symlink('../..', path.join(home, 'up'));
  await symlink(path.join(outside, 'secret.txt'), path.join(home, 'secretlink'));
  await symlink(path.join(outside, 'target.txt'), path.join(home, 'targetlink'));
  await symlink('sub', path.join(home, 'inlink'));
  // Everything belongs to the account, the outside tree too: only the jail may keep it out.
  await chownTree(home, TEST_UID, TEST_GID);
  await chownTree(outside, TEST_UID, TEST_GID);
  return { home, outside };
}

/** Builds the anonymous root: a file, a dot-file, a world-writable incoming/ with a full and an empty file. */
async function populateAnon(srv: TestServer): Promise<void> {
  const root = srv.anonRoot;
  await writeFile(path.join(root, 'pub.txt'), 'public\n');
  await writeFile(path.join(root, '.hidden'), 'anon dot\n');
  await mkdir(path.join(root, 'incoming'));
  await chmod(path.join(root, 'incoming'), 0o777);
  await writeFile(path.join(root, 'incoming', 'full'), 'keep me\n');
  // Writable by the anonymous account: replacing a file needs the right to write it (as Pure-FTPd).
  await writeFile(path.join(root, 'incoming', 'empty0'), '', { mode: 0o666 });
  await chmod(path.join(root, 'incoming', 'empty0'), 0o666);
  // The anonymous root itself is read-only for the anonymous account whoever runs the tests.
  await chmod(root, 0o555);
}

/** Undoes populateAnon's chmod so the temp tree can be removed by a non-root test run. */
async function closeServer(srv: TestServer): Promise<void> {
  await chmod(srv.anonRoot, 0o755).catch(() => undefined);
  await srv.close();
}

async function listing(ftp: RawFtp, line: string): Promise<{ first: RawReply; text: string }> {
  const r = await ftp.data(line);
  return { first: r.first, text: r.data.toString() };
}

/** The entry names of a LIST output (last field of each line, without a symlink's ` -> target`). */
function listedNames(text: string): string[] {
  return text
    .split('\r\n')
    .map((l) => l.replace(/ -> .*$/, ''))
    .filter((l) => /^[-dl]/.test(l))
    .map((l) => l.slice(l.lastIndexOf(' ') + 1));
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe('symlinks out of the root', () => {
  let srv: TestServer;
  let home: string;
  let outside: string;
  before(async () => {
    srv = await startServer();
    ({ home, outside } = await populateUser(srv));
  });
  after(async () => {
    await srv.close();
  });

  it('LIST shows the links themselves but never what they point to', async () => {
    const ftp = await session(srv);
    const all = await listing(ftp, 'LIST -a');
    assert.match(all.text, / etclink -> \/etc\r\n/);
    for (const arg of [
      'etclink',
      'etclink/',
      'etclink/passwd',
      'outlink',
      'up',
      '-R',
      '-laR',
      'etclink/*',
      'up/*',
    ]) {
      const r = await listing(ftp, `LIST ${arg}`);
      assert.doesNotMatch(r.text, PASSWD_MARK, `LIST ${arg}`);
      // Link lines may show their target text; no entry or section from behind a link may appear.
      const names = listedNames(r.text);
      for (const leaked of [
        'passwd',
        'hostname',
        'secret.txt',
        'target.txt',
        'outside',
        'home',
        'pureftpd.passwd',
      ]) {
        assert.ok(!names.includes(leaked), `LIST ${arg} shows ${leaked}: ${r.text}`);
      }
      assert.doesNotMatch(
        r.text,
        /^\.?\/?(etclink|outlink|up)[^\r\n]*:\r$/m,
        `LIST ${arg} descended into a link`,
      );
    }
    for (const verb of ['NLST', 'MLSD']) {
      for (const arg of ['etclink', 'outlink', 'up']) {
        const r = await listing(ftp, `${verb} ${arg}`);
        assert.equal(r.first.code, 550, `${verb} ${arg}: ${r.first.text}`);
      }
    }
    const stat1 = await ftp.cmd('STAT etclink');
    assert.doesNotMatch(stat1.text, /passwd|hostname/);
    assert.equal((await ftp.cmd('MLST etclink/passwd')).code, 550);
    assert.equal((await ftp.cmd('MLST outlink/secret.txt')).code, 550);
  });

  it('CWD into a link that leaves the root fails; a link inside the root works', async () => {
    const ftp = await session(srv);
    for (const dir of ['etclink', 'etclink/', 'outlink', 'up', 'up/up', '/etclink/..']) {
      const r = await ftp.cmd(`CWD ${dir}`);
      if (dir === '/etclink/..') {
        // Lexically `/etclink/..` is `/`: it never touches the link.
        assert.equal(r.code, 250);
        continue;
      }
      assert.equal(r.code, 550, `CWD ${dir}: ${r.text}`);
      assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location');
    }
    assert.equal((await ftp.cmd('CWD inlink')).text, '250 OK. Current directory is /inlink');
    assert.equal((await ftp.cmd('SIZE in.txt')).text, `213 ${FILE_TEXT.length}`);
  });

  it('RETR, SIZE and MDTM through such links fail', async () => {
    const ftp = await session(srv);
    for (const p of [
      'etclink/passwd',
      'pwlink',
      'outlink/secret.txt',
      'secretlink',
      'up/outside/secret.txt',
    ]) {
      const r = await ftp.data(`RETR ${p}`);
      assert.equal(r.first.code, 550, `RETR ${p}: ${r.first.text}`);
      assert.equal(r.data.length, 0);
      assert.equal((await ftp.cmd(`SIZE ${p}`)).code, 550, `SIZE ${p}`);
      assert.equal((await ftp.cmd(`MDTM ${p}`)).code, 550, `MDTM ${p}`);
    }
    assert.equal((await ftp.cmd('PRET RETR pwlink')).code, 550);
  });

  it('nothing can be written, created, changed or removed through them', async () => {
    const ftp = await session(srv);
    const before = await stat(path.join(outside, 'secret.txt'));
    assert.notEqual((await ftp.data('STOR outlink/new.txt', 'x')).first.code, 150);
    assert.notEqual((await ftp.data('APPE outlink/secret.txt', 'x')).first.code, 150);
    assert.notEqual((await ftp.data('APPE secretlink', 'x')).first.code, 150);
    assert.notEqual(
      (await ftp.data('STOR targetlink', 'overwritten')).first.code,
      150,
      'a final symlink is never followed',
    );
    assert.equal((await ftp.cmd('MKD outlink/made')).code, 550);
    assert.equal((await ftp.cmd('MKD up/made')).code, 550);
    assert.equal((await ftp.cmd('DELE outlink/secret.txt')).code, 550);
    assert.equal((await ftp.cmd('RMD outlink')).code, 550, 'a symlink is not a directory to remove');
    assert.equal((await ftp.cmd('SITE CHMOD 600 outlink/secret.txt')).code, 550);
    assert.equal((await ftp.cmd('SITE CHMOD 600 secretlink')).code, 550);
    assert.equal((await ftp.cmd('MFMT 20000101000000 secretlink')).code, 550);
    assert.equal((await ftp.cmd('SITE UTIME 20000101000000 outlink/secret.txt')).code, 550);
    assert.equal((await ftp.cmd('RNFR outlink/secret.txt')).code, 550);
    assert.equal((await ftp.cmd('RNFR f.txt')).code, 350);
    assert.equal((await ftp.cmd('RNTO outlink/moved.txt')).code, 451);
    assert.deepEqual((await readdir(outside)).sort(), ['secret.txt', 'target.txt']);
    assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), OUTSIDE_SECRET);
    assert.equal(await readFile(path.join(outside, 'target.txt'), 'utf8'), OUTSIDE_SECRET);
    const after = await stat(path.join(outside, 'secret.txt'));
    assert.equal(after.mode, before.mode);
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.equal(await readFile(path.join(home, 'f.txt'), 'utf8'), FILE_TEXT);
  });

  it('the link itself can be renamed and deleted, leaving its target alone', async () => {
    const ftp = await session(srv);
    assert.equal((await ftp.cmd('RNFR secretlink')).code, 350);
    assert.equal((await ftp.cmd('RNTO secretlink2')).code, 250);
    assert.equal((await ftp.cmd('DELE secretlink2')).code, 250);
    assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), OUTSIDE_SECRET);
    assert.ok(!(await readdir(home)).includes('secretlink2'));
  });

  it('curl, lftp, ftplib and basic-ftp cannot read /etc/passwd through ../, /etc or the link', async (t) => {
    const login = { user: 'joe', password: 'secret' };
    if (toolSkip('curl') === false) {
      for (const p of ['/../../etc/passwd', '/etclink/passwd', '/pwlink', '/%2e%2e/%2e%2e/etc/passwd']) {
        const r = await curl(ftpUrl(srv.port, p), login, ['--path-as-is']);
        assert.notEqual(r.code, 0, `curl ${p}`);
        assert.doesNotMatch(r.stdout, PASSWD_MARK, `curl ${p}`);
      }
    } else t.diagnostic(String(toolSkip('curl')));
    if (toolSkip('lftp') === false) {
      for (const p of ['../../etc/passwd', '/etc/passwd', 'etclink/passwd', 'pwlink']) {
        const r = await lftp(srv.port, `cat ${p}`, login);
        assert.notEqual(r.code, 0, `lftp cat ${p}`);
        assert.doesNotMatch(r.stdout, PASSWD_MARK, `lftp cat ${p}`);
      }
    } else t.diagnostic(String(toolSkip('lftp')));
    if (toolSkip('python3') === false) {
      const r = await ftplib(
        srv.port,
        [
          "ftp.login('joe', 'secret')",
          "for p in ['../../etc/passwd', '/etc/passwd', 'etclink/passwd', 'pwlink']:",
          '    try:',
          "        ftp.retrbinary('RETR ' + p, lambda b: print('LEAK', b))",
          '    except ftplib.error_perm as e:',
          '        print(str(e)[:3])',
        ].join('\n'),
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, '550\n550\n550\n550\n');
    } else t.diagnostic(String(toolSkip('python3')));
    const client = new Client(10000);
    try {
      await client.access({ host: '127.0.0.1', port: srv.port, user: 'joe', password: 'secret' });
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      await assert.rejects(
        client.downloadTo(sink, '../../etc/passwd'),
        (e: unknown) => e instanceof FTPError && e.code === 550,
      );
      await assert.rejects(client.cd('etclink'), (e: unknown) => e instanceof FTPError && e.code === 550);
    } finally {
      client.close();
    }
  });
});

describe('.., absolute paths and %2e%2e', () => {
  let srv: TestServer;
  let home: string;
  before(async () => {
    srv = await startServer();
    ({ home } = await populateUser(srv));
  });
  after(async () => {
    await srv.close();
  });

  it('CWD ../.. and friends stop at the root', async () => {
    const ftp = await session(srv);
    for (const dir of [
      '../..',
      '/../../..',
      'sub/../../..',
      '..',
      '../../../../../../../../../..',
      '~',
      '/',
    ]) {
      assert.equal((await ftp.cmd(`CWD ${dir}`)).code, 250, `CWD ${dir}`);
      assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location', `after CWD ${dir}`);
    }
    assert.equal((await ftp.cmd('CDUP')).code, 250);
    assert.equal((await ftp.cmd('XCUP')).code, 250);
    assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location');
    assert.equal((await ftp.cmd('SIZE f.txt')).text, `213 ${FILE_TEXT.length}`, 'still in the home');
    assert.equal((await ftp.cmd('CWD ~root')).code, 550, 'no ~user expansion inside a chroot');
  });

  it('RETR ../../etc/passwd, /etc/passwd and deep ../ get 550 and no data', async () => {
    const ftp = await session(srv);
    await ftp.cmd('CWD sub');
    for (const p of [
      '../../etc/passwd',
      '/etc/passwd',
      '../../../../../../../../etc/passwd',
      'sub/../../../etc/passwd',
    ]) {
      const r = await ftp.data(`RETR ${p}`);
      assert.equal(r.first.text, `550 Can't open ${p}: No such file or directory`);
    }
    assert.equal((await ftp.data('RETR ../f.txt')).data.toString(), FILE_TEXT, '.. inside the root works');
  });

  it('%2e%2e is a plain name, never a parent', async () => {
    const ftp = await session(srv);
    assert.equal((await ftp.cmd('CWD %2e%2e')).code, 550);
    assert.equal((await ftp.data('RETR %2e%2e/%2e%2e/etc/passwd')).first.code, 550);
    assert.equal((await ftp.data('RETR ..%2f..%2fetc%2fpasswd')).first.code, 550);
    assert.equal((await ftp.data('RETR %252e%252e/etc/passwd')).first.code, 550);
    assert.equal((await ftp.cmd('MKD %2e%2e')).code, 257);
    assert.ok(await exists(path.join(home, '%2e%2e')), 'created literally inside the home');
    assert.equal((await ftp.cmd('CWD %2e%2e')).text, '250 OK. Current directory is /%2e%2e');
    assert.equal((await ftp.cmd('MKD ...')).code, 257);
    assert.ok(await exists(path.join(home, '%2e%2e', '...')));
  });

  it('absolute paths are relative to the jail root', async () => {
    const ftp = await session(srv);
    await ftp.cmd('CWD sub');
    assert.equal((await ftp.cmd('SIZE /f.txt')).text, `213 ${FILE_TEXT.length}`);
    assert.equal((await ftp.cmd(`SIZE ${home}/f.txt`)).code, 550, 'the real path means nothing inside');
    assert.equal((await ftp.data('STOR /abs.txt', 'abs')).final?.code, 226);
    assert.equal(await readFile(path.join(home, 'abs.txt'), 'utf8'), 'abs');
  });
});

describe('name hygiene (upstream §12)', () => {
  let srv: TestServer;
  let home: string;
  before(async () => {
    srv = await startServer();
    ({ home } = await populateUser(srv));
  });
  after(async () => {
    await srv.close();
  });

  it('NUL and control bytes become `_`, never a shorter name', async () => {
    const ftp = await session(srv);
    const socket = await ftp.epsv();
    ftp.write(Buffer.from('STOR nul\0name\x01x\r\n', 'latin1'));
    assert.equal((await ftp.read()).code, 150);
    socket.end('n');
    assert.equal((await ftp.read()).code, 226);
    const names = await readdir(home);
    assert.ok(names.includes('nul_name_x'), names.join(','));
    assert.ok(!names.includes('nul'));
  });

  it('backslashes are refused everywhere', async () => {
    const ftp = await session(srv);
    assert.equal((await ftp.cmd('MKD a\\b')).text, '553 Prohibited directory name');
    assert.equal((await ftp.cmd('RMD a\\b')).text, '553 Prohibited directory name');
    assert.equal((await ftp.data('STOR a\\b', 'x')).first.text, '553 Prohibited file name: a\\b');
    assert.equal((await ftp.data('RETR ..\\..\\etc\\passwd')).first.code, 553);
    assert.equal((await ftp.cmd('CWD ..\\..')).code, 553);
    assert.equal((await ftp.cmd('DELE f\\.txt')).code, 553);
    assert.ok(!(await readdir(home)).some((n) => n.includes('\\')));
  });

  it('a name over 255 bytes is refused; 255 bytes is fine', async () => {
    const ftp = await session(srv);
    assert.equal((await ftp.cmd(`MKD ${'d'.repeat(256)}`)).text, '553 Prohibited directory name');
    assert.equal((await ftp.data(`STOR ${'s'.repeat(256)}`, 'x')).first.code, 553);
    assert.equal((await ftp.data(`STOR ${'é'.repeat(128)}`, 'x')).first.code, 553, '256 bytes in UTF-8');
    assert.equal((await ftp.cmd(`RETR sub/${'r'.repeat(300)}/x`)).code, 553);
    assert.equal((await ftp.cmd(`MKD ${'d'.repeat(255)}`)).code, 257);
    assert.equal((await ftp.data(`STOR ${'s'.repeat(255)}`, 'x')).final?.code, 226);
    assert.ok((await readdir(home)).includes('s'.repeat(255)));
  });

  it('a trailing slash only names a directory', async () => {
    const ftp = await session(srv);
    assert.equal((await ftp.data('STOR new/', 'x')).first.text, "553 Can't open that file: Is a directory");
    assert.equal((await ftp.data('APPE new/', 'x')).first.code, 553);
    assert.ok(!(await exists(path.join(home, 'new'))), 'no file named new');
    assert.equal((await ftp.data('RETR f.txt/')).first.code, 550);
    assert.equal((await ftp.cmd('SIZE f.txt/')).code, 550);
    assert.equal((await ftp.cmd('MDTM f.txt/')).code, 550);
    assert.equal((await ftp.cmd('DELE f.txt/')).code, 550);
    assert.equal((await ftp.cmd('RNFR f.txt/')).code, 550);
    assert.equal((await ftp.cmd('RNFR f.txt')).code, 350);
    assert.equal((await ftp.cmd('RNTO g.txt/')).code, 451);
    assert.equal(await readFile(path.join(home, 'f.txt'), 'utf8'), FILE_TEXT);
    assert.equal((await ftp.cmd('MKD d/')).code, 257);
    assert.equal((await ftp.cmd('CWD d/')).text, '250 OK. Current directory is /d');
    assert.equal((await ftp.cmd('CWD /')).code, 250);
    assert.equal((await ftp.cmd('RNFR d/')).code, 350);
    assert.equal((await ftp.cmd('RNTO e/')).code, 250);
    assert.equal((await ftp.cmd('RMD e/')).code, 250);
    assert.ok(!(await exists(path.join(home, 'e'))));
  });

  it('leading and trailing blanks of new names become `_`', async () => {
    const ftp = await session(srv);
    assert.equal(
      (await ftp.cmd('MKD  spaced ')).text,
      '257 "_spaced_" : The directory was successfully created',
    );
    assert.equal((await ftp.data('STOR  lead.txt', 'x')).final?.code, 226);
    assert.ok((await readdir(home)).includes('_lead.txt'));
  });
});

describe('dot-name policy (upstream §6.3)', () => {
  const servers: TestServer[] = [];
  async function userServer(args: string[]): Promise<TestServer> {
    const srv = await startServer({ args });
    servers.push(srv);
    await populateUser(srv);
    await populateAnon(srv);
    return srv;
  }
  after(async () => {
    for (const s of servers) await closeServer(s);
  });

  it('users read and write dot-names by default; LIST shows them only with -a', async () => {
    const srv = await userServer([]);
    const ftp = await session(srv);
    assert.equal((await ftp.data('RETR .hidden')).final?.code, 226);
    assert.equal((await ftp.data('STOR .new', 'x')).final?.code, 226);
    assert.equal((await ftp.cmd('MKD .made')).code, 257);
    assert.doesNotMatch((await listing(ftp, 'LIST')).text, /\.hidden/);
    assert.match((await listing(ftp, 'LIST -a')).text, / \.hidden\r\n/);
  });

  it('-x: users read dot-names but cannot create, change or remove them', async () => {
    const srv = await userServer(['-x']);
    const home = srv.home('joe');
    const ftp = await session(srv);
    assert.equal((await ftp.data('RETR .hidden')).final?.code, 226);
    assert.equal((await ftp.data('RETR .dotdir/inner.txt')).final?.code, 226);
    assert.equal((await ftp.cmd('CWD .dotdir')).code, 250);
    assert.equal((await ftp.cmd('CWD /')).code, 250);
    assert.equal((await ftp.data('STOR .new', 'x')).first.text, '553 Prohibited file name: .new');
    assert.equal((await ftp.data('STOR .dotdir/x', 'x')).first.code, 553, 'any dot component counts');
    assert.equal((await ftp.data('APPE .hidden', 'x')).first.code, 553);
    assert.equal((await ftp.cmd('MKD .made')).text, '553 Prohibited directory name');
    assert.equal((await ftp.cmd('DELE .hidden')).code, 553);
    assert.equal((await ftp.cmd('RNFR .hidden')).code, 553);
    assert.equal((await ftp.cmd('RNFR f.txt')).code, 350);
    assert.equal((await ftp.cmd('RNTO .f.txt')).code, 553);
    assert.equal((await ftp.cmd('SITE CHMOD 600 .hidden')).code, 553);
    assert.equal((await ftp.cmd('MFMT 20000101000000 .hidden')).code, 553);
    const names = await readdir(home);
    assert.ok(!names.includes('.new') && !names.includes('.made') && !names.includes('.f.txt'));
    assert.equal(await readFile(path.join(home, '.hidden'), 'utf8'), 'dot\n');
  });

  it('-X: users can neither read nor write dot-names, and listings hide them', async () => {
    const srv = await userServer(['-X']);
    const ftp = await session(srv);
    assert.equal((await ftp.data('RETR .hidden')).first.text, '553 Prohibited file name: .hidden');
    assert.equal((await ftp.data('RETR .dotdir/inner.txt')).first.code, 553);
    assert.equal((await ftp.cmd('SIZE .hidden')).code, 553);
    assert.equal((await ftp.cmd('CWD .dotdir')).code, 553);
    assert.equal((await ftp.data('STOR .new', 'x')).first.code, 553);
    assert.doesNotMatch((await listing(ftp, 'LIST -a')).text, /\.hidden|\.dotdir/);
    assert.doesNotMatch((await listing(ftp, 'NLST')).text, /\.hidden|\.dotdir/);
    assert.doesNotMatch((await listing(ftp, 'MLSD')).text, /\.hidden|\.dotdir/);
  });

  it('anonymous: dot-names are hidden and refused', async () => {
    const srv = await userServer([]);
    const ftp = await session(srv, 'ftp');
    assert.equal((await ftp.data('RETR .hidden')).first.text, '553 Prohibited file name: .hidden');
    assert.equal((await ftp.cmd('SIZE .hidden')).code, 553);
    assert.doesNotMatch((await listing(ftp, 'LIST -a')).text, /\.hidden/);
    assert.doesNotMatch((await listing(ftp, 'NLST')).text, /\.hidden/);
    assert.doesNotMatch((await listing(ftp, 'MLSD')).text, /\.hidden/);
    assert.equal((await ftp.data('STOR incoming/.x', 'x')).first.code, 553);
  });

  it('anonymous with -z: dot-names can be read, never written', async () => {
    const srv = await userServer(['-z']);
    const ftp = await session(srv, 'ftp');
    const r = await ftp.data('RETR .hidden');
    assert.equal(r.final?.code, 226);
    assert.equal(r.data.toString(), 'anon dot\n');
    assert.match((await listing(ftp, 'LIST -a')).text, / \.hidden\r\n/);
    assert.equal((await ftp.data('STOR incoming/.x', 'x')).first.code, 553);
    assert.ok(!(await readdir(path.join(srv.anonRoot, 'incoming'))).includes('.x'));
  });
});

describe('anonymous write refusals (upstream §6.1)', () => {
  const servers: TestServer[] = [];
  async function anonServer(args: string[] = []): Promise<{ srv: TestServer; ftp: RawFtp }> {
    const srv = await startServer({ args });
    servers.push(srv);
    await populateUser(srv);
    await populateAnon(srv);
    return { srv, ftp: await session(srv, 'anonymous') };
  }
  after(async () => {
    for (const s of servers) await closeServer(s);
  });

  it('read-only where the directory is not writable; uploads only new or empty files elsewhere', async () => {
    const { srv, ftp } = await anonServer();
    const incoming = path.join(srv.anonRoot, 'incoming');
    assert.equal((await ftp.data('STOR new.txt', 'x')).first.code, 553);
    assert.equal((await ftp.data('STOU', 'x')).first.code, 553);
    assert.ok(!(await exists(path.join(srv.anonRoot, 'new.txt'))));
    const put = await ftp.data('STOR incoming/new.txt', 'uploaded');
    assert.equal(put.final?.code, 226, put.first.text);
    assert.equal(await readFile(path.join(incoming, 'new.txt'), 'utf8'), 'uploaded');
    const over = await ftp.data('STOR incoming/full', 'replaced');
    assert.equal(over.first.text, '550 Anonymous users may not overwrite existing files');
    assert.equal((await ftp.data('APPE incoming/full', 'more')).first.code, 550);
    assert.equal(await readFile(path.join(incoming, 'full'), 'utf8'), 'keep me\n');
    assert.equal(
      (await ftp.data('STOR incoming/empty0', 'filled')).final?.code,
      226,
      'an empty file may be overwritten',
    );
    assert.equal(await readFile(path.join(incoming, 'empty0'), 'utf8'), 'filled');
  });

  it('no delete, rename, rmdir, mkdir (without -M), chmod or utime', async () => {
    const { srv, ftp } = await anonServer();
    const pub = path.join(srv.anonRoot, 'pub.txt');
    const old = new Date('2001-01-01T00:00:00Z');
    await utimes(pub, old, old);
    const mode = (await stat(pub)).mode;
    assert.equal((await ftp.cmd('DELE incoming/full')).text, '550 Anonymous users can not delete files');
    assert.equal(
      (await ftp.cmd('RNFR incoming/full')).text,
      '550 Anonymous users are not allowed to move/rename files',
    );
    assert.equal((await ftp.cmd('RNTO incoming/x')).code, 503);
    assert.equal(
      (await ftp.cmd('RMD incoming')).text,
      '550 Sorry, anonymous users are not allowed to remove directories',
    );
    assert.equal(
      (await ftp.cmd('MKD incoming/d')).text,
      '550 Sorry, anonymous users are not allowed to create directories',
    );
    assert.equal((await ftp.cmd('SITE CHMOD 777 pub.txt')).text, '550 Anonymous users can not change perms');
    assert.equal((await ftp.cmd('CHMOD 777 pub.txt')).text, '550 Anonymous users can not change perms');
    assert.equal(
      (await ftp.cmd('SITE UTIME 20200101000000 pub.txt')).text,
      '550 Anonymous users can not change perms',
    );
    assert.equal(
      (await ftp.cmd('MFMT 20200101000000 pub.txt')).text,
      '550 Anonymous users can not change perms',
    );
    assert.ok(await exists(path.join(srv.anonRoot, 'incoming', 'full')));
    assert.ok(!(await exists(path.join(srv.anonRoot, 'incoming', 'd'))));
    assert.equal((await stat(pub)).mode, mode);
    assert.equal((await stat(pub)).mtime.toISOString(), old.toISOString());
  });

  it('-M: anonymous may create directories where it may write', async () => {
    const { srv, ftp } = await anonServer(['-M']);
    assert.equal((await ftp.cmd('MKD incoming/d')).code, 257);
    assert.ok(await exists(path.join(srv.anonRoot, 'incoming', 'd')));
    assert.equal((await ftp.cmd('MKD d')).code, 550, 'the root is not writable');
    assert.equal((await ftp.cmd('MKD incoming/.d')).code, 553);
  });

  it('-i: no anonymous upload at all', async () => {
    const { srv, ftp } = await anonServer(['-i']);
    const r = await ftp.data('STOR incoming/new.txt', 'x');
    assert.equal(r.first.text, '550 Anonymous users may not overwrite existing files');
    assert.equal((await ftp.data('STOR incoming/empty0', 'x')).first.code, 550);
    assert.ok(!(await exists(path.join(srv.anonRoot, 'incoming', 'new.txt'))));
  });

  it('curl and ftplib uploads as anonymous follow the same rules', async (t) => {
    const { srv } = await anonServer();
    const incoming = path.join(srv.anonRoot, 'incoming');
    if (toolSkip('curl') === false) {
      const file = path.join(srv.dir, 'upload.txt');
      await writeFile(file, 'via curl');
      const ok = await curl(ftpUrl(srv.port, '/incoming/curl.txt'), undefined, ['-T', file]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(await readFile(path.join(incoming, 'curl.txt'), 'utf8'), 'via curl');
      const again = await curl(ftpUrl(srv.port, '/incoming/curl.txt'), undefined, ['-T', file]);
      assert.notEqual(again.code, 0, 'overwrite refused');
      const del = await curl(ftpUrl(srv.port, '/'), undefined, ['-Q', 'DELE incoming/curl.txt']);
      assert.notEqual(del.code, 0, 'DELE refused');
      assert.ok(await exists(path.join(incoming, 'curl.txt')));
    } else t.diagnostic(String(toolSkip('curl')));
    if (toolSkip('python3') === false) {
      const r = await ftplib(
        srv.port,
        [
          'import io',
          'ftp.login()',
          "print(ftp.storbinary('STOR incoming/py.txt', io.BytesIO(b'via python')))",
          "for cmd in ['DELE incoming/py.txt', 'RNFR incoming/py.txt', 'MKD incoming/pd']:",
          '    try:',
          '        ftp.sendcmd(cmd)',
          '    except ftplib.error_perm as e:',
          '        print(str(e)[:3])',
        ].join('\n'),
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^226[\s\S]*\n550\n550\n550\n$/);
      assert.equal(await readFile(path.join(incoming, 'py.txt'), 'utf8'), 'via python');
    } else t.diagnostic(String(toolSkip('python3')));
  });
});

describe('-K, -G, -R', () => {
  const servers: TestServer[] = [];
  async function userServer(args: string[]): Promise<{ srv: TestServer; ftp: RawFtp; home: string }> {
    const srv = await startServer({ args });
    servers.push(srv);
    const { home } = await populateUser(srv);
    return { srv, ftp: await session(srv), home };
  }
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('-K: DELE is refused; empty directories can still be removed and files overwritten', async () => {
    const { ftp, home } = await userServer(['-K']);
    assert.equal((await ftp.cmd('DELE f.txt')).text, '550 Could not delete f.txt: Operation not permitted');
    assert.equal(await readFile(path.join(home, 'f.txt'), 'utf8'), FILE_TEXT);
    assert.equal((await ftp.cmd('MKD empty')).code, 257);
    assert.equal((await ftp.cmd('RMD empty')).code, 250);
    assert.equal((await ftp.data('STOR f.txt', 'replaced')).final?.code, 226);
    assert.equal(await readFile(path.join(home, 'f.txt'), 'utf8'), 'replaced');
  });

  it('-K with curl: a quoted DELE fails', { skip: toolSkip('curl') }, async () => {
    const { srv, home } = await userServer(['-K']);
    const r = await curl(ftpUrl(srv.port, '/'), { user: 'joe', password: 'secret' }, ['-Q', 'DELE f.txt']);
    assert.notEqual(r.code, 0);
    assert.ok(await exists(path.join(home, 'f.txt')));
  });

  it('-G: RNFR is refused for users and nothing moves', async () => {
    const { srv, ftp, home } = await userServer(['-G']);
    assert.equal((await ftp.cmd('RNFR f.txt')).text, '550 Rename/move failure');
    assert.equal((await ftp.cmd('RNTO g.txt')).code, 503);
    const client = new Client(10000);
    try {
      await client.access({ host: '127.0.0.1', port: srv.port, user: 'joe', password: 'secret' });
      await assert.rejects(
        client.rename('f.txt', 'h.txt'),
        (e: unknown) => e instanceof FTPError && e.code === 550,
      );
    } finally {
      client.close();
    }
    const names = await readdir(home);
    assert.ok(names.includes('f.txt') && !names.includes('g.txt') && !names.includes('h.txt'));
  });

  it('-R: SITE CHMOD is refused for users and the mode stays', async () => {
    const { ftp, home } = await userServer(['-R']);
    const mode = (await stat(path.join(home, 'f.txt'))).mode;
    assert.equal((await ftp.cmd('SITE CHMOD 600 f.txt')).text, '550 Could not change perms on f.txt');
    assert.equal((await ftp.cmd('CHMOD 600 f.txt')).code, 550);
    assert.equal((await stat(path.join(home, 'f.txt'))).mode, mode);
  });
});

describe('--follow-symlinks-out (Pure-FTPd virtual chroot)', () => {
  let srv: TestServer;
  let home: string;
  before(async () => {
    srv = await startServer({ args: ['--follow-symlinks-out'] });
    ({ home } = await populateUser(srv));
  });
  after(async () => {
    await srv.close();
  });

  it('follows admin-placed symlinks out of the root; virtual paths still never rise above it', async () => {
    const ftp = await session(srv);
    const r = await ftp.data('RETR secretlink');
    assert.equal(r.final?.code, 226);
    assert.equal(r.data.toString(), OUTSIDE_SECRET);
    assert.equal((await ftp.cmd('SIZE outlink/secret.txt')).text, `213 ${OUTSIDE_SECRET.length}`);
    assert.equal((await ftp.cmd('CWD ../../..')).code, 250);
    assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location');
    assert.equal((await ftp.cmd('SIZE f.txt')).text, `213 ${FILE_TEXT.length}`);
    assert.equal(await readFile(path.join(home, 'f.txt'), 'utf8'), FILE_TEXT);
  });
});
