/**
 * Real FTP clients for end-to-end tests: curl, lftp and Python's ftplib, run as child processes
 * against a test server (basic-ftp runs in-process and needs no helper). Every run is bounded: on
 * timeout the child is killed by its PID and the result says so. A missing tool makes its tests
 * skip with the reason, except under CI=true where the tests must run (and fail loudly).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { ciSkip } from './ci.js';

/** What a client run produced. */
export interface ToolResult {
  /** Exit status (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the run hit its timeout and was killed. */
  timedOut: boolean;
}

/** Options of one run. */
export interface RunOptions {
  /** Kill the child after this many ms (default 20 s). */
  timeoutMs?: number;
  /** Text fed to stdin. */
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Default bound of one client run. */
export const DEFAULT_TOOL_TIMEOUT_MS = 20_000;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of an executable found in $PATH, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * node:test `skip` value for tests that need `tool`: a reason when it is missing outside CI, else
 * false (under CI=true a missing tool is not skipped, so the test fails and the gap is seen).
 */
export function toolSkip(tool: string, hint = `apt-get install ${tool}`): string | false {
  return ciSkip(
    findTool(tool) === undefined
      ? `${tool} is not installed (${hint}); set CI=true to make this a failure`
      : undefined,
  );
}

/** Runs a program; never rejects for a non-zero exit, only when it cannot be started. */
export function runTool(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ToolResult> {
  const found = path.isAbsolute(file) ? (isExecutable(file) ? file : undefined) : findTool(file);
  if (found === undefined)
    return Promise.reject(new Error(`${file} is required by this test but not installed`));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const child = execFile(
      found,
      [...args],
      { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        clearTimeout(timer);
        const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        if (e !== null && typeof e.code === 'string') {
          reject(e); // spawn failure (ENOENT, EACCES), not an exit status
          return;
        }
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
          timedOut,
        });
      },
    );
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Credentials for a client; none means anonymous. */
export interface Login {
  user: string;
  password: string;
}

/** `ftp://127.0.0.1:port` plus a path (already URL-safe). */
export function ftpUrl(port: number, urlPath = '/', host = '127.0.0.1'): string {
  return `ftp://${host}:${port}${urlPath.startsWith('/') ? urlPath : `/${urlPath}`}`;
}

/**
 * Runs curl against an FTP URL. `-sS` keeps errors on stderr; the exit code is curl's (67 = login
 * denied, 78 = remote file not found, 9 = CWD refused, 19 = RETR refused).
 */
export function curl(
  url: string,
  login?: Login,
  extra: readonly string[] = [],
  opts: RunOptions = {},
): Promise<ToolResult> {
  const seconds = String(Math.ceil((opts.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS) / 1000));
  const args = ['-sS', '--max-time', seconds, '--connect-timeout', '5'];
  if (login !== undefined) args.push('--user', `${login.user}:${login.password}`);
  return runTool('curl', [...args, ...extra, url], opts);
}

/** Escapes a value for lftp's command language (inside double quotes). */
function lftpQuote(text: string): string {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Runs an lftp script after `open`: no retries, no TLS attempt. The exit status is the last
 * command's (`cmd:fail-exit` is not used: lftp 4.9 hangs after a failed `cat` with it).
 */
export function lftp(
  port: number,
  script: string,
  login?: Login,
  opts: RunOptions = {},
): Promise<ToolResult> {
  const user = login === undefined ? '' : `-u ${lftpQuote(`${login.user},${login.password}`)} `;
  const setup = [
    'set net:max-retries 1',
    'set net:persist-retries 0',
    'set net:timeout 5',
    'set net:reconnect-interval-base 1',
    'set ftp:ssl-allow no',
    'set xfer:clobber yes',
    `open ${user}${ftpUrl(port)}`,
  ];
  return runTool('lftp', ['-c', [...setup, script].join('; ')], opts);
}

/**
 * The Python 3 to run: the system one first, because version-manager shims (pyenv) add seconds of
 * start-up to every run.
 */
export function pythonPath(): string | undefined {
  return isExecutable('/usr/bin/python3') ? '/usr/bin/python3' : findTool('python3');
}

/**
 * The end of the `try:` of every ftplib program of the tests: an ftplib error is printed as
 * `FTPERR <reply>` with exit status 3 (what the tests check), and the connection is always closed.
 */
export const FTPLIB_ERROR_EXIT: readonly string[] = [
  'except ftplib.all_errors as e:',
  "    print('FTPERR', e)",
  '    sys.exit(3)',
  'finally:',
  '    ftp.close()',
];

/**
 * Runs Python code with `ftp` connected to the server (ftplib.FTP, 10 s timeout). The code runs
 * inside a function; an ftplib error is printed as `FTPERR <reply>` and exits with status 3.
 */
export function ftplib(port: number, body: string, opts: RunOptions = {}): Promise<ToolResult> {
  const indented = body
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  const program = [
    'import ftplib, sys',
    'def main(ftp):',
    indented,
    `ftp = ftplib.FTP()`,
    `ftp.connect('127.0.0.1', ${port}, timeout=10)`,
    'try:',
    '    main(ftp)',
    ...FTPLIB_ERROR_EXIT,
  ].join('\n');
  return runTool(pythonPath() ?? 'python3', ['-c', program], opts);
}

/** A Python string literal for `text` (for building ftplib snippets). */
export function py(text: string): string {
  return JSON.stringify(text);
}
