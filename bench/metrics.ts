/**
 * What the benchmark reports: metric definitions with their targets (issue #12's, which replaced
 * those of #3 and #5: the process model), the result shapes written to JSON, and the arithmetic (median, min–max, ratio tsftpd / Pure-FTPd, target met).
 */
import type { ServerKind } from './servers.js';

/** Which direction is good. */
export type Better = 'higher' | 'lower';

/** A target from the issue: on the ratio tsftpd / Pure-FTPd, or on tsftpd's own value. */
export interface Target {
  kind: 'ratio' | 'absolute';
  op: '>=' | '<=';
  value: number;
  text: string;
}

/** A metric as the table and the JSON show it. */
export interface MetricDef {
  id: string;
  label: string;
  unit: string;
  better: Better;
  /** Measurement group: one server start runs every metric of a group. */
  group: string;
  target?: Target;
}

/** Median and range of the samples of one server. */
export interface Series {
  samples: number[];
  median: number;
  min: number;
  max: number;
}

/** One row of the results. */
export interface MetricResult extends MetricDef {
  values: Partial<Record<ServerKind, Series>>;
  /** Machine-level values that belong to no server (the loopback ceiling). */
  shared?: Series;
  /** Why a server has no value (not installed, capped for safety, failed: ...). */
  notRun: Partial<Record<ServerKind, string>>;
  /** tsftpd median / Pure-FTPd median. */
  ratio?: number;
  /** undefined when it cannot be judged (no Pure-FTPd, no value). */
  met?: boolean;
}

const ratioTarget = (op: '>=' | '<=', value: number, text: string): Target => ({
  kind: 'ratio',
  op,
  value,
  text,
});
const absTarget = (op: '>=' | '<=', value: number, text: string): Target => ({
  kind: 'absolute',
  op,
  value,
  text,
});

/** Metrics of the idle-session group for `n` sessions. */
export function sessionMetrics(n: number): MetricDef[] {
  const group = `sessions-${n}`;
  const label = n.toLocaleString('en-US');
  return [
    {
      id: `${group}-open`,
      label: `${label} sessions: time to open`,
      unit: 's',
      better: 'lower',
      group,
      target: n === 1000 ? ratioTarget('<=', 1 / 3, '≥ 3× faster') : undefined,
    },
    {
      id: `${group}-held`,
      label: `${label} sessions: held (NOOP ok)`,
      unit: 'sessions',
      better: 'higher',
      group,
      target: absTarget('>=', n, `all ${label}`),
    },
    {
      id: `${group}-rss`,
      label: `${label} sessions: RSS, all processes`,
      unit: 'MiB',
      better: 'lower',
      group,
      target: n === 10000 ? absTarget('<=', 1024, '≤ 1 GiB') : undefined,
    },
    {
      id: `${group}-pss`,
      label: `${label} sessions: PSS, all processes`,
      unit: 'MiB',
      better: 'lower',
      group,
    },
  ];
}

/** Every metric for the given idle-session counts, in table order. */
export function metricDefs(sessionCounts: number[]): MetricDef[] {
  return [
    {
      id: 'loopback-node',
      label: 'loopback ceiling (Node push)',
      unit: 'MiB/s',
      better: 'higher',
      group: 'loopback',
    },
    {
      id: 'loopback-socat',
      label: 'loopback ceiling (socat)',
      unit: 'MiB/s',
      better: 'higher',
      group: 'loopback',
    },
    {
      id: 'download',
      label: 'download, big file',
      unit: 'MiB/s',
      better: 'higher',
      group: 'download',
      target: ratioTarget('>=', 1, '≥ 1.0×'),
    },
    {
      id: 'download-tls',
      label: 'download, big file, TLS',
      unit: 'MiB/s',
      better: 'higher',
      group: 'tls',
      target: ratioTarget('>=', 1, '≥ 1.0×'),
    },
    {
      id: 'upload',
      label: 'upload, big file',
      unit: 'MiB/s',
      better: 'higher',
      group: 'upload',
      target: ratioTarget('>=', 1, '≥ 1.0×'),
    },
    {
      id: 'upload-tls',
      label: 'upload, big file, TLS',
      unit: 'MiB/s',
      better: 'higher',
      group: 'tls',
      target: ratioTarget('>=', 1, '≥ 1.0×'),
    },
    {
      id: 'small-1',
      label: 'small files, 1 session',
      unit: 'files/s',
      better: 'higher',
      group: 'small-1',
      target: ratioTarget('>=', 1, '≥ 1.0×'),
    },
    {
      id: 'small-16',
      label: 'small files, 16 sessions',
      unit: 'files/s',
      better: 'higher',
      group: 'small-16',
      target: ratioTarget('>=', 1, '≥ 1.0×'),
    },
    {
      id: 'login',
      label: 'login rate, 16 clients',
      unit: 'logins/s',
      better: 'higher',
      group: 'login',
    },
    {
      // Machine-level: CPUs × 1 / the time of one `$6$` check (bench/hash-ceiling.ts).
      id: 'login-ceiling',
      label: 'login hashing ceiling',
      unit: 'logins/s',
      better: 'higher',
      group: 'login',
    },
    {
      id: 'login-share',
      label: 'login rate, share of the hashing ceiling',
      unit: '%',
      better: 'higher',
      group: 'login',
      target: absTarget('>=', 80, '≥ 80%'),
    },
    {
      id: 'list',
      label: 'LIST, wide directory',
      unit: 'ms',
      better: 'lower',
      group: 'list',
      target: ratioTarget('<=', 1, '≤ 1.0×'),
    },
    {
      id: 'mlsd',
      label: 'MLSD, wide directory',
      unit: 'ms',
      better: 'lower',
      group: 'list',
      target: ratioTarget('<=', 1, '≤ 1.0×'),
    },
    ...sessionCounts.flatMap(sessionMetrics),
    {
      id: 'loop-p99',
      label: 'event-loop delay p99 (worst group, worst process)',
      unit: 'ms',
      better: 'lower',
      group: 'loop',
      target: absTarget('<=', 20, '< 20 ms'),
    },
    {
      id: 'loop-max',
      label: 'event-loop delay max (all groups)',
      unit: 'ms',
      better: 'lower',
      group: 'loop',
      target: absTarget('<=', 50, '≤ 50 ms'),
    },
  ];
}

/** Median, min and max of a non-empty sample list. */
export function series(samples: number[]): Series {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { samples, median, min: sorted[0], max: sorted[sorted.length - 1] };
}

function compare(op: '>=' | '<=', a: number, b: number): boolean {
  return op === '>=' ? a >= b : a <= b;
}

/** Fills ratio and met from the values. */
export function judge(m: MetricResult): MetricResult {
  const ts = m.values.tsftpd?.median;
  const pure = m.values.pureftpd?.median;
  const ratio = ts !== undefined && pure !== undefined && pure !== 0 ? ts / pure : undefined;
  let met: boolean | undefined;
  if (m.target?.kind === 'ratio' && ratio !== undefined) met = compare(m.target.op, ratio, m.target.value);
  if (m.target?.kind === 'absolute' && ts !== undefined) met = compare(m.target.op, ts, m.target.value);
  return { ...m, ratio, met };
}
