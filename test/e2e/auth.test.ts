/**
 * Logins end to end (upstream §2.3 USER/PASS, §6.1 anonymous, §6.4 -c/-C, §12 brute force): success
 * and failure with four real clients (basic-ftp, curl, lftp, Python ftplib), the failure delay and
 * the 6th-failure disconnect, anonymous logins with and without -E/-e, the connection limits, and a
 * user database built by the real `pure-pw` (useradd + mkdb) served with `-l puredb:FILE`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { chownTree, startServer, TEST_GID, TEST_UID, type TestServer } from '../helpers/server.js';
import { RawFtp, type RawReply } from '../helpers/raw.js';
import { curl, ftplib, ftpUrl, lftp, runTool, toolSkip } from '../helpers/clients.js';
import { PURE_PW, purePwSkip } from '../unit/pure-pw.helper.js';

const USER_FILE = 'joe says hello\n';
const ANON_FILE = 'public data\n';

/** Every RawFtp opened by a test, closed in after(). */
const clients: RawFtp[] = [];

async function connect(srv: TestServer): Promise<{ ftp: RawFtp; greeting: RawReply }> {
  const c = await RawFtp.connect(srv.port);
  clients.push(c.ftp);
  return c;
}

async function basicFtp<T>(
  srv: TestServer,
  user: string | undefined,
  password: string | undefined,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  const client = new Client(10000);
  try {
    await client.access({ host: '127.0.0.1', port: srv.port, user, password });
    return await fn(client);
  } finally {
    client.close();
  }
}

/** The FTP reply code basic-ftp rejected with (undefined when it did not reject). */
async function basicFtpError(srv: TestServer, user: string, password: string): Promise<number | undefined> {
  try {
    await basicFtp(srv, user, password, async () => undefined);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof FTPError, String(err));
    return err.code;
  }
}

/** A server with joe's f.txt and the anonymous pub.txt. */
async function fixtureServer(args: string[] = []): Promise<TestServer> {
  const srv = await startServer({ args });
  await writeFile(path.join(srv.home('joe'), 'f.txt'), USER_FILE);
  await writeFile(path.join(srv.anonRoot, 'pub.txt'), ANON_FILE);
  return srv;
}

const JOE = { user: 'joe', password: 'secret' };
const WRONG = { user: 'joe', password: 'wrong' };

after(() => {
  for (const c of clients) c.close();
});

describe('login with real clients', () => {
  let srv: TestServer;
  before(async () => {
    srv = await fixtureServer();
  });
  after(async () => {
    await srv.close();
  });

  it('basic-ftp: a good password logs in and sees the home', async () => {
    const names = await basicFtp(srv, 'joe', 'secret', async (c) => {
      assert.equal(await c.pwd(), '/');
      return (await c.list()).map((f) => f.name);
    });
    assert.deepEqual(names, ['f.txt']);
  });

  it('basic-ftp: a wrong password or an unknown user is refused with 530', async () => {
    assert.equal(await basicFtpError(srv, 'joe', 'wrong'), 530);
    assert.equal(await basicFtpError(srv, 'nobody-here', 'secret'), 530);
  });

  it(
    'curl: a good password downloads, a wrong one exits with 67 (login denied)',
    { skip: toolSkip('curl') },
    async () => {
      const ok = await curl(ftpUrl(srv.port, '/f.txt'), JOE);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, USER_FILE);
      const bad = await curl(ftpUrl(srv.port, '/f.txt'), WRONG);
      assert.equal(bad.code, 67, bad.stderr);
      assert.match(bad.stderr, /530/);
    },
  );

  it(
    'lftp: a good password reads the file, a wrong one fails with the 530 text',
    { skip: toolSkip('lftp') },
    async () => {
      const ok = await lftp(srv.port, 'cat f.txt', JOE);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, USER_FILE);
      const bad = await lftp(srv.port, 'cat f.txt', WRONG);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Login failed: 530 Login authentication failed/);
    },
  );

  it(
    'ftplib: login() returns 230, a wrong password raises error_perm 530',
    { skip: toolSkip('python3') },
    async () => {
      const ok = await ftplib(
        srv.port,
        "print(ftp.login('joe', 'secret'))\nftp.retrlines('RETR f.txt')\nftp.quit()",
      );
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.equal(ok.stdout, '230 OK. Current directory is /\njoe says hello\n');
      const bad = await ftplib(srv.port, "ftp.login('joe', 'wrong')");
      assert.equal(bad.code, 3, bad.stderr);
      assert.equal(bad.stdout, 'FTPERR 530 Login authentication failed\n');
    },
  );
});

describe('failed logins (upstream §12)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await fixtureServer(['--auth-delay', '150']);
  });
  after(async () => {
    await srv.close();
  });

  it('five failures keep the session; the 6th failure closes it', async () => {
    const { ftp } = await connect(srv);
    for (let i = 1; i <= 5; i++) {
      assert.equal((await ftp.cmd('USER joe')).code, 331);
      assert.equal(
        (await ftp.cmd('PASS wrong', 10000)).text,
        '530 Login authentication failed',
        `failure ${i}`,
      );
      assert.equal((await ftp.cmd('NOOP')).code, 200, `still connected after failure ${i}`);
    }
    assert.equal((await ftp.cmd('USER joe')).code, 331);
    assert.equal((await ftp.cmd('PASS wrong', 10000)).text, '530 Login authentication failed');
    await ftp.waitClosed(5000);
  });

  it('each failure waits longer than the one before', async () => {
    const { ftp } = await connect(srv);
    const took: number[] = [];
    for (let i = 0; i < 3; i++) {
      await ftp.cmd('USER joe');
      const started = Date.now();
      assert.equal((await ftp.cmd('PASS wrong', 10000)).code, 530);
      took.push(Date.now() - started);
    }
    // Upstream §12: random part plus one step per earlier failure (the step is --auth-delay, 150 ms here).
    assert.ok(took[1] >= 140, `2nd failure took ${took[1]} ms`);
    assert.ok(took[2] >= 290, `3rd failure took ${took[2]} ms`);
    // The right password still works after failures, without the failure delay.
    await ftp.cmd('USER joe');
    assert.equal((await ftp.cmd('PASS secret', 10000)).code, 230);
  });

  it('the delay is per session: other clients are served meanwhile', async () => {
    const slow = await connect(srv);
    for (let i = 0; i < 3; i++) {
      await slow.ftp.cmd('USER joe');
      await slow.ftp.cmd('PASS wrong', 10000);
    }
    await slow.ftp.cmd('USER joe');
    slow.ftp.send('PASS wrong'); // waits at least 3 x 150 ms
    const order: string[] = [];
    const slowReply = slow.ftp.read(10000).then((r) => {
      order.push('slow PASS');
      return r;
    });
    const other = await connect(srv);
    for (const line of ['NOOP', 'SYST', 'USER joe', 'PASS secret']) await other.ftp.cmd(line);
    order.push('other session');
    assert.equal((await slowReply).code, 530);
    assert.deepEqual(order, ['other session', 'slow PASS']);
  });

  it('a password of 512 bytes or more is refused', async () => {
    const { ftp } = await connect(srv);
    await ftp.cmd('USER joe');
    assert.equal((await ftp.cmd(`PASS ${'x'.repeat(512)}`)).text, '530 Line too long');
  });

  it('PASS before USER is refused', async () => {
    const { ftp } = await connect(srv);
    assert.equal((await ftp.cmd('PASS secret')).text, '530 Please tell me who you are');
  });
});

describe('anonymous (upstream §6.1)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await fixtureServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const line of ['USER ftp', 'USER anonymous', 'USER AnonYmous', 'USER FTP', 'USER']) {
    it(`"${line}" logs in at once, without PASS`, async () => {
      const { ftp } = await connect(srv);
      assert.equal((await ftp.cmd(line)).text, '230 Anonymous user logged in');
      assert.equal((await ftp.cmd('PASS me@example.com')).text, '230 Any password will work');
      assert.equal((await ftp.cmd('USER joe')).text, '230 Anonymous user logged in');
      assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location');
    });
  }

  it('is chrooted to the anonymous root', async () => {
    const { ftp } = await connect(srv);
    await ftp.login('ftp');
    assert.equal((await ftp.cmd('CWD ../..')).code, 250);
    assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location');
    assert.equal((await ftp.cmd('SIZE pub.txt')).text, `213 ${ANON_FILE.length}`);
    assert.equal((await ftp.cmd('SIZE ../home/joe/f.txt')).code, 550);
    const list = await ftp.data('NLST');
    assert.deepEqual(list.data.toString().split('\r\n').filter(Boolean), ['pub.txt']);
  });

  it('shows the .banner of the anonymous root in the 230 reply', async () => {
    await writeFile(path.join(srv.anonRoot, '.banner'), 'Welcome, stranger\nSecond line\n');
    try {
      const { ftp } = await connect(srv);
      const r = await ftp.cmd('USER anonymous');
      assert.deepEqual(r.lines, ['230-Welcome, stranger', '230-Second line', '230 Anonymous user logged in']);
    } finally {
      await rm(path.join(srv.anonRoot, '.banner'));
    }
  });

  it('basic-ftp, curl, lftp and ftplib download as anonymous', async (t) => {
    const text = await basicFtp(srv, undefined, undefined, async (c) => {
      const chunks: Buffer[] = [];
      await c.downloadTo(
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            chunks.push(chunk);
            cb();
          },
        }),
        'pub.txt',
      );
      return Buffer.concat(chunks).toString();
    });
    assert.equal(text, ANON_FILE);
    if (toolSkip('curl') === false) {
      const r = await curl(ftpUrl(srv.port, '/pub.txt'));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ANON_FILE);
    } else t.diagnostic(String(toolSkip('curl')));
    if (toolSkip('lftp') === false) {
      const r = await lftp(srv.port, 'cat pub.txt');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ANON_FILE);
    } else t.diagnostic(String(toolSkip('lftp')));
    if (toolSkip('python3') === false) {
      const r = await ftplib(srv.port, "print(ftp.login())\nftp.retrlines('RETR pub.txt')");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, `230 Anonymous user logged in\n${ANON_FILE}`);
    } else t.diagnostic(String(toolSkip('python3')));
  });
});

describe('-E: no anonymous logins', () => {
  let srv: TestServer;
  before(async () => {
    srv = await fixtureServer(['-E']);
  });
  after(async () => {
    await srv.close();
  });

  it('announces a private system; ftp and anonymous are ordinary (unknown) account names', async () => {
    const { ftp, greeting } = await connect(srv);
    assert.match(greeting.text, /^220-This is a private system - No anonymous login$/m);
    for (const name of ['ftp', 'anonymous']) {
      assert.equal((await ftp.cmd(`USER ${name}`)).code, 331);
      assert.equal((await ftp.cmd('PASS x', 10000)).text, '530 Login authentication failed');
    }
    await ftp.login('joe', 'secret');
  });

  it('basic-ftp cannot log in anonymously', async () => {
    const client = new Client(10000);
    try {
      await assert.rejects(client.access({ host: '127.0.0.1', port: srv.port }), (e: unknown) => {
        return e instanceof FTPError && e.code === 530;
      });
    } finally {
      client.close();
    }
  });
});

describe('-e: anonymous logins only', () => {
  let srv: TestServer;
  before(async () => {
    srv = await fixtureServer(['-e']);
  });
  after(async () => {
    await srv.close();
  });

  it('turns every USER into an anonymous login, even a real account', async () => {
    const { ftp, greeting } = await connect(srv);
    assert.match(greeting.text, /^220-Only anonymous FTP is allowed here$/m);
    assert.equal((await ftp.cmd('USER joe')).text, '230 Anonymous user logged in');
    assert.equal((await ftp.cmd('PASS secret')).text, '230 Any password will work');
    assert.equal((await ftp.cmd('SIZE pub.txt')).code, 213, 'in the anonymous root');
    assert.equal((await ftp.cmd('SIZE f.txt')).code, 550, "not in joe's home");
    assert.equal((await ftp.cmd('DELE pub.txt')).text, '550 Anonymous users can not delete files');
  });

  it('curl with joe:secret gets the anonymous root', { skip: toolSkip('curl') }, async () => {
    const r = await curl(ftpUrl(srv.port, '/pub.txt'), JOE);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ANON_FILE);
  });
});

describe('-V: accounts only on the trusted local address (upstream §6.2)', () => {
  it('on another local address every USER is anonymous and the banner says so', async () => {
    const srv = await fixtureServer(['-V', '127.0.0.2']);
    try {
      const { ftp, greeting } = await connect(srv);
      assert.match(greeting.text, /^220-Only anonymous FTP is allowed here$/m);
      assert.equal((await ftp.cmd('USER joe')).text, '230 Anonymous user logged in');
      assert.equal((await ftp.cmd('SIZE pub.txt')).code, 213, 'in the anonymous root');
      ftp.close();
      const r = await curl(ftpUrl(srv.port, '/pub.txt'), JOE);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ANON_FILE);
    } finally {
      await srv.close();
    }
  });

  it('on the trusted address accounts log in (an IPv4-mapped spelling is the same address)', async () => {
    for (const trusted of ['127.0.0.1', '::ffff:127.0.0.1']) {
      const srv = await fixtureServer(['-V', trusted]);
      try {
        const { ftp, greeting } = await connect(srv);
        assert.doesNotMatch(greeting.text, /Only anonymous/);
        assert.equal((await ftp.login('joe', 'secret')).code, 230);
        assert.equal((await ftp.cmd('SIZE f.txt')).code, 213, "in joe's home");
        ftp.close();
      } finally {
        await srv.close();
      }
    }
  });

  it('-V takes a numeric address only', async () => {
    await assert.rejects(startServer({ args: ['-V', 'ftp.example.com'] }), /numeric IPv4 or IPv6 address/);
  });
});

describe('-a: the trusted group (upstream §6.2)', () => {
  const users = [{ login: 'joe', password: 'secret', chroot: false }];

  it('a member is not chrooted and -K, -X do not apply to it', async () => {
    const srv = await startServer({ users, args: ['-a', String(TEST_GID), '-K', '-X'] });
    try {
      await writeFile(path.join(srv.home('joe'), '.hidden'), 'dot');
      await writeFile(path.join(srv.home('joe'), 'gone.txt'), 'x');
      const { ftp } = await RawFtp.connect(srv.port);
      clients.push(ftp);
      assert.equal(
        (await ftp.login('joe', 'secret')).text,
        '230 OK. Current directory is ' + srv.home('joe'),
      );
      assert.equal((await ftp.cmd('PWD')).text, `257 "${srv.home('joe')}" is your current location`);
      assert.equal((await ftp.cmd('SIZE .hidden')).code, 213, '-X does not apply');
      assert.equal((await ftp.cmd('DELE gone.txt')).code, 250, '-K does not apply');
    } finally {
      await srv.close();
    }
  });

  it('anyone else is chrooted (the restricted 230), and -K, -X apply', async () => {
    const srv = await startServer({ users, args: ['-a', String(TEST_GID + 1), '-K', '-X'] });
    try {
      await writeFile(path.join(srv.home('joe'), '.hidden'), 'dot');
      await writeFile(path.join(srv.home('joe'), 'kept.txt'), 'x');
      const { ftp } = await RawFtp.connect(srv.port);
      clients.push(ftp);
      assert.equal((await ftp.login('joe', 'secret')).text, '230 OK. Current restricted directory is /');
      assert.equal((await ftp.cmd('PWD')).text, '257 "/" is your current location');
      assert.equal((await ftp.cmd('SIZE .hidden')).code, 553);
      assert.match((await ftp.cmd('DELE kept.txt')).text, /^550 Could not delete kept\.txt/);
      const r = await curl(ftpUrl(srv.port, '/kept.txt'), JOE);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'x');
    } finally {
      await srv.close();
    }
  });
});

describe('directory aliases (--aliases-file, upstream §6.4)', () => {
  it('CWD to an alias goes to its directory when no such directory exists; SITE ALIAS lists them', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-aliases-'));
    const file = path.join(dir, 'aliases');
    await writeFile(file, '# aliases\npics\n/photos/2026\n\nreal\n/photos\n');
    const srv = await startServer({ args: ['--aliases-file', file] });
    try {
      await mkdir(path.join(srv.home('joe'), 'photos', '2026'), { recursive: true });
      await mkdir(path.join(srv.home('joe'), 'real'));
      const { ftp } = await RawFtp.connect(srv.port);
      clients.push(ftp);
      await ftp.login('joe', 'secret');
      assert.equal((await ftp.cmd('CWD pics')).text, '250 OK. Current directory is /photos/2026');
      // A directory of that name wins over the alias.
      assert.equal((await ftp.cmd('CWD /')).code, 250);
      assert.equal((await ftp.cmd('CWD real')).text, '250 OK. Current directory is /real');
      assert.match((await ftp.cmd('CWD nothing')).text, /^550 Can't change directory to nothing: /);
      assert.equal(
        (await ftp.cmd('SITE ALIAS')).text,
        '214-The following aliases are available :\n214- pics /photos/2026\n214- real /photos\n214  ',
      );
      assert.equal((await ftp.cmd('SITE ALIAS pics')).text, '214 pics is an alias for /photos/2026.');
      assert.equal((await ftp.cmd('SITE ALIAS nope')).text, '502 Unknown alias nope.');
      // curl's path walk is CWD per component: the alias works for it too.
      await writeFile(path.join(srv.home('joe'), 'photos', '2026', 'cat.jpg'), 'meow');
      const r = await curl(ftpUrl(srv.port, '/pics/cat.jpg'), JOE);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'meow');
    } finally {
      await srv.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a damaged aliases file stops the start, naming the file and the line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-aliases-'));
    const file = path.join(dir, 'aliases');
    await writeFile(file, 'pics\n');
    try {
      await assert.rejects(
        startServer({ args: ['--aliases-file', file] }),
        /damaged aliases file .*aliases: line 1: the alias "pics" has no directory after it/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('-b: broken clients compatibility (upstream §6.4)', () => {
  it('anonymous USER asks for a password, even again; no EPSV over IPv4; symlinks listed as their targets', async () => {
    const srv = await fixtureServer(['-b']);
    try {
      const { ftp } = await RawFtp.connect(srv.port);
      clients.push(ftp);
      assert.equal((await ftp.cmd('USER ftp')).text, '331 Any password will work');
      assert.equal((await ftp.cmd('PASS x@example.com')).code, 230);
      assert.equal((await ftp.cmd('USER ftp')).text, '331 Any password will work');
      assert.doesNotMatch((await ftp.cmd('FEAT')).text, /^ EPSV$/m);
      assert.equal((await ftp.cmd('EPSV')).text, '500 Unknown command');
      assert.equal((await ftp.cmd('PASV')).code, 227);
      ftp.close();
      await symlink('f.txt', path.join(srv.home('joe'), 'link.txt'));
      await symlink('missing', path.join(srv.home('joe'), 'dangling'));
      // curl tries EPSV, gets 500 and goes on with PASV.
      const r = await curl(ftpUrl(srv.port, '/'), JOE);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^-[-rwx]{9} .* link\.txt\r?$/m);
      assert.match(r.stdout, /^l[-rwx]{9} .* dangling -> missing\r?$/m);
    } finally {
      await srv.close();
    }
  });
});

describe('connection limits (upstream §6.4)', () => {
  it('-c 2: the 3rd session gets 421 N users and is closed; a freed slot is reused', async () => {
    const srv = await startServer({ args: ['-c', '2'] });
    try {
      const a = await connect(srv);
      const b = await connect(srv);
      assert.equal(a.greeting.code, 220);
      assert.match(b.greeting.text, /You are user number 2 of 2 allowed\./);
      const c = await connect(srv);
      assert.equal(c.greeting.text, '421 2 users (the maximum) are already logged in, sorry');
      await c.ftp.waitClosed(5000);
      a.ftp.close();
      const deadline = Date.now() + 5000;
      let greeting: RawReply | undefined;
      while (Date.now() < deadline) {
        const d = await connect(srv);
        greeting = d.greeting;
        if (greeting.code === 220) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(greeting?.code, 220, 'a slot frees when a session ends');
    } finally {
      await srv.close();
    }
  });

  it('-C 1: a 2nd session from the same address gets 421 Too many connections', async () => {
    const srv = await startServer({ args: ['-C', '1'] });
    try {
      const a = await connect(srv);
      assert.equal(a.greeting.code, 220);
      const b = await connect(srv);
      assert.equal(b.greeting.text, '421 Too many connections (1) from this IP');
      await b.ftp.waitClosed(5000);
      assert.equal((await a.ftp.cmd('NOOP')).code, 200, 'the first session is unaffected');
      assert.ok(srv.logs.some((l) => l.includes('Too many connections (1) from this IP: [127.0.0.1]')));
    } finally {
      await srv.close();
    }
  });
});

describe('a user database made by the real pure-pw (-l puredb:FILE)', { skip: purePwSkip() }, () => {
  let base: string;
  let srv: TestServer | undefined;
  let home: string;
  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-purepw-'));
    home = path.join(base, 'home', 'alice');
    await mkdir(home, { recursive: true });
    await writeFile(path.join(home, 'hello.txt'), 'from alice\n');
    await chownTree(home, TEST_UID, TEST_GID);
    const passwd = path.join(base, 'pureftpd.passwd');
    const pdb = path.join(base, 'pureftpd.pdb');
    const add = await runTool(
      PURE_PW,
      ['useradd', 'alice', '-u', String(TEST_UID), '-g', String(TEST_GID), '-d', home, '-f', passwd],
      { input: 'alicepw\nalicepw\n', env: { ...process.env, PURE_PASSWDFILE: passwd, PURE_DBFILE: pdb } },
    );
    assert.equal(add.code, 0, add.stderr);
    const mkdb = await runTool(PURE_PW, ['mkdb', pdb, '-f', passwd]);
    assert.equal(mkdb.code, 0, mkdb.stderr);
    srv = await startServer({ users: [], anonymous: false, args: ['-l', `puredb:${pdb}`] });
  });
  after(async () => {
    await srv?.close();
    await rm(base, { recursive: true, force: true });
  });

  it('logs the pure-pw user in, chrooted to the -d home, and refuses a wrong password', async () => {
    const { ftp } = await connect(srv!);
    assert.equal((await ftp.cmd('USER alice')).text, '331 User alice OK. Password required');
    // pure-pw hashes with Argon2id (slow on purpose): allow for it.
    assert.equal((await ftp.cmd('PASS alicepw', 30000)).text, '230 OK. Current directory is /');
    assert.equal((await ftp.cmd('SIZE hello.txt')).text, '213 11');
    const put = await ftp.data('STOR up.txt', 'uploaded');
    assert.equal(put.final?.code, 226, put.final?.text);
    assert.equal(await readFile(path.join(home, 'up.txt'), 'utf8'), 'uploaded');
    const other = await connect(srv!);
    await other.ftp.cmd('USER alice');
    assert.equal((await other.ftp.cmd('PASS wrong', 30000)).text, '530 Login authentication failed');
  });
});
