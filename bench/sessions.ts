/**
 * Idle sessions: open N logged-in control connections with bounded concurrency, hold them, check
 * that every one still answers NOOP, and measure the server's memory while they are all open.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { FtpControl } from './ftp-client.js';
import type { TreeUsage } from './proc.js';
import { pool, type Endpoint } from './workloads.js';

/** Outcome of one idle-session round. */
export interface IdleResult {
  requested: number;
  opened: number;
  /** Sessions that answered NOOP with 200 after all were open. */
  held: number;
  /** Wall time to open (connect + log in) all of them. */
  openSeconds: number;
  usage: TreeUsage;
  firstError: string | undefined;
}

/** Concurrent connection attempts while opening (the listen backlog of both servers is larger). */
const OPEN_CONCURRENCY = 64;

/** Opens, holds, checks and closes `count` idle sessions. */
export async function idleSessions(
  ep: Endpoint,
  count: number,
  usage: () => Promise<TreeUsage>,
  deadlineMs = 300_000,
): Promise<IdleResult> {
  const ctrls: FtpControl[] = [];
  try {
    const t0 = performance.now();
    const opened = await pool(count, OPEN_CONCURRENCY, deadlineMs, async () => {
      ctrls.push(await FtpControl.login(ep.host, ep.port, ep.user, ep.password, 60_000));
    });
    const openSeconds = (performance.now() - t0) / 1000;
    await sleep(1000); // let the server settle: forked children finish starting, GC runs
    let held = 0;
    const noop = await pool(ctrls.length, 256, deadlineMs, async (i) => {
      await ctrls[i].expect('NOOP', 200, 30_000);
      held++;
    });
    const u = await usage();
    return {
      requested: count,
      opened: ctrls.length,
      held,
      openSeconds,
      usage: u,
      firstError: opened.firstError ?? noop.firstError,
    };
  } finally {
    for (const c of ctrls) c.destroy();
    await sleep(200);
  }
}
