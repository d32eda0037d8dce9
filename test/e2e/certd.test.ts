/**
 * -3 and `tsftpd certd` (pure-certd, upstream §10): the certificate program's answer for the
 * client's SNI name decides the certificate (strict, fallback, default, deny), with real TLS
 * clients that verify the name against the CA (Node's TLS as basic-ftp uses it, curl). The server
 * runs as root with workers (the parent asks certd and hands the key to the worker), and as a
 * plain user in one process; Debian's own pure-certd serves the same program to tsftpd.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAIN, connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { FtpsControl, makePki, secured, tlsData, readTls, type Pki } from '../helpers/tls.js';
import { curl, requireTool, runProgram, waitFor } from '../helpers/transfer-clients.js';
import { ciSkip } from '../helpers/ci.js';
import { writeJoePasswd } from '../helpers/server.js';

const isRoot = process.geteuid?.() === 0;
const PURE_CERTD = '/usr/sbin/pure-certd';

let pki: Pki;
let dir: string;
/** The certificate served for a.example.test (CN and SAN a.example.test, signed by the test CA). */
let aCert: string;

async function openssl(args: string[]): Promise<void> {
  const r = await runProgram('openssl', args, { cwd: dir, timeoutMs: 15000 });
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** A key and certificate for `cn` signed by the test CA, as one PEM file (cert then key). */
async function issue(name: string, cn: string): Promise<string> {
  await openssl(
    `req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${name}.key -out ${name}.csr -subj /CN=${cn}`.split(
      ' ',
    ),
  );
  await writeFile(path.join(dir, `${name}.ext`), `subjectAltName=DNS:${cn}\nextendedKeyUsage=serverAuth\n`);
  const serial = `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`;
  await openssl(
    `x509 -req -in ${name}.csr -CA ${pki.caCert} -CAkey ${path.join(pki.dir, 'ca.key')} -set_serial ${serial} -days 2 -extfile ${name}.ext -out ${name}.pem`.split(
      ' ',
    ),
  );
  const bundle = path.join(dir, `${name}-bundle.pem`);
  const [cert, key] = await Promise.all([
    readFile(path.join(dir, `${name}.pem`), 'utf8'),
    readFile(path.join(dir, `${name}.key`), 'utf8'),
  ]);
  await writeFile(bundle, cert + key, { mode: 0o600 });
  return bundle;
}

/** The certificate program: one answer per name (its environment names the files). */
const PROGRAM = `#!/bin/sh
case "$CERTD_SNI_NAME" in
  a.example.test) printf 'action:strict\\ncert_file:%s\\nend\\n' "$A_CERT" ;;
  fb.example.test) printf 'action:fallback\\ncert_file:/nonexistent/fb.pem\\nend\\n' ;;
  deny.example.test) printf 'action:deny\\nend\\n' ;;
  missing.example.test) printf 'action:strict\\ncert_file:/nonexistent/missing.pem\\nend\\n' ;;
  broken.example.test) printf 'action:strict\\ncert_file:%s\\nend\\n' "$BROKEN" ;;
  *) printf 'action:default\\nend\\n' ;;
esac
`;

before(async () => {
  pki = await makePki();
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-certd-'));
  await chmod(dir, 0o755);
  aCert = await issue('a', 'a.example.test');
  await writeFile(
    path.join(dir, 'broken.pem'),
    '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n',
  );
  await writeFile(path.join(dir, 'certs.sh'), PROGRAM, { mode: 0o755 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await pki.close();
});

/** Starts a certificate helper (tsftpd certd, or Debian's pure-certd) and waits for its socket. */
async function startCertd(
  socket: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(argv[0], [...argv.slice(1), '-s', socket, '-r', path.join(dir, 'certs.sh')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, A_CERT: aCert, BROKEN: path.join(dir, 'broken.pem'), ...env },
  });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  assert.ok(await waitFor(() => existsSync(socket), 10000), `no certd socket: ${text}`);
  return { child, output: () => text };
}

/** AUTH TLS with a server name, verified against the test CA; resolves with the TLS socket or the error. */
async function handshake(port: number, servername: string | undefined): Promise<tls.TLSSocket | Error> {
  const { ftp } = await FtpsControl.connect(port);
  try {
    const r = await ftp.upgrade({
      servername,
      ca: [await readFile(pki.caCert, 'utf8')],
      rejectUnauthorized: false,
    });
    assert.equal(r.code, 234);
    return ftp.tls;
  } catch (err) {
    ftp.close();
    return err as Error;
  }
}

/** The CN of the certificate a handshake for `servername` got (the error's text when it failed). */
async function served(port: number, servername: string | undefined): Promise<string> {
  const socket = await handshake(port, servername);
  if (socket instanceof Error) return `refused: ${socket.message}`;
  const cn = String(socket.getPeerCertificate().subject.CN);
  socket.destroy();
  return cn;
}

describe('-3: certificates per SNI name from a certificate program', () => {
  it('as root with workers: strict, fallback, default, deny, broken files, reload, certd gone', async (t) => {
    const socket = path.join(dir, 'certd-root.sock');
    const certd = await startCertd(socket, [process.execPath, MAIN, 'certd'], {});
    const port = await freePort();
    // joe/secret, chrooted to his own home (owned by the test account).
    const home = path.join(dir, 'joe');
    await runProgram('mkdir', ['-p', home]);
    const passwd = await writeJoePasswd(dir, home);
    const srv = spawnServer(port, [
      '-Y',
      '1',
      '-2',
      pki.server,
      '-3',
      socket,
      '--workers',
      '2',
      '--passwd-file',
      passwd,
    ]);
    try {
      (await connectWhenUp(port)).close();
      const ca = await readFile(pki.caCert, 'utf8');

      // strict: the named certificate, which a verifying client accepts for that name.
      const a = await handshake(port, 'a.example.test');
      assert.ok(!(a instanceof Error), String(a));
      assert.equal(a.getPeerCertificate().subject.CN, 'a.example.test');
      assert.equal(tls.checkServerIdentity('a.example.test', a.getPeerCertificate()), undefined);
      const before = a.getPeerCertificate().serialNumber;
      a.destroy();
      // The session's data connections present the same certificate.
      {
        const { ftp } = await FtpsControl.connect(port);
        // (A failure here once in a clean-clone CI: the server's log says which side closed.)
        const why = (step: string) => (err: Error) => {
          throw new Error(`${step}: ${err.message}\n${srv.output()}`);
        };
        await ftp.upgrade({ servername: 'a.example.test', ca: [ca] }).catch(why('AUTH TLS'));
        await ftp.login();
        assert.equal((await ftp.cmd('PROT P')).code, 200);
        const dataPort = await ftp.epsv();
        const { socket: data } = tlsData(dataPort, {
          session: ftp.session(),
          servername: 'a.example.test',
          ca: [ca],
        });
        ftp.send('LIST');
        assert.equal((await ftp.read()).code, 150);
        await secured(data).catch(why('data TLS handshake'));
        // A resumed session shows no certificate again; a full handshake must show the same one.
        const peer = data.getPeerCertificate();
        if (data.isSessionReused()) assert.equal(peer.subject, undefined);
        else assert.equal(peer.subject.CN, 'a.example.test');
        await readTls(data);
        assert.equal((await ftp.read()).code, 226);
        ftp.close();
      }
      // curl verifies the name against the CA, and lists over PROT P.
      if (requireTool(t, 'curl')) {
        const r = await curl([
          '--ssl-reqd',
          '--cacert',
          pki.caCert,
          '--resolve',
          `a.example.test:${port}:127.0.0.1`,
          '--list-only',
          `ftp://joe:secret@a.example.test:${port}/`,
        ]);
        assert.equal(r.code, 0, r.stderr);
      }

      // default, no SNI at all, and fallback to a missing file: the default certificate.
      assert.equal(await served(port, 'other.example.test'), 'localhost');
      assert.equal(await served(port, undefined), 'localhost');
      assert.equal(await served(port, 'fb.example.test'), 'localhost');
      // deny, strict without a usable file: the handshake is refused, the log says why.
      assert.match(await served(port, 'deny.example.test'), /^refused/);
      assert.match(await served(port, 'missing.example.test'), /^refused/);
      assert.match(await served(port, 'broken.example.test'), /^refused/);
      const refusals = [
        /certificate for \[deny\.example\.test\] refused: Logout\./,
        /certificate for \[missing\.example\.test\] refused: Missing certificate/,
        /certificate for \[broken\.example\.test\] refused: Invalid certificate/,
        /fb\.example\.test.*using the default certificate/,
      ];
      assert.ok(await waitFor(() => refusals.every((r) => r.test(srv.output())), 5000), srv.output());

      // The file behind an answer changes (a renewal): the next handshakes get the new one.
      await copyFile(await issue('a2', 'a.example.test'), aCert);
      let renewed = '';
      assert.ok(
        await waitFor(async () => {
          const s = await handshake(port, 'a.example.test');
          if (s instanceof Error) return false;
          renewed = s.getPeerCertificate().serialNumber;
          s.destroy();
          return renewed !== before;
        }, 10000),
        `still serial ${before}`,
      );

      // certd gone: a name it was never asked about is refused ("Cert handler not ready").
      await killChild(certd.child);
      assert.match(await served(port, 'new.example.test'), /^refused/);
      assert.ok(
        await waitFor(() => /refused: Cert handler not ready/.test(srv.output()), 10000),
        srv.output(),
      );
      // ... while a name with a cached answer still gets its certificate.
      assert.equal(await served(port, 'a.example.test'), 'a.example.test');
    } finally {
      await killChild(srv.child);
      await killChild(certd.child);
    }
  });

  it(
    'as a plain user in one process (certd and the program as that user too)',
    { skip: isRoot ? false : 'needs root (runs as nobody)' },
    async () => {
      const setpriv = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
      const socket = path.join(dir, 'certd-nobody.sock');
      // nobody must read the certificates.
      const copies = path.join(dir, 'nobody');
      await runProgram('mkdir', ['-p', copies]);
      for (const f of [pki.server, aCert]) {
        await copyFile(f, path.join(copies, path.basename(f)));
        await chown(path.join(copies, path.basename(f)), 65534, 65534);
      }
      await chown(dir, 65534, 65534);
      const certd = await startCertd(socket, [...setpriv, process.execPath, MAIN, 'certd'], {
        A_CERT: path.join(copies, path.basename(aCert)),
      });
      assert.equal((await stat(socket)).mode & 0o777, 0o600);
      const port = await freePort();
      const child = spawn(
        setpriv[0],
        [
          ...setpriv.slice(1),
          process.execPath,
          MAIN,
          '-S',
          `127.0.0.1,${port}`,
          '-p',
          '30000:39999',
          '-Y',
          '1',
          '-2',
          path.join(copies, path.basename(pki.server)),
          '-3',
          socket,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      try {
        (await connectWhenUp(port)).close();
        assert.equal(await served(port, 'a.example.test'), 'a.example.test', out);
        assert.equal(await served(port, 'other.example.test'), 'localhost');
        assert.match(await served(port, 'deny.example.test'), /^refused/);
      } finally {
        await killChild(child);
        await killChild(certd.child);
        await chown(dir, 0, 0);
      }
    },
  );

  it(
    "Debian's pure-certd serves the same program to tsftpd",
    {
      skip:
        ciSkip(existsSync(PURE_CERTD) ? undefined : `${PURE_CERTD} not installed`) ||
        (isRoot ? false : 'pure-certd needs root'),
    },
    async () => {
      const socket = path.join(dir, 'pure-certd.sock');
      const certd = await startCertd(socket, [PURE_CERTD], {});
      const port = await freePort();
      const srv = spawnServer(port, ['-Y', '1', '-2', pki.server, '-3', socket]);
      try {
        (await connectWhenUp(port)).close();
        assert.equal(await served(port, 'a.example.test'), 'a.example.test', srv.output() + certd.output());
        assert.equal(await served(port, 'other.example.test'), 'localhost');
        assert.match(await served(port, 'deny.example.test'), /^refused/);
      } finally {
        await killChild(srv.child);
        await killChild(certd.child);
        await sleep(100);
      }
    },
  );
});

describe('tsftpd certd', () => {
  it('answers the protocol as pure-certd does: CERTD_SNI_NAME in, the program output back', async () => {
    const socket = path.join(dir, 'certd-proto.sock');
    const certd = await startCertd(socket, [process.execPath, MAIN, 'certd'], {});
    try {
      const { askCertd } = await import('../../src/tls/sni-certs.js');
      assert.deepEqual(await askCertd(socket, 'a.example.test'), { action: 'strict', certFile: aCert });
      assert.deepEqual(await askCertd(socket, 'deny.example.test'), { action: 'deny' });
      assert.deepEqual(await askCertd(socket, 'zzz.example.test'), { action: 'default' });
      assert.equal((await stat(socket)).mode & 0o777, 0o600);
      // SIGTERM: the socket is removed.
      const exited = new Promise((resolve) => certd.child.once('exit', resolve));
      certd.child.kill('SIGTERM');
      await exited;
      assert.equal(existsSync(socket), false, 'socket removed at exit');
    } finally {
      await killChild(certd.child);
    }
  });
});
