#!/usr/bin/env node
/**
 * `npm run bench`: tsftpd against Pure-FTPd on this machine (see bench/README.md). Raises its own
 * file-descriptor limit by re-running itself through `sh -c 'ulimit -n N; exec ...'` (Node cannot
 * call setrlimit), prints the table, writes the JSON and, after a full run, docs/performance.md.
 * `npm run bench -- users` is a separate mode: the 1.5-million-account database (users.ts).
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, type BenchOptions } from './args.js';
import { PACKAGE_ROOT, runBenchmark } from './bench.js';
import { fileLimit, killAllChildrenNow } from './proc.js';
import { writeReport } from './report.js';
import { runUsers } from './users.js';
import {
  ceilingLines,
  detailRows,
  HEADER,
  notRunLines,
  tableRows,
  textTable,
  tlsLines,
  toJson,
  type BenchResult,
} from './results.js';

const REEXEC_MARK = 'TSFTPD_BENCH_REEXEC';
/** Descriptors we ask for when the hard limit allows it. */
const WANTED_FILES = 65536;

/** Re-runs this script with a higher soft limit; resolves with its exit code. */
function reexec(files: number, argv: string[]): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const args = ['-c', 'ulimit -n "$1" || exit 97; shift; exec "$@"', 'sh', String(files)];
  const child = spawn('sh', [...args, process.execPath, ...process.execArgv, script, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [REEXEC_MARK]: '1' },
  });
  // Ctrl-C reaches the child through the terminal's process group; a kill of this pid is forwarded.
  const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => forward('SIGTERM'));
  return new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? 130 : 1))));
}

function printResult(result: BenchResult): void {
  const out: string[] = [''];
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');
  out.push(
    `tsftpd vs Pure-FTPd - ${result.mode} run, median of ${result.runs} (min–max), ${result.durationSeconds} s`,
  );
  out.push(`load average at start ${load(result.loadAverage.start)}, at end ${load(result.loadAverage.end)}`);
  out.push('');
  out.push(textTable(HEADER, tableRows(result)));
  const ceiling = [...ceilingLines(result), ...tlsLines(result)];
  if (ceiling.length > 0) out.push('', ...ceiling);
  const detail = detailRows(result);
  if (detail.rows.length > 0) out.push('', textTable(detail.header, detail.rows));
  const notes = [...notRunLines(result), ...result.notes];
  if (notes.length > 0) out.push('', 'notes:', ...notes.map((n) => `  - ${n}`));
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The root run's results, when a full run wrote them. */
async function readLatest(file: string): Promise<BenchResult | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as BenchResult);
}

function isFullRun(opts: BenchOptions): boolean {
  return opts.mode === 'full' && !opts.only && !opts.tsftpdOnly && !opts.profile && opts.state === undefined;
}

/** Every server and helper we started dies with us, whatever ends the run. */
function installCleanup(): void {
  const onSignal = (): void => {
    killAllChildrenNow();
    process.stderr.write('bench: interrupted, every server stopped\n');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllChildrenNow);
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'users') {
    installCleanup();
    try {
      return await runUsers(argv.slice(1));
    } catch (err) {
      process.stderr.write(`bench users: ${(err as Error).message}\n`);
      return 2;
    }
  }
  let opts: BenchOptions | 'help';
  try {
    opts = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const limit = await fileLimit();
  const need = Math.max(...opts.sessionCounts) + 4096;
  if (limit.soft < need && limit.hard > limit.soft && process.env[REEXEC_MARK] === undefined) {
    return reexec(Math.min(limit.hard, WANTED_FILES), argv);
  }
  installCleanup();
  const result = await runBenchmark(opts, argv, {
    clientFiles: limit.soft,
    serverFiles: Math.max(limit.soft, Math.min(limit.hard, WANTED_FILES)),
    pureBigSessions: opts.pureBigSessions,
  });
  printResult(result);
  const json = `${toJson(result)}\n`;
  if (opts.json !== undefined) await writeFile(opts.json, json);
  if (opts.mode !== 'smoke') {
    const dir = path.join(PACKAGE_ROOT, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    const full = opts.tsftpdUser !== undefined ? 'latest-user.json' : 'latest.json';
    const file = path.join(dir, isFullRun(opts) ? full : 'partial.json');
    await writeFile(file, json);
    process.stdout.write(`\nJSON: ${path.relative(process.cwd(), file)}\n`);
    if (isFullRun(opts)) {
      const root = opts.tsftpdUser === undefined ? result : await readLatest(path.join(dir, 'latest.json'));
      const written = root === undefined ? [] : await writeReport(root, PACKAGE_ROOT);
      process.stdout.write(`report: ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    killAllChildrenNow();
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
