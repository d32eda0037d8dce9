/**
 * The benchmark run: snapshots the tsftpd build, prepares the data and the account, runs each group
 * (rounds.ts: servers alternate, one at a time, fresh per round) and assembles the results.
 */
import { mkdtemp, chmod, chown, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './args.js';
import { DEFAULT_CACHE, prepareData } from './fixtures.js';
import { nodeCeiling, socatCeiling, socatInstalled } from './loopback.js';
import { describeMachine } from './machine.js';
import { judge, metricDefs, series, type MetricResult } from './metrics.js';
import type { BenchResult, LoopEntry } from './results.js';
import { log, runGroup, Samples, type GroupEnv } from './rounds.js';
import { waitForQuiet, type Limits } from './safety.js';
import {
  makeTlsBundle,
  pureFtpdInstalled,
  writeAccounts,
  type ServerEnv,
  type ServerKind,
} from './servers.js';
import { snapshotServer } from './snapshot.js';
import { hashCeiling } from './hash-ceiling.js';

/** Where the package lives (this file runs from .build/bench/). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** uid and gid of a user named in /etc/passwd. */
async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const text = await readFile('/etc/passwd', 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`--tsftpd-user: no user ${name} in /etc/passwd`);
}

function selectedGroups(opts: BenchOptions): string[] {
  const sessions = opts.sessionCounts.map((n) => `sessions-${n}`);
  const all = ['loopback', 'download', 'upload', 'tls', 'small-1', 'small-16', 'login', 'list', ...sessions];
  if (!opts.only) return all;
  return all.filter((g) => opts.only!.includes(g.startsWith('sessions-') ? 'sessions' : g));
}

async function runLoopback(file: string, size: number, opts: BenchOptions, s: Samples): Promise<void> {
  const runs = opts.runs;
  const socat = await socatInstalled();
  await nodeCeiling(file, size); // warm-up: page cache and JIT, not recorded
  for (let r = 0; r < runs; r++) {
    if (opts.mode !== 'smoke') await waitForQuiet(log);
    const node = await nodeCeiling(file, size);
    s.shared.set('loopback-node', [...(s.shared.get('loopback-node') ?? []), node]);
    let line = `loopback run ${r + 1}/${runs}: node ${node.toFixed(0)} MiB/s`;
    if (socat) {
      const v = await socatCeiling(file, size);
      s.shared.set('loopback-socat', [...(s.shared.get('loopback-socat') ?? []), v]);
      line += `, socat ${v.toFixed(0)} MiB/s`;
    }
    log(line);
  }
}

function buildMetrics(opts: BenchOptions, s: Samples, loop: LoopEntry[]): MetricResult[] {
  if (loop.length > 0) {
    s.add('loop-p99', 'tsftpd', Math.max(...loop.map((l) => l.p99Ms)));
    s.add('loop-max', 'tsftpd', Math.max(...loop.map((l) => l.maxMs)));
  }
  const ceiling = s.shared.get('login-ceiling')?.[0];
  for (const rate of s.values.get('login')?.tsftpd ?? []) {
    if (ceiling !== undefined) s.add('login-share', 'tsftpd', (rate / ceiling) * 100);
  }
  return metricDefs(opts.sessionCounts).map((def) => {
    const v = s.values.get(def.id) ?? {};
    const shared = s.shared.get(def.id);
    return judge({
      ...def,
      values: {
        ...(v.tsftpd ? { tsftpd: series(v.tsftpd) } : {}),
        ...(v.pureftpd ? { pureftpd: series(v.pureftpd) } : {}),
      },
      notRun: s.notRun.get(def.id) ?? {},
      ...(shared ? { shared: series(shared) } : {}),
    });
  });
}

/** Runs the benchmark; resolves with the results. */
export async function runBenchmark(opts: BenchOptions, argv: string[], limits: Limits): Promise<BenchResult> {
  const started = Date.now();
  const loadStart = os.loadavg();
  const pure = !opts.tsftpdOnly && (await pureFtpdInstalled());
  if (!opts.tsftpdOnly && !pure) {
    log('Pure-FTPd is not installed: benchmarking tsftpd alone. To compare: sudo apt-get install pure-ftpd');
  }
  const servers: ServerKind[] = pure ? ['tsftpd', 'pureftpd'] : ['tsftpd'];
  const machine = await describeMachine(limits.clientFiles);
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'tsftpd-bench-'));
  await chmod(workDir, 0o755);
  const isRoot = process.getuid?.() === 0;
  const asUser = opts.tsftpdUser === undefined ? undefined : await userIds(opts.tsftpdUser);
  if (asUser !== undefined && !isRoot) throw new Error('--tsftpd-user needs the benchmark to run as root');
  const owner =
    asUser ??
    (isRoot ? { uid: 65534, gid: 65534 } : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  const cacheDir = opts.mode === 'smoke' ? path.join(workDir, 'data') : DEFAULT_CACHE;
  let failed = false;
  const snapshot = await snapshotServer(PACKAGE_ROOT, opts.mode !== 'smoke');
  try {
    const data = await prepareData(cacheDir, opts.sizes, owner, log);
    const password = randomBytes(9).toString('base64url');
    const account = { user: 'bench', password, ...owner, home: data.root };
    const files = await writeAccounts(workDir, account, pure);
    const env: ServerEnv = {
      workDir,
      account,
      ...files,
      nofile: limits.serverFiles,
      listMax: opts.sizes.listEntries + 1000,
      tsftpdMain: snapshot.main,
      tlsBundle: selectedGroups(opts).includes('tls') ? await makeTlsBundle(workDir) : undefined,
      tsftpdIds: asUser,
      state: opts.state,
    };
    if (asUser !== undefined) {
      // tsftpd as that user reads its account file, certificate and writes its loop reports here.
      for (const f of [workDir, env.passwdFile, env.tlsBundle]) {
        if (f !== undefined) await chown(f, asUser.uid, asUser.gid);
      }
    }
    const bigReal = path.join(data.root, data.bigFile);
    const uploadBlock = (await readFile(bigReal)).subarray(0, Math.min(1 << 20, opts.sizes.fileBytes));
    const notes: string[] = [];
    const g: GroupEnv = {
      env,
      base: { opts, data, uploadBlock, notes },
      samples: new Samples(),
      limits,
      profileRoot: opts.profile ? path.join(PACKAGE_ROOT, 'bench', 'profiles') : undefined,
      loop: [],
      cpu: [],
    };
    const defs = metricDefs(opts.sessionCounts);
    for (const group of selectedGroups(opts)) {
      if (group === 'loopback') {
        await runLoopback(bigReal, opts.sizes.fileBytes, opts, g.samples).catch((err: Error) => {
          notes.push(`loopback: ${err.message}`);
        });
        continue;
      }
      if (group === 'login') {
        // The ceiling the login rate is judged against, measured on the idle machine.
        const hash = (await readFile(env.passwdFile, 'utf8')).split(':')[1] ?? '';
        await hashCeiling(account.password, hash, opts.mode === 'smoke' ? 20 : 300).then(
          (c) => {
            g.samples.shared.set('login-ceiling', [c.perSecond]);
            log(
              `hashing ceiling: ${c.cpus} CPUs × 1 / ${c.msPerCheck.toFixed(2)} ms per $6$ check = ${c.perSecond.toFixed(0)} logins/s`,
            );
          },
          (err: Error) => notes.push(`hashing ceiling: ${err.message}`),
        );
      }
      const ids = defs
        .filter((d) => d.group === group && d.id !== 'login-ceiling' && d.id !== 'login-share')
        .map((d) => d.id);
      if (await runGroup(group, servers, ids, opts.runs, g)) failed = true;
    }
    return {
      version: 1,
      date: new Date().toISOString(),
      command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      mode: opts.mode,
      runs: opts.runs,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      machine,
      build: snapshot.build,
      loadAverage: { start: loadStart, end: os.loadavg() },
      sizes: { ...opts.sizes, logins: opts.logins },
      metrics: buildMetrics(opts, g.samples, g.loop),
      loop: g.loop,
      cpu: g.cpu,
      notes,
      tsftpdStartedAs: opts.tsftpdUser ?? (isRoot ? 'root' : os.userInfo().username),
    };
  } finally {
    await snapshot.dispose();
    if (failed) log(`server logs kept in ${workDir}`);
    else {
      await rm(workDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }).catch(
        (err: Error) => {
          log(`could not remove ${workDir}: ${err.message}`);
        },
      );
    }
  }
}
