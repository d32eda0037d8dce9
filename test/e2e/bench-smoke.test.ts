/**
 * The benchmark harness still works: `node dist/bench/run.js --smoke` starts tsftpd alone, runs one
 * tiny round of every metric in a few seconds and prints the results table (issue #3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const runJs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'run.js');

test('npm run bench -- --smoke prints the results table', { timeout: 60_000 }, async () => {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      execFile(
        process.execPath,
        [runJs, '--smoke'],
        { timeout: 55_000, killSignal: 'SIGINT', maxBuffer: 4 << 20 },
        (err, out, errOut) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
            stdout: out,
            stderr: errOut,
          }),
      );
    },
  );
  assert.equal(code, 0, `exit ${code}\n${stderr}`);
  assert.match(stdout, /metric\s+\| tsftpd median \[min–max\]/);
  for (const row of [
    'download, big file',
    'upload, big file',
    'small files, 1 session',
    'login rate',
    'MLSD',
  ]) {
    assert.match(stdout, new RegExp(`${row}[^\\n]*\\| \\d`), `row "${row}" has a value`);
  }
  assert.match(stdout, /20 sessions: held \(NOOP ok\)\s+\| 20 sessions/);
  assert.doesNotMatch(stdout, /FAILED|not run \(failed/);
});
