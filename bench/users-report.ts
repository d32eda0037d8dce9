/**
 * Results of `npm run bench -- users` (issue #4): their JSON shape (bench/results/users.json), the
 * console table and the Markdown section that report.ts puts into docs/performance.md.
 */
import type { Machine } from './machine.js';
import type { ServerKind } from './servers.js';
import type { BuildInfo } from './snapshot.js';
import { markdownTable } from './results.js';

/** Percentiles of a set of latencies, in the unit the field name gives. */
export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** One `mkdb` run on the big passwd file. */
export interface MkdbRun {
  seconds: number;
  /** Peak resident memory (GNU time %M, or the last VmHWM seen); undefined when unknown. */
  peakRssMiB: number | undefined;
  pdbBytes: number;
}

/** Logins against one server while a download loop ran on it. */
export interface LoginRun {
  /** connect → 220 → USER → 331 → PASS → 230, in ms. */
  latencyMs: Latency;
  /** Logins that failed (retried; the run stops after 10). */
  loginErrors: number;
  /** The download loop that ran meanwhile (the "other sessions"). */
  background: { downloads: number; mibps: number; errors: number };
  /** All processes of the server after the logins. */
  serverRssMiB: number;
  serverPssMiB: number;
  processes: number;
  /** tsftpd only: event-loop delay over the logins. */
  loopP99Ms?: number;
  loopMaxMs?: number;
}

/** Everything one users run produced. */
export interface UsersResult {
  version: 1;
  date: string;
  command: string;
  mode: 'full' | 'smoke';
  durationSeconds: number;
  machine: Machine;
  build: BuildInfo;
  accounts: number;
  passwdBytes: number;
  generateSeconds: number;
  /** How the accounts' password hash was made. */
  hash: string;
  mkdb: Partial<Record<ServerKind, MkdbRun>>;
  /** The two .pdb files compared byte for byte (undefined: only one was built). */
  identical: boolean | undefined;
  /** PureDbReader.lookup() in this process, in µs. */
  lookupUs: Latency;
  login: Partial<Record<ServerKind, LoginRun>>;
  /** Why a server has no figures. */
  notRun: Partial<Record<ServerKind, string>>;
  notes: string[];
}

/** Nearest-rank percentiles of samples (in any unit). */
export function latency(samples: number[]): Latency {
  const s = Float64Array.from(samples).sort();
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    count: s.length,
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    mean: s.length > 0 ? sum / s.length : 0,
  };
}

const fmt = (v: number): string => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));

/** Table header, shared by the console and the Markdown. */
export const USERS_HEADER = ['measure', 'tsftpd', 'Pure-FTPd'];

/** One row of strings per measure. */
export function usersRows(u: UsersResult): string[][] {
  const cell = (kind: ServerKind, f: (k: ServerKind) => string | undefined): string =>
    f(kind) ?? (u.notRun[kind] ? 'not run' : '—');
  const row = (label: string, f: (k: ServerKind) => string | undefined): string[] => [
    label,
    cell('tsftpd', f),
    cell('pureftpd', f),
  ];
  const mk = (k: ServerKind): MkdbRun | undefined => u.mkdb[k];
  const lg = (k: ServerKind): LoginRun | undefined => u.login[k];
  const ms = (l: Latency | undefined): string | undefined =>
    l && `${fmt(l.p50)} / ${fmt(l.p99)} / ${fmt(l.max)} ms`;
  return [
    row(
      `mkdb of ${u.accounts.toLocaleString('en-US')} accounts: time`,
      (k) => mk(k) && `${fmt(mk(k)!.seconds)} s`,
    ),
    row('mkdb: peak RSS', (k) =>
      mk(k)?.peakRssMiB === undefined ? undefined : `${fmt(mk(k)!.peakRssMiB!)} MiB`,
    ),
    row('mkdb: .pdb size', (k) => mk(k) && `${(mk(k)!.pdbBytes / 2 ** 20).toFixed(1)} MiB`),
    [
      '.pdb files byte-identical',
      u.identical === undefined ? '—' : u.identical ? 'yes' : 'NO',
      u.identical === undefined ? '—' : u.identical ? 'yes' : 'NO',
    ],
    [
      `lookup in-process, ${u.lookupUs.count.toLocaleString('en-US')} random logins: p50 / p99 / max`,
      `${fmt(u.lookupUs.p50)} / ${fmt(u.lookupUs.p99)} / ${fmt(u.lookupUs.max)} µs`,
      '—',
    ],
    row('login latency under load: p50 / p99 / max', (k) => ms(lg(k)?.latencyMs)),
    row('logins measured (1 client, sequential)', (k) => lg(k) && String(lg(k)!.latencyMs.count)),
    row(
      'download loop meanwhile (same server)',
      (k) => lg(k) && `${fmt(lg(k)!.background.mibps)} MiB/s, ${lg(k)!.background.downloads} downloads`,
    ),
    row(
      'server memory after the logins: RSS / PSS',
      (k) =>
        lg(k) && `${fmt(lg(k)!.serverRssMiB)} / ${fmt(lg(k)!.serverPssMiB)} MiB (${lg(k)!.processes} proc.)`,
    ),
    row('event-loop delay during the logins: p99 / max', (k) =>
      lg(k)?.loopP99Ms === undefined ? undefined : `${fmt(lg(k)!.loopP99Ms!)} / ${fmt(lg(k)!.loopMaxMs!)} ms`,
    ),
  ];
}

/** Notes: why something did not run, and how the data was made. */
export function usersNotes(u: UsersResult): string[] {
  const why = Object.entries(u.notRun).map(
    ([k, r]) => `${k === 'tsftpd' ? 'tsftpd' : 'Pure-FTPd'}: not run: ${r}`,
  );
  return [...why, ...u.notes];
}

/** The Markdown section for docs/performance.md. */
export function usersMarkdown(u: UsersResult): string[] {
  const mib = (u.passwdBytes / 2 ** 20).toFixed(0);
  return [
    `## Users database: ${u.accounts.toLocaleString('en-US')} accounts (issue #4)`,
    '',
    `Generated from bench/results/users.json by \`npm run bench -- users\` (${u.date}, ${u.durationSeconds} s;`,
    `${u.machine.cpus} CPUs ${u.machine.cpuModel}, Node ${u.machine.node}, ${u.machine.pureFtpd ?? 'no Pure-FTPd'}).`,
    '',
    markdownTable(USERS_HEADER, usersRows(u)),
    '',
    `- The passwd file (${mib} MiB, ${u.generateSeconds.toFixed(1)} s to write, streamed) is built once; both`,
    '  `tsftpd pw mkdb` and the real `pure-pw mkdb` index the same file (PURE_PASSWDFILE/PURE_DBFILE unset).',
    `  Every account shares one password hash: ${u.hash}.`,
    '- Lookup: `PureDbReader.lookup()` (the reader the server uses, a stat and O(log n) positional reads per',
    '  lookup, never the whole file) on random existing logins, one at a time, after 1,000 unrecorded ones.',
    '- Login latency: one client logs in as random accounts one after another (connect to 230, QUIT not',
    '  timed) while another client downloads a file in a loop from the same server; each server reads the',
    '  `.pdb` with `-l puredb:` (Pure-FTPd forks per session and opens the file at each login).',
    ...usersNotes(u).map((n) => `- ${n}`),
    '',
  ];
}
