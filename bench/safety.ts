/**
 * Guards that keep the benchmark from hurting the machine: before each group, enough free memory,
 * enough file descriptors and (for Pure-FTPd, which forks per session) enough process slots. A group
 * that does not fit is reported as "not run" with the reason instead of being attempted.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IdleResult } from './sessions.js';
import { allProcesses, memAvailable, processCeiling } from './proc.js';
import type { ServerKind } from './servers.js';

const MIB = 1 << 20;
const GIB = 1 << 30;

/** Limits known at start-up. */
export interface Limits {
  /** Descriptors the benchmark client may open. */
  clientFiles: number;
  /** Descriptors each server gets. */
  serverFiles: number;
  /** Allow Pure-FTPd above 1,000 sessions when the estimate fits. */
  pureBigSessions: boolean;
}

/** Memory per session assumed before anything was measured (Pure-FTPd: two processes of a few MB). */
const DEFAULT_BYTES_PER_SESSION: Record<ServerKind, number> = { tsftpd: 256 * 1024, pureftpd: 8 * MIB };
const DEFAULT_PROCS_PER_SESSION: Record<ServerKind, number> = { tsftpd: 0, pureftpd: 2 };

/**
 * Why a group must not run now, or undefined when it may. `measured` holds earlier idle-session
 * rounds of the same server (smaller counts) to estimate the cost of a bigger one.
 */
export async function skipReason(
  group: string,
  kind: ServerKind,
  limits: Limits,
  measured: IdleResult | undefined,
): Promise<string | undefined> {
  const avail = await memAvailable();
  if (avail < 2 * GIB) return `only ${(avail / GIB).toFixed(1)} GiB of memory available (need 2 GiB)`;
  const m = /^sessions-(\d+)$/.exec(group);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n + 512 > limits.clientFiles) {
    return `client file-descriptor limit ${limits.clientFiles} is too low for ${n} sessions (raise ulimit -Hn)`;
  }
  if (n + 512 > limits.serverFiles) {
    return `server file-descriptor limit ${limits.serverFiles} is too low for ${n} sessions (raise ulimit -Hn)`;
  }
  if (kind === 'pureftpd' && n > 1000 && !limits.pureBigSessions) return 'disabled with --no-pure-10k';
  if (kind === 'pureftpd' && n > 1000 && measured === undefined) {
    return 'Pure-FTPd forks per session: its 1,000-session round must run first to estimate the cost';
  }
  const perSession = measured
    ? Math.max(measured.usage.pssBytes / measured.opened, 1)
    : DEFAULT_BYTES_PER_SESSION[kind];
  const procsPerSession = measured
    ? measured.usage.processes / measured.opened
    : DEFAULT_PROCS_PER_SESSION[kind];
  // Client-side memory (about 10 KiB per socket) and a margin come on top of the server's share.
  const need = n * (perSession * 1.5 + 16 * 1024) + 512 * MIB;
  if (need > avail * 0.6) {
    return `estimated ${(need / GIB).toFixed(1)} GiB needed (${(perSession / 1024).toFixed(0)} KiB per session) > 60% of the ${(avail / GIB).toFixed(1)} GiB available`;
  }
  const procs = Math.ceil(n * procsPerSession);
  if (procs > 0) {
    const ceiling = await processCeiling();
    const now = (await allProcesses()).length;
    if (now + procs > ceiling * 0.8) {
      return `needs ~${procs} processes, ${now} exist and the kernel allows ${ceiling}: over 80% of the limit`;
    }
  }
  if (measured && kind === 'pureftpd') {
    const seconds = (measured.openSeconds / measured.opened) * n * 2; // forking slows as processes pile up
    if (seconds > 240)
      return `estimated ${seconds.toFixed(0)} s to open ${n} sessions (over the 4-minute bound)`;
  }
  return undefined;
}

async function cpuTimes(): Promise<{ idle: number; total: number }> {
  const text = await readFile('/proc/stat', 'latin1');
  const f = (text.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  return { idle: (f[3] ?? 0) + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

let quietBudgetMs = 240_000;

/**
 * Waits (a bounded while) until the machine is mostly idle before a round starts, because other work
 * on a shared machine skews the servers unequally. Resolves with the busy share last seen (0..1).
 */
export async function waitForQuiet(log: (line: string) => void, maxMs = 20_000): Promise<number> {
  const start = Date.now();
  const limit = Math.min(maxMs, quietBudgetMs);
  let busy = 1;
  for (let i = 0; i < 60; i++) {
    const a = await cpuTimes();
    await sleep(500);
    const b = await cpuTimes();
    busy = 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
    if (busy < 0.5 || Date.now() - start >= limit) break;
    if (i === 0)
      log(`machine ${(busy * 100).toFixed(0)}% busy with other work: waiting up to ${limit / 1000} s`);
  }
  quietBudgetMs = Math.max(0, quietBudgetMs - (Date.now() - start - 500));
  return busy;
}
