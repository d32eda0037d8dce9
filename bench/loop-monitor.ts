/**
 * Preloaded into the tsftpd process by the benchmark (`node --import`), so the server itself stays
 * untouched: measures event-loop delay with perf_hooks.monitorEventLoopDelay and, on SIGUSR2 (and at
 * exit), writes p99/max of the period since the previous report to $TSFTPD_BENCH_LOOP_FILE, then
 * starts a new period. The histogram counts the timer interval itself, so the resolution is
 * subtracted: what remains is the stall beyond the timer. A session worker (a child with an IPC
 * channel: tsftpd's workers inherit the preload) writes its own file, `$TSFTPD_BENCH_LOOP_FILE.<pid>`.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The report written on each SIGUSR2. */
export interface LoopReport {
  /** Increases by one per report, so the reader knows a fresh one has arrived. */
  seq: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

/** Timer resolution of the histogram, in milliseconds. */
export const LOOP_RESOLUTION_MS = 5;

const base = process.env['TSFTPD_BENCH_LOOP_FILE'];
const file =
  base === undefined || base === '' || process.send === undefined ? base : `${base}.${process.pid}`;

if (file !== undefined && file !== '') {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  let seq = 0;
  const stall = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  const report = (): void => {
    seq++;
    const r: LoopReport = {
      seq,
      p50Ms: stall(histogram.percentile(50)),
      p99Ms: stall(histogram.percentile(99)),
      maxMs: stall(histogram.max),
      samples: histogram.count,
    };
    histogram.reset();
    // Synchronous on purpose: the report must land even from the exit handler; it is a few bytes.
    // Written aside then renamed, so the benchmark never reads half a report.
    writeFileSync(`${file}.tmp`, JSON.stringify(r));
    renameSync(`${file}.tmp`, file);
  };
  process.on('SIGUSR2', report);
  process.on('exit', report);
}
