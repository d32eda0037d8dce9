/** Command-line options of `npm run bench` and the data sizes of each mode. */
import type { DataSizes } from './fixtures.js';

/** full: the sizes; quick: a short version; smoke: seconds, tsftpd only (for `npm test`). */
export type Mode = 'full' | 'quick' | 'smoke';

/** Everything a run needs to know. */
export interface BenchOptions {
  mode: Mode;
  runs: number;
  /** Groups to run; undefined means all. */
  only: string[] | undefined;
  json: string | undefined;
  tsftpdOnly: boolean;
  profile: boolean;
  sizes: DataSizes;
  sessionCounts: number[];
  logins: number;
  parallel: number;
  /** Try Pure-FTPd with 10,000 sessions when memory and process limits allow it. */
  pureBigSessions: boolean;
  /** Start tsftpd as this plain user instead of root (the benchmark itself runs as root). */
  tsftpdUser: string | undefined;
  /** Start tsftpd with --state URL (Redis): the cost of shared limits. */
  state: string | undefined;
}

/** The groups a run can select with --only. */
export const GROUPS = [
  'loopback',
  'download',
  'upload',
  'tls',
  'small-1',
  'small-16',
  'login',
  'list',
  'sessions',
];

/** Usage text. */
export const USAGE = `usage: npm run bench -- [options]
       npm run bench -- users [options]   (1.5 M-account database, see users --help)
  --quick            short version: 256 MiB file, 500 small files, 1,000 sessions only, 1 run
  --smoke            seconds-long sanity run, tsftpd only (used by npm test)
  --runs N           runs per metric (default 3; 1 with --quick)
  --only a,b,...     groups: ${GROUPS.join(', ')}
  --tsftpd-only      do not start Pure-FTPd
  --profile          write V8 CPU profiles of tsftpd to bench/profiles/ and summarise them
  --no-pure-10k      never try Pure-FTPd with 10,000 sessions
  --json FILE        also write the JSON results to FILE
  --tsftpd-user USER start tsftpd as USER (not root: no storage brokers, Pure-FTPd's non-root
                     mode); the data and the account belong to USER; a full run writes
                     results/latest-user.json, shown in docs/performance.md next to the root run
  --state URL        start tsftpd with --state URL (limits, bans and sessions in Redis): compare
                     with a run without it (docs/performance.md "Shared state")
`;

const MIB = 1 << 20;

/** Parses argv; throws an Error with a usage hint on bad input. */
export function parseArgs(argv: string[]): BenchOptions | 'help' {
  let mode: Mode = 'full';
  let runs: number | undefined;
  let only: string[] | undefined;
  let json: string | undefined;
  let tsftpdOnly = false;
  let profile = false;
  let pureBigSessions = true;
  let tsftpdUser: string | undefined;
  let state: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') mode = 'quick';
    else if (a === '--smoke') mode = 'smoke';
    else if (a === '--runs') runs = Number.parseInt(value(), 10);
    else if (a === '--only') only = value().split(',').filter(Boolean);
    else if (a === '--json') json = value();
    else if (a === '--tsftpd-only') tsftpdOnly = true;
    else if (a === '--profile') profile = true;
    else if (a === '--no-pure-10k') pureBigSessions = false;
    else if (a === '--tsftpd-user') tsftpdUser = value();
    else if (a === '--state') state = value();
    else if (a === '-h' || a === '--help') return 'help';
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (runs !== undefined && !(runs >= 1 && runs <= 20)) throw new Error('--runs must be 1..20');
  const bad = only?.find((g) => !GROUPS.includes(g));
  if (bad !== undefined) throw new Error(`--only: unknown group ${bad} (groups: ${GROUPS.join(', ')})`);
  const base = { only, json, profile, pureBigSessions, tsftpdUser, state, parallel: 16 };
  if (mode === 'smoke') {
    return {
      ...base,
      mode,
      runs: runs ?? 1,
      tsftpdOnly: true,
      sizes: { fileBytes: MIB, smallCount: 20, smallBytes: 4096, listEntries: 200 },
      sessionCounts: [20],
      logins: 20,
    };
  }
  if (mode === 'quick') {
    return {
      ...base,
      mode,
      runs: runs ?? 1,
      tsftpdOnly,
      sizes: { fileBytes: 256 * MIB, smallCount: 500, smallBytes: 4096, listEntries: 10_000 },
      sessionCounts: [1000],
      logins: 500,
    };
  }
  return {
    ...base,
    mode,
    runs: runs ?? 3,
    tsftpdOnly,
    sizes: { fileBytes: 1024 * MIB, smallCount: 2000, smallBytes: 4096, listEntries: 10_000 },
    sessionCounts: [1000, 10_000],
    logins: 1000,
  };
}
