/**
 * The data-session binding across control connections (issue 10 item 14): a TLS data connection
 * may resume a session issued to any control connection of the same account from the same client
 * address (rclone keeps several and shares one session cache), and nothing else: not another
 * account's, not one from another address, not a fresh handshake, not a made-up ticket. TLS 1.3
 * tickets, TLS 1.2 tickets and TLS 1.2 session ids; concurrent clients; a control connection still
 * logging in; a closed one; rclone sync both ways. Loopback only (127.0.0.2 is "another address").
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as cryptoConstants } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { pythonPath } from '../helpers/clients.js';
import { ciSkip } from '../helpers/ci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { hasTool, pattern, requireTool, runProgram, waitFor } from '../helpers/transfer-clients.js';
import { FtpsControl, makePki, readTls, secured, tlsData, type Pki } from '../helpers/tls.js';

const BINDING_REFUSAL =
  "425 Data connection refused: its TLS session does not resume the control connection's session";
const FOREIGN = 'it offered a TLS session of another account or client address';

let pki: Pki;
let srv: TestServer;
before(async () => {
  pki = await makePki();
  srv = await startServer({
    args: ['-Y', '1', '-2', pki.server],
    users: [
      { login: 'joe', password: 'secret' },
      { login: 'ann', password: 'secret2' },
    ],
  });
  await writeFile(path.join(srv.home('joe'), 'hello.txt'), 'hello joe\n');
});
after(async () => {
  await srv.close();
  await pki.close();
});

/** The ways a client resumes: TLS 1.3 tickets, TLS 1.2 tickets, TLS 1.2 session ids. */
const VARIANTS: { name: string; opts: ConnectionOptions }[] = [
  { name: 'TLS 1.3 ticket', opts: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } },
  { name: 'TLS 1.2 ticket', opts: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } },
  {
    name: 'TLS 1.2 session id',
    opts: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', secureOptions: cryptoConstants.SSL_OP_NO_TICKET },
  },
];

/** A control connection upgraded with AUTH TLS (from `localAddress`), logged in unless `login` is null. */
async function control(
  opts: ConnectionOptions,
  login: { user: string; pass: string } | null = { user: 'joe', pass: 'secret' },
  localAddress?: string,
): Promise<FtpsControl> {
  const { ftp } = await FtpsControl.connect(srv.port, { localAddress });
  assert.equal((await ftp.upgrade(opts)).code, 234);
  if (login === null) {
    // The TLS 1.3 tickets arrive after the handshake: a reply makes sure they have.
    assert.equal((await ftp.cmd('NOOP')).code, 200);
    return ftp;
  }
  await ftp.login(login.user, login.pass);
  assert.equal((await ftp.cmd('PROT P')).code, 200);
  assert.equal((await ftp.cmd('TYPE I')).code, 200);
  return ftp;
}

/** RETR over a TLS data connection opened with `opts` (its `session` says what it resumes). */
async function retr(
  ftp: FtpsControl,
  opts: ConnectionOptions,
  file = 'hello.txt',
): Promise<{ final: string; data: string; reused: boolean }> {
  const port = await ftp.epsv();
  const { socket } = tlsData(port, opts);
  try {
    ftp.send(`RETR ${file}`);
    const first = await ftp.read();
    if (first.code !== 150) return { final: first.text, data: '', reused: false };
    let reused = false;
    const data = await secured(socket).then(
      (s) => {
        reused = s.isSessionReused();
        return readTls(s);
      },
      () => Buffer.alloc(0),
    );
    return { final: (await ftp.read(15000)).text, data: data.toString(), reused };
  } finally {
    socket.destroy();
  }
}

describe('data connections resuming the sessions of other control connections (issue 10 item 14)', () => {
  it('same account, same address: accepted, three concurrent clients resuming each other, and after one closed', async () => {
    for (const v of VARIANTS) {
      const clients = await Promise.all([control(v.opts), control(v.opts), control(v.opts)]);
      try {
        for (let round = 0; round < 3; round++) {
          const results = await Promise.all(
            clients.map((c, i) => retr(c, { ...v.opts, session: clients[(i + 1) % 3].session() })),
          );
          for (const r of results) {
            assert.equal(r.final.slice(0, 3), '226', `${v.name}: ${r.final}`);
            assert.equal(r.data, 'hello joe\n', v.name);
            assert.ok(r.reused, v.name);
          }
        }
        // A control connection that has ended: its sessions stay resumable for its account.
        const gone = clients.pop()!;
        const session = gone.session();
        assert.equal((await gone.cmd('QUIT')).code, 221);
        assert.ok(await waitFor(() => gone.closed, 3000));
        await new Promise((r) => setTimeout(r, 100));
        const r = await retr(clients[0], { ...v.opts, session });
        assert.equal(r.final.slice(0, 3), '226', `${v.name} after close: ${r.final}`);
        assert.ok(r.reused);
      } finally {
        for (const c of clients) c.close();
      }
    }
    assert.deepEqual(
      srv.logs.filter((l) => l.includes('TLS session binding')),
      [],
    );
  });

  it('refused: another account, the same account from another address, a fresh handshake, a made-up ticket', async () => {
    for (const v of VARIANTS) {
      const joe = await control(v.opts);
      const ann = await control(v.opts, { user: 'ann', pass: 'secret2' });
      const elsewhere = await control(v.opts, { user: 'joe', pass: 'secret' }, '127.0.0.2');
      try {
        const logged = srv.logs.length;
        for (const [what, session] of [
          ['another account', ann.session()],
          ['another address', elsewhere.session()],
        ] as const) {
          const r = await retr(joe, { ...v.opts, session });
          assert.equal(r.final, BINDING_REFUSAL, `${v.name}: ${what}`);
          assert.equal(r.data, '', `${v.name}: ${what}`);
        }
        const foreign = srv.logs.slice(logged).filter((l) => l.includes(FOREIGN));
        assert.equal(foreign.length, 2, srv.logs.slice(logged).join('\n'));
        const fresh = await retr(joe, v.opts);
        assert.equal(fresh.final, BINDING_REFUSAL, `${v.name}: fresh`);
        // Own session: still fine (binding on by default).
        const own = await retr(joe, { ...v.opts, session: joe.session() });
        assert.equal(own.final.slice(0, 3), '226', `${v.name}: own`);
      } finally {
        joe.close();
        ann.close();
        elsewhere.close();
      }
    }
    // A ticket the server never issued (here: one from another server with the same certificate).
    const other = await startServer({ args: ['-Y', '1', '-2', pki.server] });
    try {
      const { ftp: stranger } = await FtpsControl.connect(other.port);
      await stranger.upgrade();
      await stranger.login();
      const joe = await control({});
      try {
        const r = await retr(joe, { session: stranger.session() });
        assert.equal(r.final, BINDING_REFUSAL);
      } finally {
        joe.close();
        stranger.close();
      }
    } finally {
      await other.close();
    }
  });

  it('the session of a control connection still logging in: accepted once it logs in, refused if it leaves', async () => {
    for (const v of VARIANTS.slice(0, 2)) {
      const joe = await control(v.opts);
      const late = await control(v.opts, null);
      const leaving = await control(v.opts, null);
      try {
        const waiting = retr(joe, { ...v.opts, session: late.session() });
        await new Promise((r) => setTimeout(r, 300));
        await late.login();
        const r = await waiting;
        assert.equal(r.final.slice(0, 3), '226', `${v.name}: ${r.final}`);
        const refused = retr(joe, { ...v.opts, session: leaving.session() });
        await new Promise((r2) => setTimeout(r2, 300));
        leaving.close();
        assert.equal((await refused).final, BINDING_REFUSAL, v.name);
      } finally {
        joe.close();
        late.close();
        leaving.close();
      }
    }
  });

  it('sessions last a week: a control connection older than an hour still transfers (ticket lifetime)', async (t) => {
    if (!requireTool(t, 'python3')) return;
    const program = [
      'import ftplib, os, ssl',
      'ctx = ssl.create_default_context()',
      'ctx.check_hostname = False',
      'ctx.verify_mode = ssl.CERT_NONE',
      "for version in ('1.3', '1.2'):",
      "    ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if version == '1.3' else ssl.TLSVersion.TLSv1_2",
      '    ftp = ftplib.FTP_TLS(context=ctx, timeout=10)',
      "    ftp.connect('127.0.0.1', int(os.environ['PORT']))",
      '    ftp.auth()',
      "    ftp.voidcmd('NOOP')",
      '    s = ftp.sock.session',
      '    print(version, s.ticket_lifetime_hint)',
      '    ftp.close()',
    ].join('\n');
    const r = await runProgram(pythonPath() ?? 'python3', ['-c', program], {
      timeoutMs: 30000,
      env: { PORT: String(srv.port) },
    });
    assert.equal(r.code, 0, r.stderr);
    const week = 7 * 24 * 3600;
    assert.match(r.stdout.toString(), new RegExp(`^1\\.3 ${week}$`, 'm'), r.stdout.toString());
    assert.match(r.stdout.toString(), new RegExp(`^1\\.2 ${week}$`, 'm'), r.stdout.toString());
  });
});

const noRclone = hasTool('rclone') ? undefined : 'rclone is not installed (apt-get install rclone)';

describe('rclone over explicit TLS with the binding on (issue 10 item 14)', () => {
  it(
    'rclone sync of a 200-file tree up, then back down, byte for byte',
    { skip: ciSkip(noRclone) },
    async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-rclone-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const tree = path.join(dir, 'tree');
      const files = new Map<string, Buffer>();
      for (let i = 0; i < 200; i++) {
        const rel = path.join(`d${i % 7}`, `f${i}.bin`);
        await mkdir(path.join(tree, `d${i % 7}`), { recursive: true });
        const body = pattern(1 + ((i * 997) % 40_000), i);
        files.set(rel, body);
        await writeFile(path.join(tree, rel), body);
      }
      const obscured = await runProgram('rclone', ['obscure', 'secret'], { timeoutMs: 10000 });
      assert.equal(obscured.code, 0, obscured.stderr);
      const remote =
        `:ftp,host=127.0.0.1,port=${srv.port},user=joe,pass=${obscured.stdout.toString().trim()},` +
        'explicit_tls=true,no_check_certificate=true:';
      const rclone = (from: string, to: string): ReturnType<typeof runProgram> =>
        runProgram('rclone', ['sync', from, to, '--config', path.join(dir, 'none.conf'), '--retries', '1'], {
          timeoutMs: 120000,
          env: { HOME: dir },
        });
      const logged = srv.logs.length;
      const up = await rclone(tree, `${remote}synced`);
      assert.equal(up.code, 0, up.stderr);
      for (const [rel, body] of files) {
        assert.ok(body.equals(await readFile(path.join(srv.home('joe'), 'synced', rel))), rel);
      }
      const back = path.join(dir, 'back');
      const down = await rclone(`${remote}synced`, back);
      assert.equal(down.code, 0, down.stderr);
      for (const [rel, body] of files) assert.ok(body.equals(await readFile(path.join(back, rel))), rel);
      assert.equal((await readdir(back)).length, 7);
      assert.deepEqual(
        srv.logs.slice(logged).filter((l) => l.includes('TLS session binding')),
        [],
      );
    },
  );
});
