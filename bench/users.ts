/**
 * `npm run bench -- users` (issue #4): a pureftpd.passwd of 1.5 million accounts indexed by
 * `tsftpd pw mkdb` and by the real `pure-pw mkdb` (time, peak memory, identical output), then the
 * lookup latency of PureDbReader in this process and the login latency of both servers reading that
 * .pdb while another client downloads from them. Big files live in a /tmp directory removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACKAGE_ROOT } from './bench.js';
import { run } from './exec.js';
import { describeMachine } from './machine.js';
import { fileLimit, memAvailable } from './proc.js';
import { writeReport } from './report.js';
import { textTable, toJson, type BenchResult } from './results.js';
import { log } from './rounds.js';
import { waitForQuiet } from './safety.js';
import { PURE_PW, pureFtpdInstalled, startServer, type ServerEnv, type ServerKind } from './servers.js';
import { COMPILED_SRC, snapshotServer } from './snapshot.js';
import { accountRest, loginName, mkdb, sameBytes, writePasswdFile } from './users-data.js';
import { loginLatency, lookupLatency } from './users-latency.js';
import { USERS_HEADER, usersNotes, usersRows, type UsersResult } from './users-report.js';

/** Usage text of the users mode. */
export const USERS_USAGE = `usage: npm run bench -- users [options]
  --accounts N     accounts in the passwd file (default 1500000)
  --logins N       timed logins per server (default 2000)
  --lookups N      in-process PureDbReader lookups (default 100000)
  --tsftpd-only    neither pure-pw mkdb nor Pure-FTPd
  --smoke          seconds-long sanity run (2,000 accounts, tsftpd only, writes no results)
  --json FILE      also write the JSON results to FILE
`;

interface UsersOptions {
  smoke: boolean;
  accounts: number;
  logins: number;
  lookups: number;
  tsftpdOnly: boolean;
  json: string | undefined;
}

const MIB = 1 << 20;
const GIB = 1 << 30;
/** Each mkdb gets this long (pure-pw needs a few seconds for 1.5 M accounts). */
const MKDB_TIMEOUT_MS = 180_000;

function parseUsersArgs(argv: string[]): UsersOptions | 'help' {
  const o: UsersOptions = {
    smoke: false,
    accounts: 1_500_000,
    logins: 2000,
    lookups: 100_000,
    tsftpdOnly: false,
    json: undefined,
  };
  const int = (a: string, v: string | undefined, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${a} needs a whole number 1..${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--accounts') o.accounts = int(a, argv[++i], 9_999_999);
    else if (a === '--logins') o.logins = int(a, argv[++i], 100_000);
    else if (a === '--lookups') o.lookups = int(a, argv[++i], 10_000_000);
    else if (a === '--tsftpd-only') o.tsftpdOnly = true;
    else if (a === '--json') o.json = argv[++i];
    else if (a === '--smoke')
      Object.assign(o, { smoke: true, accounts: 2000, logins: 40, lookups: 2000, tsftpdOnly: true });
    else if (a === '-h' || a === '--help') return 'help';
    else throw new Error(`unknown option ${a}\n${USERS_USAGE}`);
  }
  return o;
}

/** Writes a file of `bytes` random-looking bytes (a random MiB repeated). */
async function writeDataFile(file: string, bytes: number): Promise<void> {
  const block = randomBytes(MIB);
  const fh = await open(file, 'w', 0o644);
  try {
    for (let at = 0; at < bytes; at += MIB) await fh.write(block, 0, Math.min(MIB, bytes - at), at);
  } finally {
    await fh.close();
  }
}

/** Refuses to start without the memory and /tmp space the run needs. */
async function checkResources(workRoot: string, accounts: number): Promise<void> {
  const avail = await memAvailable();
  if (avail < 2 * GIB)
    throw new Error(`only ${(avail / GIB).toFixed(1)} GiB of memory available (need 2 GiB)`);
  const fs = await statfs(workRoot);
  const need = accounts * 450 + 512 * MIB; // passwd ~100 B and two .pdb ~120 B per account, a margin
  if (fs.bavail * fs.bsize < need)
    throw new Error(`${workRoot}: ${(need / GIB).toFixed(1)} GiB free space needed`);
}

async function measure(o: UsersOptions, workDir: string, result: UsersResult, nofile: number): Promise<void> {
  const pure = !o.tsftpdOnly && (await pureFtpdInstalled());
  if (!pure)
    result.notRun.pureftpd = o.tsftpdOnly
      ? 'disabled (--tsftpd-only / --smoke)'
      : 'Pure-FTPd / pure-pw not installed';
  const isRoot = process.getuid?.() === 0;
  const uid = isRoot ? 65534 : (process.getuid?.() ?? 0);
  const gid = isRoot ? 65534 : (process.getgid?.() ?? 0);
  const root = path.join(workDir, 'root');
  await mkdir(root, { mode: 0o755 });
  const fileBytes = o.smoke ? 4 * MIB : 128 * MIB;
  await writeDataFile(path.join(root, 'big.bin'), fileBytes);
  const password = randomBytes(9).toString('base64url');
  const salt = randomBytes(6).toString('base64url');
  const hash = (await run('openssl', ['passwd', '-1', '-salt', salt, password])).stdout.trim();
  if (!hash.startsWith('$1$')) throw new Error('openssl passwd -1 did not return an MD5-crypt hash');
  result.hash =
    '`$1$` MD5-crypt from `openssl passwd -1`, one hash reused for every line (hashing 1.5 M passwords would take far longer than the run)';
  const rest = accountRest(hash, uid, gid, root);

  const passwd = path.join(workDir, 'pureftpd.passwd');
  log(`writing ${o.accounts.toLocaleString('en-US')} accounts to ${passwd}`);
  const t0 = performance.now();
  result.passwdBytes = await writePasswdFile(passwd, o.accounts, rest);
  result.generateSeconds = (performance.now() - t0) / 1000;
  const mkdbOpts = { nofile, workDir, timeoutMs: MKDB_TIMEOUT_MS };
  const pdbTs = path.join(workDir, 'out.pdb');
  const pdbPure = path.join(workDir, 'out2.pdb');
  if (!o.smoke) await waitForQuiet(log);
  const main = path.join(COMPILED_SRC, 'main.js');
  result.mkdb.tsftpd = await mkdb(
    process.execPath,
    [main, 'pw', 'mkdb', pdbTs, '-f', passwd],
    pdbTs,
    mkdbOpts,
  );
  log(
    `tsftpd pw mkdb: ${result.mkdb.tsftpd.seconds.toFixed(2)} s, ${result.mkdb.tsftpd.peakRssMiB?.toFixed(0)} MiB peak`,
  );
  if (pure) {
    if (!o.smoke) await waitForQuiet(log);
    result.mkdb.pureftpd = await mkdb(PURE_PW, ['mkdb', pdbPure, '-f', passwd], pdbPure, mkdbOpts);
    log(
      `pure-pw mkdb: ${result.mkdb.pureftpd.seconds.toFixed(2)} s, ${result.mkdb.pureftpd.peakRssMiB?.toFixed(0)} MiB peak`,
    );
    result.identical = await sameBytes(pdbTs, pdbPure);
    log(`.pdb files ${result.identical ? 'identical' : 'DIFFER'}`);
  }
  await rm(passwd, { force: true }); // the servers read only the .pdb files

  if (!o.smoke) await waitForQuiet(log);
  result.lookupUs = await lookupLatency(pdbTs, o.accounts, o.lookups, rest);
  log(`lookup p50 ${result.lookupUs.p50.toFixed(1)} µs, p99 ${result.lookupUs.p99.toFixed(1)} µs`);

  const servers: ServerKind[] = pure ? ['tsftpd', 'pureftpd'] : ['tsftpd'];
  for (const kind of servers) {
    const pdb = kind === 'tsftpd' ? pdbTs : pdbPure;
    const env: ServerEnv = {
      workDir,
      account: { user: loginName(0), password, uid, gid, home: root },
      passwdFile: passwd,
      pdbFile: pdb,
      nofile,
      listMax: 1000,
      tsftpdMain: main,
    };
    if (!o.smoke) await waitForQuiet(log);
    try {
      const server = await startServer(kind, env, { auth: ['-l', `puredb:${pdb}`] });
      try {
        const plan = {
          accounts: o.accounts,
          password,
          logins: o.logins,
          file: '/big.bin',
          fileBytes,
          loader: loginName(0),
        };
        const r = await loginLatency(server, plan);
        result.login[kind] = r;
        log(`${kind} logins: p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms`);
      } finally {
        await server.stop();
      }
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      log(`${kind} logins: FAILED: ${msg}`);
      result.notRun[kind] = `failed: ${msg.slice(0, 200)}`;
    }
  }
}

function printUsers(u: UsersResult): void {
  const lines = [
    '',
    `users database - ${u.accounts.toLocaleString('en-US')} accounts, ${u.durationSeconds} s`,
    '',
  ];
  lines.push(textTable(USERS_HEADER, usersRows(u)));
  const notes = usersNotes(u);
  if (notes.length > 0) lines.push('', 'notes:', ...notes.map((n) => `  - ${n}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Runs the users benchmark; resolves with the exit status. */
export async function runUsers(argv: string[]): Promise<number> {
  const o = parseUsersArgs(argv);
  if (o === 'help') {
    process.stdout.write(USERS_USAGE);
    return 0;
  }
  const started = Date.now();
  const workRoot = os.tmpdir();
  await checkResources(workRoot, o.accounts);
  const limit = await fileLimit();
  const snapshot = await snapshotServer(PACKAGE_ROOT, false);
  const result: UsersResult = {
    version: 1,
    date: new Date().toISOString(),
    command: `npm run bench -- users${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`,
    mode: o.smoke ? 'smoke' : 'full',
    durationSeconds: 0,
    machine: await describeMachine(limit.soft),
    build: snapshot.build,
    accounts: o.accounts,
    passwdBytes: 0,
    generateSeconds: 0,
    hash: '',
    mkdb: {},
    identical: undefined,
    lookupUs: { count: 0, p50: 0, p99: 0, max: 0, mean: 0 },
    login: {},
    notRun: {},
    notes: [],
  };
  const workDir = await mkdtemp(path.join(workRoot, 'tsftpd-users-'));
  // Hundreds of MB: removed however the run ends (an interrupt exits through process.exit).
  const cleanup = (): void => rmSync(workDir, { recursive: true, force: true });
  process.on('exit', cleanup);
  try {
    await chmod(workDir, 0o755); // Pure-FTPd's session process (uid 65534) walks into root/
    await measure(o, workDir, result, limit.soft);
  } finally {
    await rm(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    process.off('exit', cleanup);
  }
  result.durationSeconds = Math.round((Date.now() - started) / 1000);
  printUsers(result);
  const json = `${toJson(result)}\n`;
  if (o.json !== undefined) await writeFile(o.json, json);
  if (!o.smoke) {
    const dir = path.join(PACKAGE_ROOT, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'users.json'), json);
    process.stdout.write('\nJSON: bench/results/users.json\n');
    const latest = await readFile(path.join(dir, 'latest.json'), 'utf8').catch(() => undefined);
    if (latest !== undefined) {
      const written = await writeReport(JSON.parse(latest) as BenchResult, PACKAGE_ROOT);
      process.stdout.write(`report: ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
    }
  }
  const failed = Object.values(result.notRun).some((r) => r.startsWith('failed'));
  return failed ? 1 : 0;
}
