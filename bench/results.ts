/** The JSON results file: its shape, and the table built from it (console text and Markdown). */
import type { Machine } from './machine.js';
import type { MetricResult } from './metrics.js';
import type { BuildInfo } from './snapshot.js';

/** Event-loop delay of tsftpd during one group. */
export interface LoopEntry {
  group: string;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The benchmark client's own delay over the same period (what the machine alone causes). */
  clientP99Ms: number;
  clientMaxMs: number;
}

/** CPU seconds a server spent during one group (all runs). */
export interface CpuEntry {
  group: string;
  server: string;
  seconds: number;
}

/** Everything one benchmark run produced. */
export interface BenchResult {
  version: 1;
  date: string;
  command: string;
  mode: string;
  runs: number;
  durationSeconds: number;
  machine: Machine;
  /** The tsftpd build measured. */
  build: BuildInfo;
  /** 1, 5 and 15-minute load averages when the run started and ended (other work on the machine). */
  loadAverage: { start: number[]; end: number[] };
  sizes: { fileBytes: number; smallCount: number; smallBytes: number; listEntries: number; logins: number };
  metrics: MetricResult[];
  loop: LoopEntry[];
  cpu: CpuEntry[];
  notes: string[];
  /** Who started tsftpd: `root` (parent, workers, storage brokers) or a plain user's name. */
  tsftpdStartedAs?: string;
}

/** Formats one number in its unit with sensible precision. */
export function formatNumber(v: number, unit: string): string {
  if (unit === 'sessions') return String(Math.round(v));
  if (unit === 's') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (unit === 'ms' || unit === 'MiB') return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

function cell(m: MetricResult, server: 'tsftpd' | 'pureftpd'): string {
  const s = m.values[server];
  // The reason is in the notes once per group, not repeated on every row.
  if (!s)
    return m.notRun[server] === undefined
      ? '—'
      : m.notRun[server].startsWith('failed')
        ? 'failed'
        : 'not run';
  const med = `${formatNumber(s.median, m.unit)} ${m.unit}`;
  return s.samples.length > 1
    ? `${med} [${formatNumber(s.min, m.unit)}–${formatNumber(s.max, m.unit)}]`
    : med;
}

/** Table header. */
export const HEADER = [
  'metric',
  'tsftpd median [min–max]',
  'Pure-FTPd median [min–max]',
  'ratio',
  'target',
  'met?',
];

/** One row of strings per metric that has anything to show. */
export function tableRows(result: BenchResult): string[][] {
  return result.metrics
    .filter(
      (m) => !m.shared && (m.values.tsftpd || m.values.pureftpd || m.notRun.tsftpd || m.notRun.pureftpd),
    )
    .map((m) => [
      m.label,
      cell(m, 'tsftpd'),
      cell(m, 'pureftpd'),
      m.ratio === undefined ? '—' : `${m.ratio < 0.1 ? m.ratio.toFixed(3) : m.ratio.toFixed(2)}×`,
      m.target?.text ?? '',
      m.met === undefined ? (m.target ? 'n/a' : '') : m.met ? 'yes' : 'NO',
    ]);
}

/** A plain-text table with aligned columns. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join(' | ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  return [line(header), sep, ...rows.map(line)].join('\n');
}

/** A Markdown table. */
export function markdownTable(header: string[], rows: string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  const line = (r: string[]): string => `| ${r.map(esc).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Why values are missing: one line per server and group (rows of a group share the reason). */
export function notRunLines(result: BenchResult): string[] {
  const seen = new Set<string>();
  for (const m of result.metrics) {
    for (const [server, why] of Object.entries(m.notRun)) {
      seen.add(`${server === 'tsftpd' ? 'tsftpd' : 'Pure-FTPd'} ${m.group}: not run: ${why}`);
    }
  }
  return [...seen];
}

/** Throughput as a share of the loopback ceiling, one line per server and direction. */
export function ceilingLines(result: BenchResult): string[] {
  const loop = result.metrics.filter((m) => m.shared && m.group === 'loopback');
  const hashing = result.metrics.find((m) => m.id === 'login-ceiling')?.shared;
  const share = result.metrics.find((m) => m.id === 'login-share')?.values.tsftpd;
  const hashLines =
    hashing === undefined
      ? []
      : [
          `login hashing ceiling: ${hashing.median.toFixed(0)} logins/s (${result.machine.cpus} CPUs × 1 / ` +
            `${((result.machine.cpus * 1000) / hashing.median).toFixed(2)} ms per \`$6$\` check, measured with crypt(3))` +
            (share !== undefined ? `; tsftpd's login rate is ${share.median.toFixed(0)}% of it` : ''),
        ];
  if (loop.length === 0) return hashLines;
  const ceiling = Math.max(...loop.map((m) => m.shared!.median));
  const out = loop.map((m) => {
    const s = m.shared!;
    const range = s.samples.length > 1 ? ` [${s.min.toFixed(0)}–${s.max.toFixed(0)}]` : '';
    return `${m.label}: ${s.median.toFixed(0)} MiB/s${range}`;
  });
  for (const id of ['download', 'upload']) {
    const m = result.metrics.find((x) => x.id === id);
    const parts = (['tsftpd', 'pureftpd'] as const)
      .filter((s) => m?.values[s])
      .map(
        (s) =>
          `${s === 'tsftpd' ? 'tsftpd' : 'Pure-FTPd'} ${((m!.values[s]!.median / ceiling) * 100).toFixed(0)}%`,
      );
    if (parts.length > 0)
      out.push(`${id} as a share of the loopback ceiling (${ceiling.toFixed(0)} MiB/s): ${parts.join(', ')}`);
  }
  return [...out, ...hashLines];
}

/** TLS throughput as a share of the same server's plain throughput: one line per direction. */
export function tlsLines(result: BenchResult): string[] {
  const out: string[] = [];
  for (const id of ['download', 'upload']) {
    const plain = result.metrics.find((x) => x.id === id);
    const secure = result.metrics.find((x) => x.id === `${id}-tls`);
    const parts = (['tsftpd', 'pureftpd'] as const).flatMap((s) => {
      const p = plain?.values[s]?.median;
      const t = secure?.values[s]?.median;
      if (p === undefined || t === undefined || p === 0) return [];
      return [`${s === 'tsftpd' ? 'tsftpd' : 'Pure-FTPd'} ${(t / p).toFixed(2)}×`];
    });
    if (parts.length > 0) out.push(`${id} over TLS / plain ${id}, same server: ${parts.join(', ')}`);
  }
  return out;
}

/** Per-group event-loop delay and CPU rows. */
export function detailRows(result: BenchResult): { header: string[]; rows: string[][] } {
  const groups = [...new Set([...result.loop.map((l) => l.group), ...result.cpu.map((c) => c.group)])];
  const rows = groups.map((g) => {
    const l = result.loop.find((x) => x.group === g);
    const cpu = (s: string): string => {
      const c = result.cpu.find((x) => x.group === g && x.server === s);
      return c ? c.seconds.toFixed(1) : '—';
    };
    return [
      g,
      l ? l.p50Ms.toFixed(1) : '—',
      l ? l.p99Ms.toFixed(1) : '—',
      l ? l.maxMs.toFixed(1) : '—',
      l ? `${l.clientP99Ms.toFixed(1)} / ${l.clientMaxMs.toFixed(1)}` : '—',
      cpu('tsftpd'),
      cpu('pureftpd'),
    ];
  });
  const header = [
    'group',
    'loop p50 ms',
    'loop p99 ms',
    'loop max ms',
    'client loop p99 / max ms',
    'tsftpd CPU s',
    'Pure-FTPd CPU s',
  ];
  return { header, rows };
}

/** Numbers in the JSON keep at most three decimals: enough for any metric here, and a small file. */
function round(v: number): number {
  return Number.isInteger(v) ? v : Math.round(v * 1000) / 1000;
}

/**
 * JSON text laid out the way Prettier (printWidth 110) lays it out, so that `npm run lint` accepts the
 * committed results as written: objects one key per line, short arrays of plain values on one line.
 */
export function toJson(value: unknown, indent = '', prefix = ''): string {
  const inner = `${indent}  `;
  if (typeof value === 'number') return JSON.stringify(round(value));
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const flat = `[${value.map((v) => toJson(v)).join(', ')}]`;
      if (indent.length + prefix.length + flat.length + 1 <= 110) return flat;
    }
    return `[\n${value.map((v) => `${inner}${toJson(v, inner)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  const lines = entries.map(([k, v]) => {
    const key = `${JSON.stringify(k)}: `;
    return `${inner}${key}${toJson(v, inner, key)}`;
  });
  return `{\n${lines.join(',\n')}\n${indent}}`;
}
