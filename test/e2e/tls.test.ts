/**
 * End-to-end tests of FTPS (RFC 4217, upstream §10, §2.3 USER with -Y 2/3, docs/tls.md) with real
 * clients: curl --ssl-reqd (passive; active only with curl >= 8, see curl issue #10666), lftp with
 * ftp:ssl-force (passive and active, TLS 1.3 and 1.2), Python ftplib.FTP_TLS (plain, refused by
 * the data-session binding, and the subclass that resumes the session), basic-ftp secure mode,
 * openssl s_client (protocol versions, session resumption on a data port, close_notify), implicit
 * TLS, client certificates (-J -C:), -Y 0/2/3, truncated uploads, SNI and what backends receive,
 * certificate reload (SIGHUP and file change, in a child process) and `tsftpd gencert`.
 * Loopback only; every wait is bounded; child processes are killed by PID.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as cryptoConstants } from 'node:crypto';
import {
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Client } from 'basic-ftp';
import { startServer, sha512Hash, TEST_GID, TEST_UID, type TestServer, putFile } from '../helpers/server.js';
import { RawFtp } from '../helpers/raw.js';
import { isCi } from '../helpers/ci.js';
import { curl, hasTool, pattern, requireTool, runProgram, waitFor } from '../helpers/transfer-clients.js';
import {
  curlVersion,
  FtpsControl,
  ftplibTls,
  lftpTls,
  makePki,
  readTls,
  sClient,
  secured,
  selfSigned,
  sessionPem,
  tlsData,
  type Pki,
} from '../helpers/tls.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const BINDING_REFUSAL =
  "425 Data connection refused: its TLS session does not resume the control connection's session";
const [curlMajor] = await curlVersion().catch((): [number, number] => [0, 0]);

let pki: Pki;
before(async () => {
  pki = await makePki();
});
after(async () => {
  await pki.close();
});

/** Starts a test server with these extra switches (the caller closes it). */
function tlsServer(args: string[]): Promise<TestServer> {
  return startServer({ args });
}

/** A control connection upgraded with AUTH TLS, logged in as joe, PROT P, binary. */
async function secureLogin(port: number, tlsOpts: ConnectionOptions = {}): Promise<FtpsControl> {
  const { ftp } = await FtpsControl.connect(port);
  assert.equal((await ftp.upgrade(tlsOpts)).code, 234);
  await ftp.login();
  assert.equal((await ftp.cmd('PROT P')).code, 200);
  assert.equal((await ftp.cmd('TYPE I')).code, 200);
  return ftp;
}

/** One download over a TLS data connection: returns the final reply and the bytes. */
async function tlsRetr(
  ftp: FtpsControl,
  line: string,
  opts: ConnectionOptions,
): Promise<{ first: number; final: string; data: Buffer }> {
  const port = await ftp.epsv();
  const { socket } = tlsData(port, opts);
  try {
    ftp.send(line);
    const first = await ftp.read();
    if (first.code !== 150) return { first: first.code, final: first.text, data: Buffer.alloc(0) };
    const data = await secured(socket).then(
      () => readTls(socket),
      () => Buffer.alloc(0),
    );
    return { first: first.code, final: (await ftp.read()).text, data };
  } finally {
    socket.destroy();
  }
}

describe('explicit FTPS control channel (-Y 1)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await tlsServer(['-Y', '1', '-2', pki.server]);
  });
  after(() => srv.close());

  it('AUTH TLS and its alias AUTH SSL upgrade; plaintext pipelined after AUTH is dropped', async () => {
    const { ftp: a } = await FtpsControl.connect(srv.port);
    try {
      assert.deepEqual((await a.upgrade()).lines, ['234 AUTH TLS OK.']);
      assert.match(a.tls.getProtocol() ?? '', /^TLSv1\.[23]$/);
      assert.equal((await a.cmd('AUTH TLS')).code, 503);
      await a.login();
      assert.equal((await a.cmd('NOOP')).code, 200);
    } finally {
      a.close();
    }
    const { ftp: b } = await FtpsControl.connect(srv.port);
    try {
      assert.equal((await b.upgrade({}, 'AUTH SSL\r\n')).code, 234);
      assert.equal((await b.cmd('NOOP')).code, 200);
    } finally {
      b.close();
    }
    // Upstream §10: commands sent in clear behind AUTH are never executed.
    const { ftp: c } = await FtpsControl.connect(srv.port);
    try {
      assert.equal((await c.upgrade({}, 'AUTH TLS\r\nUSER joe\r\n')).code, 234);
      assert.equal(await c.hasReply(), false);
      assert.equal((await c.cmd('PASS secret')).code, 530); // no USER was ever seen
      assert.equal((await c.cmd('AUTH KERBEROS_V4')).code, 503);
    } finally {
      c.close();
    }
    const { ftp: d } = await FtpsControl.connect(srv.port);
    try {
      assert.equal((await d.cmd('AUTH KERBEROS_V4')).code, 504);
      await d.login();
      assert.equal((await d.cmd('AUTH TLS')).code, 503); // after login: too late
    } finally {
      d.close();
    }
  });

  it('PBSZ, PROT, CCC and ADAT replies (upstream §10)', async () => {
    const { ftp } = await FtpsControl.connect(srv.port);
    try {
      assert.deepEqual((await ftp.cmd('PBSZ 0')).lines, ['503 PBSZ=0']);
      assert.deepEqual((await ftp.cmd('PROT P')).lines, [
        '503 PROT must be preceded by a successful PBSZ command',
      ]);
      assert.deepEqual((await ftp.cmd('CCC')).lines, ['534 CCC not allowed at this point']);
      await ftp.upgrade();
      assert.deepEqual((await ftp.cmd('PBSZ 0')).lines, ['200 PBSZ=0']);
      assert.deepEqual((await ftp.cmd('PROT')).lines, ['503 Missing argument']);
      assert.deepEqual((await ftp.cmd('PROT C')).lines, ['200 Data protection level set to "clear"']);
      assert.deepEqual((await ftp.cmd('PROT P')).lines, ['200 Data protection level set to "private"']);
      assert.deepEqual((await ftp.cmd('PROT S')).lines, [
        '200 Protection level S not understood. Fallback to "private"',
      ]);
      assert.deepEqual((await ftp.cmd('PROT E')).lines, [
        '200 Protection level E not understood. Fallback to "private"',
      ]);
      assert.deepEqual((await ftp.cmd('PROT X')).lines, ['534 Fallback to [C]']);
      assert.deepEqual((await ftp.cmd('PROT PP')).lines, ['534 Fallback to [C]']);
      await ftp.login();
      // After "Fallback to [C]" the data connection really is clear: a plain listing works.
      const port = await ftp.epsv();
      const data = net.connect({ host: '127.0.0.1', port });
      data.on('error', () => undefined);
      ftp.send('NLST');
      assert.equal((await ftp.read()).code, 150);
      assert.equal((await ftp.read()).code, 226);
      data.destroy();
      // Node cannot turn a TLS socket back into plaintext, and a clear channel would expose commands.
      assert.deepEqual((await ftp.cmd('CCC')).lines, ['534 CCC not allowed at this point']);
      assert.equal((await ftp.cmd('ADAT abc')).code, 500);
    } finally {
      ftp.close();
    }
  });

  it('FEAT advertises AUTH TLS, PBSZ and PROT', async () => {
    const { ftp } = await RawFtp.connect(srv.port);
    try {
      const feat = (await ftp.cmd('FEAT')).lines;
      for (const line of [' AUTH TLS', ' PBSZ', ' PROT']) assert.ok(feat.includes(line), feat.join('|'));
    } finally {
      ftp.close();
    }
  });

  it('openssl s_client -starttls ftp: TLS 1.2 and 1.3 are accepted, TLS 1.1 is refused', async (t) => {
    if (!requireTool(t, 'openssl')) return;
    const target = ['-connect', `127.0.0.1:${srv.port}`, '-starttls', 'ftp'];
    for (const [flag, name] of [
      ['-tls1_2', 'TLSv1.2'],
      ['-tls1_3', 'TLSv1.3'],
    ] as const) {
      const r = await sClient([...target, flag]);
      assert.match(r.output, new RegExp(`New, ${name.replace('.', '\\.')}, Cipher is `), r.output);
    }
    // The client is allowed to offer TLS 1.1 (its own default floor is lowered); the server says no.
    const old = await sClient([...target, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.match(old.output, /alert protocol version/, old.output);
    assert.match(old.output, /Cipher is \(NONE\)/);
  });
});

describe('real clients over explicit FTPS, binding on', () => {
  let srv: TestServer;
  let local: string;
  before(async () => {
    srv = await tlsServer(['-Y', '1', '-2', pki.server]);
    local = path.join(srv.dir, 'client');
    await mkdir(local);
  });
  after(() => srv.close());

  it('curl --ssl-reqd, passive: upload, download and listing with TLS 1.3 and TLS 1.2', async (t) => {
    if (!requireTool(t, 'curl')) return;
    for (const [tag, extra] of [
      ['13', ['--tlsv1.3']],
      ['12', ['--tls-max', '1.2']],
    ] as const) {
      const body = pattern(300_000, tag.length + Number(tag));
      const src = path.join(local, `curl-${tag}.bin`);
      await writeFile(src, body);
      const base = `ftp://joe:secret@127.0.0.1:${srv.port}`;
      const up = await curl(['--ssl-reqd', '-k', ...extra, '-T', src, `${base}/curl-${tag}.bin`]);
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(await readFile(path.join(srv.home('joe'), `curl-${tag}.bin`)), body);
      const down = await curl(['--ssl-reqd', '-k', ...extra, `${base}/curl-${tag}.bin`]);
      assert.equal(down.code, 0, down.stderr);
      assert.ok(down.stdout.equals(body), 'downloaded bytes differ');
      const list = await curl(['--ssl-reqd', '-k', ...extra, '--list-only', `${base}/`]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout.toString(), new RegExp(`curl-${tag}\\.bin`));
    }
    assert.ok(srv.logs.some((l) => l.includes('TLS: Enabled TLSv1.2 with')));
    assert.ok(srv.logs.some((l) => l.includes('TLS: Enabled TLSv1.3 with')));
  });

  // curl 7.87-7.88 (Debian 12) lost the TLS layer of active data connections (curl issue #10666,
  // fixed in 8.0; Pure-FTPd hangs the same way): there, active mode is checked with TLS on the control
  // connection only (--ftp-ssl-control, PROT C); lftp and ftplib cover active mode with PROT P below.
  it('curl --ssl-reqd, active mode (control-only TLS with curl < 8)', async (t) => {
    if (!requireTool(t, 'curl')) return;
    const mode = curlMajor < 8 ? ['--ftp-ssl-control'] : ['--ssl-reqd'];
    if (curlMajor < 8) t.diagnostic('curl < 8: active data connection in clear (curl issue #10666)');
    const body = pattern(100_000, 7);
    const src = path.join(local, 'curl-active.bin');
    await writeFile(src, body);
    const base = `ftp://joe:secret@127.0.0.1:${srv.port}`;
    const up = await curl([...mode, '-k', '-P', '127.0.0.1', '-T', src, `${base}/curl-active.bin`]);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(await readFile(path.join(srv.home('joe'), 'curl-active.bin')), body);
    const down = await curl([...mode, '-k', '-P', '127.0.0.1', `${base}/curl-active.bin`]);
    assert.equal(down.code, 0, down.stderr);
    assert.ok(down.stdout.equals(body));
  });

  it('lftp ftp:ssl-force: passive and active, TLS 1.3 and 1.2, content checked on disk', async (t) => {
    if (!requireTool(t, 'lftp')) return;
    for (const passive of [true, false]) {
      for (const tls12 of [false, true]) {
        const name = `lftp-${passive ? 'pasv' : 'port'}-${tls12 ? '12' : '13'}.bin`;
        const body = pattern(200_000, name.length * (passive ? 3 : 5) + (tls12 ? 1 : 0));
        await writeFile(path.join(local, name), body);
        const r = await lftpTls(srv.port, `put ${name}; get ${name} -o back-${name}; cls -1`, {
          cwd: local,
          passive,
          tls12,
        });
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.deepEqual(await readFile(path.join(srv.home('joe'), name)), body, name);
        assert.deepEqual(await readFile(path.join(local, `back-${name}`)), body, name);
        assert.match(r.stdout.toString(), new RegExp(name.replace(/\./g, '\\.')));
      }
    }
  });

  it('Python ftplib: plain FTP_TLS is refused by the binding; the session-resuming subclass works', async (t) => {
    if (!requireTool(t, 'python3')) return;
    for (const passive of [true, false]) {
      const r = await ftplibTls(srv.port, "ftp.storbinary('STOR plain.bin', io.BytesIO(b'x' * 1000))", {
        reuse: false,
        passive,
      });
      assert.equal(r.code, 3, r.stderr);
      // The refusal closes the data connection with close_notify, so the client reads the 425.
      assert.match(r.stdout.toString(), new RegExp(`FTPERR ${BINDING_REFUSAL}`), `passive=${passive}`);
    }
    const body = Buffer.concat(
      Array.from({ length: 600 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i))),
    );
    for (const passive of [true, false]) {
      for (const tls12 of [false, true]) {
        const name = `py-${passive ? 'pasv' : 'port'}-${tls12 ? '12' : '13'}.bin`;
        const script = [
          'data = bytes(range(256)) * 600',
          `ftp.storbinary('STOR ${name}', io.BytesIO(data))`,
          'got = []',
          `ftp.retrbinary('RETR ${name}', got.append)`,
          "print('SAME' if b''.join(got) == data else 'DIFFERENT', ftp.nlst())",
        ].join('\n');
        const r = await ftplibTls(srv.port, script, { reuse: true, passive, tls12 });
        assert.equal(r.code, 0, `${name}: ${r.stdout.toString()} ${r.stderr}`);
        assert.match(r.stdout.toString(), new RegExp(`^SAME .*${name}`));
        assert.deepEqual(await readFile(path.join(srv.home('joe'), name)), body);
      }
    }
  });

  it('basic-ftp secure mode passes the binding with TLS 1.3 and TLS 1.2', async () => {
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const client = new Client(10000);
      try {
        await client.access({
          host: '127.0.0.1',
          port: srv.port,
          user: 'joe',
          password: 'secret',
          secure: true,
          secureOptions: { rejectUnauthorized: false, maxVersion },
        });
        const body = pattern(250_000, maxVersion.length + (maxVersion === 'TLSv1.2' ? 1 : 0));
        const name = `basic-${maxVersion}.bin`;
        await client.uploadFrom(Readable.from([body]), name);
        assert.deepEqual(await readFile(path.join(srv.home('joe'), name)), body);
        const chunks: Buffer[] = [];
        await client.downloadTo(
          new Writable({
            write(chunk: Buffer, _enc, done) {
              chunks.push(chunk);
              done();
            },
          }),
          name,
        );
        assert.ok(Buffer.concat(chunks).equals(body));
        assert.ok((await client.list()).some((e) => e.name === name));
      } finally {
        client.close();
      }
    }
  });
});

describe('TLS data-session binding', () => {
  let srv: TestServer;
  before(async () => {
    srv = await tlsServer(['-Y', '1', '-2', pki.server]);
    await putFile(path.join(srv.home('joe'), 'hello.txt'), 'hello over TLS\n');
  });
  after(() => srv.close());

  it('openssl s_client on the data port: a resumed session is accepted (close_notify at the end), a fresh one refused', async (t) => {
    if (!requireTool(t, 'openssl')) return;
    const variants = [
      { name: 'TLS 1.3 ticket', version: 'TLSv1.3', flag: '-tls1_3', noTicket: false },
      { name: 'TLS 1.2 ticket', version: 'TLSv1.2', flag: '-tls1_2', noTicket: false },
      { name: 'TLS 1.2 session id', version: 'TLSv1.2', flag: '-tls1_2', noTicket: true },
    ] as const;
    const sessFile = path.join(srv.dir, 'control.sess');
    for (const v of variants) {
      const ftp = await secureLogin(srv.port, {
        minVersion: v.version,
        maxVersion: v.version,
        secureOptions: v.noTicket ? cryptoConstants.SSL_OP_NO_TICKET : 0,
      });
      try {
        // The session id path really is a session id: the server issued no ticket.
        if (v.noTicket) assert.equal(ftp.tls.getTLSTicket(), undefined);
        await writeFile(sessFile, sessionPem(ftp.session()!));
        const extra = v.noTicket ? ['-no_ticket'] : [];
        for (const resume of [true, false]) {
          const port = await ftp.epsv();
          const args = ['-connect', `127.0.0.1:${port}`, v.flag, '-msg', '-ign_eof', ...extra];
          const client = sClient(resume ? [...args, '-sess_in', sessFile] : args);
          ftp.send('RETR hello.txt');
          assert.equal((await ftp.read()).code, 150, v.name);
          const final = await ftp.read();
          const r = await client;
          if (resume) {
            assert.equal(final.code, 226, `${v.name}: ${final.text}`);
            assert.match(r.output, new RegExp(`Reused, ${v.version.replace('.', '\\.')}`), v.name);
            assert.match(r.output, /hello over TLS/);
            // Upstream §10: the server ends the download with close_notify.
            assert.match(r.output, /<<< TLS 1\.[23], Alert \[length 0002\], warning close_notify/, r.output);
          } else {
            assert.equal(final.text, BINDING_REFUSAL, v.name);
            assert.match(r.output, /New, TLSv1\.[23]/);
            assert.doesNotMatch(r.output, /hello over TLS/);
          }
        }
      } finally {
        ftp.close();
      }
    }
  });

  // Whose sessions a data connection may resume (another control connection of the same account
  // and address: yes; another account or address: no) is tested in tls-resume.test.ts.

  it('with --no-tls-session-binding plain ftplib FTP_TLS and fresh sessions are accepted', async (t) => {
    const open = await tlsServer(['-Y', '1', '-2', pki.server, '--no-tls-session-binding']);
    t.after(() => open.close());
    await putFile(path.join(open.home('joe'), 'hello.txt'), 'unbound\n');
    const ftp = await secureLogin(open.port);
    try {
      const fresh = await tlsRetr(ftp, 'RETR hello.txt', {});
      assert.match(fresh.final, /^226/);
      assert.equal(fresh.data.toString(), 'unbound\n');
    } finally {
      ftp.close();
    }
    if (!hasTool('python3') && !isCi()) return t.diagnostic('python3 part skipped: not installed');
    for (const passive of [true, false]) {
      const r = await ftplibTls(
        open.port,
        [
          "ftp.storbinary('STOR plain.txt', io.BytesIO(b'plain ftplib'))",
          'got = []',
          "ftp.retrbinary('RETR plain.txt', got.append)",
          "print(b''.join(got).decode())",
        ].join('\n'),
        { reuse: false, passive },
      );
      assert.equal(r.code, 0, r.stdout.toString() + r.stderr);
      assert.equal(r.stdout.toString().trim(), 'plain ftplib');
      assert.equal(await readFile(path.join(open.home('joe'), 'plain.txt'), 'utf8'), 'plain ftplib');
    }
  });
});

describe('truncated TLS uploads (close_notify)', () => {
  it('an upload cut without close_notify gets 426 and keeps the previous content; a clean end gets 226', async (t) => {
    const srv = await tlsServer(['-Y', '1', '-2', pki.server]);
    t.after(() => srv.close());
    const target = path.join(srv.home('joe'), 'keep.bin');
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      const opts = { minVersion: version, maxVersion: version };
      await putFile(target, 'previous content');
      const ftp = await secureLogin(srv.port, opts);
      try {
        // Cut: TLS data, then the TCP connection closes with no close_notify (what an attacker
        // who injects a FIN, or a crashing client, produces).
        let port = await ftp.epsv();
        let data = tlsData(port, { ...opts, session: ftp.session() });
        ftp.send('STOR keep.bin');
        assert.equal((await ftp.read()).code, 150);
        await secured(data.socket);
        data.socket.resume();
        await new Promise<void>((resolve) => data.socket.write(pattern(100_000), () => resolve()));
        data.tcp.destroy();
        const cut = await ftp.read();
        assert.equal(cut.text, '426 Transfer aborted: TLS data stream ended without close_notify', version);
        assert.equal(await readFile(target, 'utf8'), 'previous content', version);
        assert.deepEqual(await readdir(srv.home('joe')), ['keep.bin'], 'no temp file left');
        // Clean: the client ends TLS with close_notify.
        const body = pattern(100_000, 3);
        port = await ftp.epsv();
        data = tlsData(port, { ...opts, session: ftp.session() });
        ftp.send('STOR keep.bin');
        assert.equal((await ftp.read()).code, 150);
        await secured(data.socket);
        data.socket.resume();
        data.socket.end(body);
        const done = await ftp.read();
        assert.equal(done.code, 226, `${version}: ${done.text}`);
        assert.deepEqual(await readFile(target), body);
      } finally {
        ftp.close();
      }
    }
  });
});

describe('TLS policy levels (-Y 0, 2, 3)', () => {
  it('-Y 0: AUTH TLS is not implemented and FEAT does not advertise it', async (t) => {
    const srv = await tlsServer([]);
    t.after(() => srv.close());
    const { ftp } = await RawFtp.connect(srv.port);
    try {
      const feat = (await ftp.cmd('FEAT')).lines;
      for (const line of [' AUTH TLS', ' PBSZ', ' PROT']) assert.ok(!feat.includes(line), line);
      assert.deepEqual((await ftp.cmd('AUTH TLS')).lines, ['500 This security scheme is not implemented']);
      assert.deepEqual((await ftp.cmd('AUTH SSL')).lines, ['500 This security scheme is not implemented']);
      assert.deepEqual((await ftp.cmd('PBSZ 0')).lines, ['503 PBSZ=0']);
    } finally {
      ftp.close();
    }
  });

  it('-Y 2: USER and PASS in clear are refused (anonymous too), the session stays; TLS logins work', async (t) => {
    const srv = await startServer({ args: ['-Y', '2', '-2', pki.server] });
    t.after(() => srv.close());
    const refusal = [
      '421-Sorry, cleartext sessions and weak ciphers are not accepted on this server.',
      '421 Please reconnect using TLS security mechanisms.',
    ];
    const { ftp } = await RawFtp.connect(srv.port);
    try {
      assert.deepEqual((await ftp.cmd('USER joe')).lines, refusal);
      assert.deepEqual((await ftp.cmd('PASS secret')).lines, refusal);
      assert.deepEqual((await ftp.cmd('USER anonymous')).lines, refusal);
      assert.equal((await ftp.cmd('NOOP')).code, 200); // a soft refusal: still connected
    } finally {
      ftp.close();
    }
    const { ftp: secure } = await FtpsControl.connect(srv.port);
    try {
      await secure.upgrade();
      assert.equal((await secure.cmd('USER joe')).code, 331);
      assert.equal((await secure.cmd('PASS secret')).code, 230);
    } finally {
      secure.close();
    }
  });

  it('-Y 3: data commands and MLST need PROT P (521), then work', async (t) => {
    const srv = await tlsServer(['-Y', '3', '-2', pki.server]);
    t.after(() => srv.close());
    await putFile(path.join(srv.home('joe'), 'f.txt'), 'y3\n');
    const { ftp: clear } = await RawFtp.connect(srv.port);
    try {
      assert.equal((await clear.cmd('USER joe')).code, 421);
    } finally {
      clear.close();
    }
    const { ftp } = await FtpsControl.connect(srv.port);
    try {
      await ftp.upgrade();
      await ftp.login();
      assert.equal((await ftp.cmd('TYPE I')).code, 200);
      const refused = ['521 Data connection cannot be opened with this PROT setting.'];
      for (const cmd of [
        'LIST',
        'NLST',
        'MLSD',
        'MLST f.txt',
        'RETR f.txt',
        'STOR g.txt',
        'APPE g.txt',
        'STOU',
      ]) {
        assert.deepEqual((await ftp.cmd(cmd)).lines, refused, cmd);
      }
      assert.equal((await ftp.cmd('PROT P')).code, 200);
      assert.equal((await ftp.cmd('MLST f.txt')).code, 250);
      const r = await tlsRetr(ftp, 'RETR f.txt', { session: ftp.session() });
      assert.match(r.final, /^226/);
      assert.equal(r.data.toString(), 'y3\n');
    } finally {
      ftp.close();
    }
  });
});

describe('implicit FTPS (--implicit-tls)', () => {
  it('curl ftps://, lftp ftps:// and a raw client: TLS from the first byte, PROT P preset', async (t) => {
    const srv = await tlsServer(['-Y', '1', '-2', pki.server, '--implicit-tls', '127.0.0.1,0']);
    t.after(() => srv.close());
    const implicitPort = srv.ports[1];
    assert.ok(implicitPort > 0 && implicitPort !== srv.port);
    const local = path.join(srv.dir, 'client');
    await mkdir(local);
    const body = pattern(150_000, 11);
    await writeFile(path.join(local, 'imp.bin'), body);
    if (requireTool(t, 'curl')) {
      const base = `ftps://joe:secret@127.0.0.1:${implicitPort}`;
      const up = await curl(['-k', '-T', path.join(local, 'imp.bin'), `${base}/imp.bin`]);
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(await readFile(path.join(srv.home('joe'), 'imp.bin')), body);
      const down = await curl(['-k', `${base}/imp.bin`]);
      assert.ok(down.stdout.equals(body), down.stderr);
    }
    if (hasTool('lftp') || isCi()) {
      const r = await lftpTls(implicitPort, 'get imp.bin -o lftp-imp.bin', { cwd: local, implicit: true });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await readFile(path.join(local, 'lftp-imp.bin')), body);
    }
    // No AUTH, PBSZ or PROT: implicit FTPS protects data connections from the start.
    const { ftp, greeting } = await FtpsControl.connect(implicitPort, { implicit: {} });
    try {
      assert.equal(greeting.code, 220);
      await ftp.login();
      assert.equal((await ftp.cmd('TYPE I')).code, 200);
      const r = await tlsRetr(ftp, 'RETR imp.bin', { session: ftp.session() });
      assert.match(r.final, /^226/);
      assert.ok(r.data.equals(body));
    } finally {
      ftp.close();
    }
    // A cleartext client on the implicit port never gets a greeting or a command executed.
    const plain = net.connect({ host: '127.0.0.1', port: implicitPort });
    const seen: Buffer[] = [];
    plain.on('data', (c: Buffer) => seen.push(c));
    plain.on('error', () => undefined);
    plain.write('USER joe\r\n');
    assert.ok(await waitFor(() => plain.closed, 5000), 'the implicit port closes a cleartext client');
    assert.doesNotMatch(Buffer.concat(seen).toString('latin1'), /220|331/);
    // The explicit port of the same server still works.
    const { ftp: explicit } = await FtpsControl.connect(srv.port);
    try {
      assert.equal((await explicit.upgrade()).code, 234);
    } finally {
      explicit.close();
    }
  });
  it('handshakes in progress count against -c: idle TLS connections cannot pile up', async (t) => {
    const srv = await tlsServer(['-Y', '1', '-2', pki.server, '--implicit-tls', '127.0.0.1,0', '-c', '2']);
    t.after(() => srv.close());
    const implicitPort = srv.ports[1];
    const idle = [
      net.connect({ host: '127.0.0.1', port: implicitPort }),
      net.connect({ host: '127.0.0.1', port: implicitPort }),
    ];
    t.after(() => idle.forEach((s) => s.destroy()));
    for (const s of idle) s.on('error', () => undefined);
    await Promise.all(idle.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(FtpsControl.connect(implicitPort, { implicit: {} }));
    for (const s of idle) s.destroy();
    assert.ok(
      await waitFor(
        async () => {
          try {
            const { ftp } = await FtpsControl.connect(implicitPort, { implicit: {} });
            ftp.close();
            return true;
          } catch {
            return false;
          }
        },
        5000,
        100,
      ),
    );
  });
});

describe('client certificates (-J -C:)', () => {
  it('a client certificate signed by a CA of the certificate file is required and verified', async (t) => {
    if (!requireTool(t, 'curl')) return;
    const srv = await tlsServer(['-Y', '1', '-2', pki.serverWithCa, '-J', '-C:']);
    t.after(() => srv.close());
    const local = path.join(srv.dir, 'client');
    await mkdir(local);
    const body = pattern(80_000, 5);
    await writeFile(path.join(local, 'cc.bin'), body);
    const base = `ftp://joe:secret@127.0.0.1:${srv.port}`;
    const cert = ['--cert', pki.clientCert, '--key', pki.clientKey];
    const up = await curl(['--ssl-reqd', '-k', ...cert, '-T', path.join(local, 'cc.bin'), `${base}/cc.bin`]);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(await readFile(path.join(srv.home('joe'), 'cc.bin')), body);
    const down = await curl(['--ssl-reqd', '-k', ...cert, `${base}/cc.bin`]);
    assert.equal(down.code, 0, down.stderr);
    assert.ok(down.stdout.equals(body));
    const none = await curl(['--ssl-reqd', '-k', `${base}/cc.bin`]);
    assert.notEqual(none.code, 0, 'no client certificate');
    const rogue = await curl([
      '--ssl-reqd',
      '-k',
      '--cert',
      pki.rogueCert,
      '--key',
      pki.rogueKey,
      `${base}/cc.bin`,
    ]);
    assert.notEqual(rogue.code, 0, 'an untrusted client certificate');
    const refusals = srv.logs.filter((l) => l.includes('TLS handshake failed')).join('\n');
    assert.match(refusals, /peer did not return a certificate/);
    assert.match(refusals, /client certificate refused: DEPTH_ZERO_SELF_SIGNED_CERT/);

    // The same client certificate against a certificate file without its CA is refused.
    const noCa = await tlsServer(['-Y', '1', '-2', pki.server, '-J', '-C:']);
    t.after(() => noCa.close());
    const r = await curl(['--ssl-reqd', '-k', ...cert, `ftp://joe:secret@127.0.0.1:${noCa.port}/`]);
    assert.notEqual(r.code, 0);
  });
});

/** A fake pure-authd on a UNIX socket: records each request, accepts the login. */
async function fakeAuthd(
  dir: string,
  home: string,
): Promise<{ socket: string; requests: Map<string, string>[]; close(): Promise<void> }> {
  const socket = path.join(dir, 'authd.sock');
  const requests: Map<string, string>[] = [];
  const server = net.createServer((c) => {
    let text = '';
    c.on('error', () => undefined);
    c.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (!text.includes('\nend\n')) return;
      requests.push(
        new Map(
          text
            .split('\n')
            .filter((l) => l.includes(':'))
            .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
        ),
      );
      c.end(`auth_ok:1\nuid:${TEST_UID}\ngid:${TEST_GID}\ndir:${home}/./\nend\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('SNI', () => {
  it('the server name is logged and passed to backends with tls (extauth sni_name and encrypted)', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-sni-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const home = path.join(dir, 'home');
    await mkdir(home);
    const authd = await fakeAuthd(dir, home);
    t.after(() => authd.close());
    const srv = await tlsServer(['-Y', '1', '-2', pki.server, '-l', `extauth:${authd.socket}`]);
    t.after(() => srv.close());

    // curl sends SNI only for host names: --resolve maps one to the loopback address.
    if (requireTool(t, 'curl')) {
      const r = await curl([
        '--ssl-reqd',
        '-k',
        '--resolve',
        `ftp.example.test:${srv.port}:127.0.0.1`,
        '--list-only',
        `ftp://sniuser:pw@ftp.example.test:${srv.port}/`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(srv.logs.includes('[INFO] SNI: [ftp.example.test]'), srv.logs.join('\n'));
      const req = authd.requests.at(-1)!;
      assert.equal(req.get('account'), 'sniuser');
      assert.equal(req.get('encrypted'), '1');
      assert.equal(req.get('sni_name'), 'ftp.example.test');
    }
    const s = await sClient([
      '-connect',
      `127.0.0.1:${srv.port}`,
      '-starttls',
      'ftp',
      '-servername',
      'other.example.test',
    ]);
    assert.match(s.output, /New, TLSv1\.3/);
    assert.ok(await waitFor(() => srv.logs.includes('[INFO] SNI: [other.example.test]'), 3000));
    // Through Node's TLS client (as basic-ftp does) and in clear.
    const { ftp } = await FtpsControl.connect(srv.port);
    try {
      await ftp.upgrade({ servername: 'node.example.test' });
      await ftp.login('nodeuser', 'pw');
      assert.equal(authd.requests.at(-1)!.get('sni_name'), 'node.example.test');
    } finally {
      ftp.close();
    }
    const { ftp: clear } = await RawFtp.connect(srv.port);
    try {
      await clear.login('clearuser', 'pw');
      const req = authd.requests.at(-1)!;
      assert.equal(req.get('account'), 'clearuser');
      assert.equal(req.get('encrypted'), '0');
      assert.equal(req.get('sni_name'), '');
    } finally {
      clear.close();
    }
  });
});

/** SIGTERM by PID, SIGKILL if it is still there after 3 s. */
async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 3000);
  await exited;
  clearTimeout(timer);
}

/** The CN of the certificate a new AUTH TLS connection is shown. */
async function servedCn(port: number): Promise<string> {
  const { ftp } = await FtpsControl.connect(port);
  try {
    await ftp.upgrade();
    return String(ftp.tls.getPeerCertificate().subject.CN);
  } finally {
    ftp.close();
  }
}

/** Certificates of the reload test are padded to one size, so that an in-place rewrite is invisible to stat. */
const PADDED_SIZE = 8192;

describe('tsftpd gencert and certificate reload (child process)', () => {
  it('gencert writes a 0600 bundle and refuses to overwrite; a missing certificate stops start-up with help', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-gencert-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'cert.pem');
    const first = await runProgram(process.execPath, [
      MAIN,
      'gencert',
      file,
      '--cn',
      'gen.example.test',
      '--days',
      '2',
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout.toString(), /-Y 1 -2 /);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.match(text, /BEGIN CERTIFICATE[\s\S]+BEGIN PRIVATE KEY/);
    const again = await runProgram(process.execPath, [MAIN, 'gencert', file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists.*--force/);
    assert.equal(await readFile(file, 'utf8'), text);
    const forced = await runProgram(process.execPath, [
      MAIN,
      'gencert',
      file,
      '--force',
      '--key',
      path.join(dir, 'key.pem'),
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.doesNotMatch(await readFile(file, 'utf8'), /PRIVATE KEY/);
    assert.equal((await stat(path.join(dir, 'key.pem'))).mode & 0o777, 0o600);

    const missing = await runProgram(
      process.execPath,
      [MAIN, '-S', '127.0.0.1,0', '-Y', '1', '-2', path.join(dir, 'none.pem')],
      {
        timeoutMs: 10000,
      },
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no TLS certificate at .*none\.pem.*tsftpd gencert/);
  });

  it('SIGHUP and a changed file reload the certificate; open sessions keep working', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-reload-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await Promise.all(['one', 'two', 'three'].map((cn) => selfSigned(dir, cn, `${cn}.test`)));
    const padded = async (name: string): Promise<string> => {
      const cert = await readFile(path.join(dir, `${name}.pem`), 'utf8');
      return (cert + (await readFile(path.join(dir, `${name}.key`), 'utf8'))).padEnd(PADDED_SIZE, '\n');
    };
    const certFile = path.join(dir, 'cert.pem');
    await writeFile(certFile, await padded('one'), { mode: 0o600 });
    // A whole-second mtime can be put back exactly after the in-place rewrite below.
    const mtime = Math.floor(Date.now() / 1000) - 60;
    await utimes(certFile, mtime, mtime);
    const home = path.join(dir, 'joe');
    await mkdir(home);
    await putFile(path.join(home, 'f.txt'), 'still here\n');
    const passwd = path.join(dir, 'passwd');
    await writeFile(passwd, `joe:${await sha512Hash('secret')}:${TEST_UID}:${TEST_GID}::${home}/./:\n`, {
      mode: 0o600,
    });
    if (process.getuid?.() === 0) await chown(home, TEST_UID, TEST_GID);

    const child = spawn(
      process.execPath,
      [
        MAIN,
        '-S',
        '127.0.0.1,0',
        '-p',
        '20000:29999',
        '--passwd-file',
        passwd,
        '-E',
        '-Y',
        '1',
        '-2',
        certFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(() => stopByPid(child));
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    assert.ok(await waitFor(() => /serving FTP on ftp:\/\/127\.0\.0\.1:(\d+)/.test(output), 10000), output);
    const port = Number(/serving FTP on ftp:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]);

    const old = await secureLogin(port);
    t.after(() => old.close());
    assert.equal(old.tls.getPeerCertificate().subject.CN, 'one.test');

    // Same size, same inode, same mtime: the file watcher cannot see this change, only SIGHUP can.
    await writeFile(certFile, await padded('two'));
    await utimes(certFile, mtime, mtime);
    await new Promise((r) => setTimeout(r, 2700)); // one poll of the watcher (2 s) and its debounce
    assert.equal(await servedCn(port), 'one.test', 'not reloaded without SIGHUP');
    process.kill(child.pid!, 'SIGHUP');
    let cn = '';
    assert.ok(
      await waitFor(async () => (cn = await servedCn(port)) === 'two.test', 5000, 100),
      `after SIGHUP: ${cn}\n${output}`,
    );
    const list1 = await tlsRetr(old, 'RETR f.txt', { session: old.session() });
    assert.match(list1.final, /^226/, 'the session opened before the reload still transfers');
    assert.equal(list1.data.toString(), 'still here\n');

    // A renewed certificate renamed into place (certbot's way), no signal.
    await writeFile(path.join(dir, 'next.pem'), await padded('three'), { mode: 0o600 });
    await rename(path.join(dir, 'next.pem'), certFile);
    assert.ok(
      await waitFor(async () => (cn = await servedCn(port)) === 'three.test', 8000, 200),
      `file change: ${cn}`,
    );
    assert.equal((await old.cmd('NOOP')).code, 200);
    const list2 = await tlsRetr(old, 'RETR f.txt', { session: old.session() });
    assert.match(list2.final, /^226/);
    assert.equal(output.match(/TLS certificate reloaded/g)?.length, 2, output);
  });
});
