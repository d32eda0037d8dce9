/**
 * The cost of new password hashes, chosen as pure-pw chooses it (upstream §3.3): Argon2id with memory =
 * `-M` MB (default 64) shared by `-C` concurrent logins (default 8), and a time cost calibrated on
 * this machine: 1, 3, 7, 15, ... (pure-pw's observed values, 2^k - 1) until one hash takes at least
 * the target time (1 s, divided by C/8 when C > 8, never under 250 ms). The hash made by the last
 * calibration step is the one stored: it already has the chosen cost, so no second hash is needed.
 * Hashing runs off the event loop (hashPassword).
 */
import { performance } from 'node:perf_hooks';

/** pure-pw's default memory for password hashing (`-M`), in MB. */
export const DEFAULT_MEMORY_MB = 64;
/** pure-pw's default number of concurrent logins (`-C`): 8 MiB per hash. */
export const DEFAULT_CONCURRENT_LOGINS = 8;
/** libsodium's smallest Argon2 memory (crypto_pwhash_MEMLIMIT_MIN = 8192 bytes). */
export const MIN_MEMORY_KIB = 8;
/** The largest memory hashPassword accepts for one hash. */
export const MAX_MEMORY_KIB = 4 * 1024 * 1024;
const MAX_TIME_COST = 0xffffffff;

/**
 * Test hook, documented in docs/virtual-users.md: `TSFTPD_PW_ARGON2=<KiB>,<t>` fixes the Argon2id
 * cost and skips the calibration (which takes about a second per new password).
 */
export const COST_ENV = 'TSFTPD_PW_ARGON2';

/** Memory of one hash in KiB: the total divided among the concurrent logins. */
export function memoryPerLoginKiB(totalMB: number, concurrent: number): number {
  return Math.floor((totalMB * 1024) / concurrent);
}

/** How long one hash should take, in ms: shorter when more logins may hash at the same time. */
export function calibrationTargetMs(concurrent: number): number {
  if (concurrent <= DEFAULT_CONCURRENT_LOGINS) return 1000;
  return Math.max(250, Math.floor((1000 * DEFAULT_CONCURRENT_LOGINS) / concurrent));
}

/** Parses `TSFTPD_PW_ARGON2`; undefined when unset, an Error when malformed. */
export function costFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): { memoryKiB: number; timeCost: number } | Error | undefined {
  const raw = env[COST_ENV];
  if (raw === undefined || raw === '') return undefined;
  const m = /^(\d{1,10}),(\d{1,10})$/.exec(raw.trim());
  const memoryKiB = m === null ? NaN : Number(m[1]);
  const timeCost = m === null ? NaN : Number(m[2]);
  if (!(
    memoryKiB >= MIN_MEMORY_KIB &&
    memoryKiB <= MAX_MEMORY_KIB &&
    timeCost >= 1 &&
    timeCost <= MAX_TIME_COST
  )) {
    return new Error(
      `${COST_ENV} must be "<memory KiB>,<time cost>" (memory ${MIN_MEMORY_KIB}..${MAX_MEMORY_KIB})`,
    );
  }
  return { memoryKiB, timeCost };
}

/** Hashes `password` with the cost pure-pw would pick for `-M totalMB -C concurrent`. */
export async function hashNewPassword(
  password: string,
  opts: { totalMB: number; concurrent: number; env?: NodeJS.ProcessEnv },
): Promise<string> {
  const fixed = costFromEnv(opts.env);
  if (fixed instanceof Error) throw fixed;
  // Loaded on demand: only useradd/passwd hash, and the addons are the slowest part of start-up.
  const { hashPassword } = await import('../../auth/hashes/index.js');
  if (fixed !== undefined) return hashPassword(password, fixed);
  const memoryKiB = memoryPerLoginKiB(opts.totalMB, opts.concurrent);
  const target = calibrationTargetMs(opts.concurrent);
  for (let timeCost = 1; ; timeCost = timeCost * 2 + 1) {
    const started = performance.now();
    const hash = await hashPassword(password, { memoryKiB, timeCost });
    if (performance.now() - started >= target || timeCost * 2 + 1 > MAX_TIME_COST) return hash;
  }
}
