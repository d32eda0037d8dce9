/**
 * The benchmark harness still works: `node .build/bench/run.js --smoke` starts tsftpd alone, runs one
 * tiny round of every metric in a few seconds (explicit FTPS included, issue #5) and prints the
 * results table (issue #3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const runJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'run.js');

/** Runs `node .build/bench/run.js ARGS` (killed after 110 s: CI runs it beside other tests); its exit status and output. */
function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [runJs, ...args],
      { timeout: 110_000, killSignal: 'SIGINT', maxBuffer: 4 << 20 },
      (err, out, errOut) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: out,
          stderr: errOut,
        }),
    );
  });
}

test('npm run bench -- --smoke prints the results table', { timeout: 120_000 }, async () => {
  const { code, stdout, stderr } = await runBench(['--smoke']);
  assert.equal(code, 0, `exit ${code}\n${stderr}`);
  assert.match(stdout, /metric\s+\| tsftpd median \[min–max\]/);
  for (const row of [
    'download, big file',
    'upload, big file',
    'download, big file, TLS',
    'upload, big file, TLS',
    'small files, 1 session',
    'login rate',
    'MLSD',
  ]) {
    assert.match(stdout, new RegExp(`${row}[^\\n]*\\| \\d`), `row "${row}" has a value`);
  }
  assert.match(stdout, /20 sessions: held \(NOOP ok\)\s+\| 20 sessions/);
  assert.doesNotMatch(stdout, /FAILED|not run \(failed/);
});

test(
  'npm run bench -- users --smoke indexes, looks up and logs in (issue #4)',
  { timeout: 60_000 },
  async () => {
    const { code, stdout, stderr } = await runBench(['users', '--smoke']);
    assert.equal(code, 0, `exit ${code}\n${stderr}`);
    assert.match(stdout, /mkdb of 2,000 accounts: time\s+\| \d/);
    assert.match(stdout, /lookup in-process, 2,000 random logins[^\n]*\| \d/);
    assert.match(stdout, /login latency under load[^\n]*\| \d[^\n]* ms/);
    assert.match(stdout, /logins measured[^\n]*\| 40 /);
    assert.doesNotMatch(stdout, /FAILED|failed:/);
  },
);
