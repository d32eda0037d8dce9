/**
 * A private OpenLDAP `slapd` for tests: a temp directory with slapd.conf, an mdb database under
 * dc=example,dc=com, the core/cosine/nis schemas plus Pure-FTPd's PureFTPdUser schema, a
 * self-signed certificate for ldaps and StartTLS, listening on 127.0.0.1 high ports. Entries are
 * loaded with slapadd before start (or ldapadd later); stop() ends slapd by its PID and removes
 * the directory. Every wait is bounded.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The suffix of the test directory. */
export const BASE_DN = 'dc=example,dc=com';
/** People live here. */
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
/** Superuser of the test directory (slapd.conf rootdn). */
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'adminpw';
/** A service account allowed to read userPassword (for LDAPAuthMethod PASSWORD). */
export const READER_DN = `cn=reader,${BASE_DN}`;
export const READER_PASSWORD = 'readerpw';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

/**
 * Pure-FTPd's attributes and PureFTPdUser class, with the OIDs of its pureftpd.schema
 * (1.3.6.1.4.1.6981.11.x) so that entries written for Pure-FTPd load unchanged.
 */
const PUREFTPD_SCHEMA = [
  ['1', 'FTPQuotaFiles', 'integerMatch', '27'],
  ['2', 'FTPQuotaMBytes', 'integerMatch', '27'],
  ['3', 'FTPUploadRatio', 'integerMatch', '27'],
  ['4', 'FTPDownloadRatio', 'integerMatch', '27'],
  ['5', 'FTPUploadBandwidth', 'integerMatch', '27'],
  ['6', 'FTPDownloadBandwidth', 'integerMatch', '27'],
  ['7', 'FTPStatus', 'caseIgnoreIA5Match', '26'],
  ['8', 'FTPuid', 'integerMatch', '27'],
  ['9', 'FTPgid', 'integerMatch', '27'],
]
  .map(
    ([n, name, eq, syntax]) =>
      `attributetype ( 1.3.6.1.4.1.6981.11.3.${n} NAME '${name}' EQUALITY ${eq}\n` +
      `  SYNTAX 1.3.6.1.4.1.1466.115.121.1.${syntax} SINGLE-VALUE )\n`,
  )
  .join('\n')
  .concat(
    "\nobjectclass ( 1.3.6.1.4.1.6981.11.2.3 NAME 'PureFTPdUser' SUP top AUXILIARY\n" +
      '  MAY ( FTPStatus $ FTPQuotaFiles $ FTPQuotaMBytes $ FTPUploadRatio $ FTPDownloadRatio $\n' +
      '        FTPUploadBandwidth $ FTPDownloadBandwidth $ FTPuid $ FTPgid ) )\n',
  );

/** Why slapd tests cannot run here, or undefined when they can. */
export async function slapdUnavailable(): Promise<string | undefined> {
  for (const tool of [
    SLAPD,
    SLAPADD,
    '/usr/bin/ldapadd',
    `${SCHEMA_DIR}/nis.schema`,
    `${MODULE_DIR}/back_mdb.so`,
  ]) {
    try {
      await access(tool);
    } catch {
      return `${tool} not found (install the slapd and ldap-utils packages)`;
    }
  }
  try {
    await run('openssl', ['version'], { timeout: 5000 });
  } catch {
    return 'openssl not found';
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A running test directory. */
export interface Slapd {
  dir: string;
  /** Plain LDAP (also StartTLS). */
  port: number;
  /** ldaps. */
  tlsPort: number;
  /** The self-signed certificate (PEM) the server presents, to trust in the client. */
  caFile: string;
  pid: number;
  /** Adds entries over the network as the admin (ldapadd). */
  add(ldif: string): Promise<void>;
  /** Writes a tsftpd LDAP configuration file (`Key value` lines) and returns its path. */
  writeConf(name: string, keys: Record<string, string | number>): Promise<string>;
  stop(): Promise<void>;
}

/** Waits until `port` accepts connections, or the process exits, or `ms` passes. */
async function waitListening(
  port: number,
  child: ChildProcess,
  ms: number,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slapd exited (${child.exitCode}): ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`slapd did not listen on ${port} within ${ms} ms: ${stderr()}`);
}

/** Sends SIGTERM, then SIGKILL if slapd is still there after `ms`. */
async function stopChild(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  if (await Promise.race([exited.then(() => false), late])) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/** Starts slapd with the base entries plus `ldif` (entries under PEOPLE_DN, loaded by slapadd). */
export async function startSlapd(ldif = ''): Promise<Slapd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-slapd-'));
  try {
    const db = path.join(dir, 'db');
    await mkdir(db, { mode: 0o700 });
    const caFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    // EC keys: generated instantly, accepted by slapd's GnuTLS and by Node.
    await run(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        ...['-keyout', keyFile, '-out', caFile],
      ],
      { timeout: 10000 },
    );
    await writeFile(path.join(dir, 'pureftpd.schema'), PUREFTPD_SCHEMA);
    const conf = path.join(dir, 'slapd.conf');
    await writeFile(
      conf,
      [
        ...['core', 'cosine', 'nis'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
        `include ${path.join(dir, 'pureftpd.schema')}`,
        `modulepath ${MODULE_DIR}`,
        'moduleload back_mdb',
        `pidfile ${path.join(dir, 'slapd.pid')}`,
        `argsfile ${path.join(dir, 'slapd.args')}`,
        `TLSCertificateFile ${caFile}`,
        `TLSCertificateKeyFile ${keyFile}`,
        'database mdb',
        'maxsize 16777216',
        `suffix "${BASE_DN}"`,
        `rootdn "${ADMIN_DN}"`,
        `rootpw ${ADMIN_PASSWORD}`,
        `directory ${db}`,
        // Anonymous clients may search but never read hashes; binds may use them (BIND method).
        'access to attrs=userPassword',
        `  by dn.exact="${READER_DN}" read`,
        '  by anonymous auth',
        '  by * none',
        'access to * by * read',
        '',
      ].join('\n'),
    );
    const base = [
      `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n`,
      `dn: ${PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n`,
      `dn: ${READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\n` +
        `userPassword: ${READER_PASSWORD}\n`,
    ].join('\n');
    await writeFile(path.join(dir, 'data.ldif'), `${base}\n${ldif}`);
    await run(SLAPADD, ['-q', '-f', conf, '-l', path.join(dir, 'data.ldif')], { timeout: 20000 });
    const port = await freePort();
    const tlsPort = await freePort();
    const urls = `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`;
    // -d keeps slapd in the foreground, so the PID we spawn is the PID we stop.
    const child = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', urls], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    try {
      await waitListening(port, child, 15000, () => stderr);
      await waitListening(tlsPort, child, 5000, () => stderr);
    } catch (err) {
      await stopChild(child, 5000);
      throw err;
    }
    return {
      dir,
      port,
      tlsPort,
      caFile,
      pid: child.pid!,
      add: async (entries) => {
        const file = path.join(dir, `add-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
        await writeFile(file, entries);
        const uri = `ldap://127.0.0.1:${port}`;
        await run('ldapadd', ['-x', '-H', uri, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD, '-f', file], {
          timeout: 10000,
        });
      },
      writeConf: async (name, keys) => {
        const file = path.join(dir, name);
        const text = Object.entries(keys).map(([k, v]) => `${k} ${v}\n`);
        await writeFile(file, `# tsftpd test configuration\n${text.join('')}`, { mode: 0o600 });
        return file;
      },
      stop: async () => {
        await stopChild(child, 5000);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** One LDIF entry for a person (posixAccount + PureFTPdUser) under `parent` (default PEOPLE_DN). */
export function personLdif(
  uid: string,
  attrs: Record<string, string | number | undefined>,
  parent = PEOPLE_DN,
): string {
  const lines = [
    `dn: uid=${uid},${parent}`,
    'objectClass: account',
    'objectClass: posixAccount',
    'objectClass: PureFTPdUser',
    `uid: ${uid}`,
    `cn: ${uid}`,
  ];
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) lines.push(`${k}: ${v}`);
  return lines.join('\n') + '\n';
}
