/**
 * Latency measurements of the users benchmark (issue #4): PureDbReader.lookup() in this process, and
 * logins of random accounts against a running server while another client downloads from it.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PureDbReader } from '../src/auth/pdb.js';
import { FtpControl } from './ftp-client.js';
import type { RunningServer } from './servers.js';
import { loginName } from './users-data.js';
import { latency, type Latency, type LoginRun } from './users-report.js';
import { downloadThroughput, type Endpoint } from './workloads.js';

const MIB = 1 << 20;
/** Unrecorded lookups / logins first: file cache, JIT, the server's first sessions. */
const WARM_LOOKUPS = 1000;
const WARM_LOGINS = 50;
/** Bounds of the login phase: wall time, and failures before giving up. */
const LOGIN_PHASE_MS = 120_000;
const MAX_LOGIN_ERRORS = 10;

/**
 * `count` lookups of random existing logins, one at a time, with the reader the server uses (a stat
 * and O(log n) positional reads each); checks the values, and that an unknown login is not found.
 * Resolves with the latencies in µs.
 */
export async function lookupLatency(
  pdb: string,
  accounts: number,
  count: number,
  rest: string,
): Promise<Latency> {
  const reader = new PureDbReader(pdb);
  try {
    const samples: number[] = [];
    for (let i = 0; i < WARM_LOOKUPS + count; i++) {
      const login = loginName(randomInt(accounts));
      const t0 = performance.now();
      const value = await reader.lookup(login);
      const us = (performance.now() - t0) * 1000;
      if (value === undefined) throw new Error(`lookup: ${login} not found in ${pdb}`);
      if (i < 100 && value.toString('latin1') !== rest) throw new Error(`lookup: wrong value for ${login}`);
      if (i >= WARM_LOOKUPS) samples.push(us);
    }
    if ((await reader.lookup('no-such-login')) !== undefined)
      throw new Error('lookup found an unknown login');
    return latency(samples);
  } finally {
    await reader.close();
  }
}

/** The background load: downloads of one file, in a loop, until `stop()` (bounded by `maxMs`). */
function downloadLoop(
  ep: Endpoint,
  file: string,
  size: number,
  maxMs: number,
): { stop(): Promise<LoginRun['background']> } {
  let stopping = false;
  let downloads = 0;
  let errors = 0;
  const t0 = performance.now();
  const done = (async (): Promise<void> => {
    while (!stopping && performance.now() - t0 < maxMs && errors < MAX_LOGIN_ERRORS) {
      try {
        await downloadThroughput(ep, file, size);
        downloads++;
      } catch {
        errors++;
        await sleep(100);
      }
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done;
      const seconds = (performance.now() - t0) / 1000;
      return { downloads, mibps: (downloads * size) / MIB / seconds, errors };
    },
  };
}

/** How the login phase runs. */
export interface LoginPlan {
  accounts: number;
  password: string;
  logins: number;
  /** The file the download loop fetches, as the server names it, and its size. */
  file: string;
  fileBytes: number;
  /** Login of the account the download loop uses. */
  loader: string;
}

/**
 * Logs in `plan.logins` times as random accounts (connect → 230; QUIT not timed), one client, one
 * login at a time, while another client downloads `plan.file` in a loop from the same server.
 */
export async function loginLatency(server: RunningServer, plan: LoginPlan): Promise<LoginRun> {
  const ep: Endpoint = { host: server.host, port: server.port, user: plan.loader, password: plan.password };
  const login = async (): Promise<number> => {
    const user = loginName(randomInt(plan.accounts));
    const t0 = performance.now();
    const ftp = await FtpControl.login(server.host, server.port, user, plan.password, 10_000);
    const ms = performance.now() - t0;
    await ftp.quit();
    return ms;
  };
  for (let i = 0; i < WARM_LOGINS; i++) await login();
  await server.loopReport(); // event-loop delay counts from here
  const load = downloadLoop(ep, plan.file, plan.fileBytes, LOGIN_PHASE_MS + 30_000);
  const samples: number[] = [];
  let errors = 0;
  let firstError = '';
  let failure: unknown;
  try {
    await sleep(300); // the first download is under way
    const t0 = performance.now();
    while (samples.length < plan.logins && performance.now() - t0 < LOGIN_PHASE_MS) {
      try {
        samples.push(await login());
      } catch (err) {
        firstError ||= err instanceof Error ? err.message : String(err);
        if (++errors >= MAX_LOGIN_ERRORS) throw new Error(`${errors} logins failed, first: ${firstError}`);
      }
    }
  } catch (err) {
    failure = err;
  }
  const background = await load.stop();
  if (failure !== undefined) throw failure;
  if (samples.length < plan.logins)
    throw new Error(`only ${samples.length} of ${plan.logins} logins in time`);
  if (background.downloads === 0) throw new Error('the download loop completed no download');
  const usage = await server.usage();
  const loop = await server.loopReport();
  return {
    latencyMs: latency(samples),
    background,
    serverRssMiB: usage.rssBytes / MIB,
    serverPssMiB: usage.pssBytes / MIB,
    processes: usage.processes,
    loginErrors: errors,
    ...(loop ? { loopP99Ms: loop.p99Ms, loopMaxMs: loop.maxMs } : {}),
  };
}
