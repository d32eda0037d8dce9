/**
 * The progress line of `tsftpd quotacheck` (src/tools/quota-progress.ts): shown only on a
 * terminal, only once a run has lasted a second, at most 5 times a second, erased at the end;
 * never a byte on a pipe or a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROGRESS_AFTER_MS,
  PROGRESS_EVERY_MS,
  QuotaProgress,
  formatProgress,
  formatSize,
} from '../../src/tools/quota-progress.js';

/** A stand-in for process.stderr with a fake clock. */
function fake(isTTY: boolean | undefined): {
  sink: { isTTY?: boolean; write(s: string): void };
  out: string[];
  clock: { t: number };
} {
  const out: string[] = [];
  const clock = { t: 1_000_000 };
  return { sink: { isTTY, write: (s: string) => void out.push(s) }, out, clock };
}

test('quotacheck progress: the line text', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(1023), '1023 B');
  assert.equal(formatSize(1536), '1.5 KiB');
  assert.equal(formatSize(274111700), '261.4 MiB');
  assert.equal(formatSize(3 * 1024 ** 4), '3.0 TiB');
  assert.equal(formatProgress(200200, 274111700, 2500), 'quotacheck: 200200 files, 261.4 MiB so far (2 s)');
});

test('quotacheck progress: nothing at all when stderr is not a terminal', () => {
  for (const isTTY of [false, undefined]) {
    const { sink, out, clock } = fake(isTTY);
    const p = new QuotaProgress(sink, () => clock.t);
    for (let i = 0; i < 50; i++) {
      clock.t += 500;
      p.update(i * 1000, i * 4096);
    }
    p.finish();
    assert.deepEqual(out, []);
  }
});

test('quotacheck progress: on a terminal, after a second, throttled, erased at the end', () => {
  const { sink, out, clock } = fake(true);
  const p = new QuotaProgress(sink, () => clock.t);
  p.update(10, 10);
  clock.t += PROGRESS_AFTER_MS - 1;
  p.update(20, 20);
  assert.deepEqual(out, [], 'a short run shows nothing');
  clock.t += 1;
  p.update(30, 2048);
  assert.deepEqual(out, ['\r\x1b[Kquotacheck: 30 files, 2.0 KiB so far (1 s)']);
  clock.t += PROGRESS_EVERY_MS - 1;
  p.update(40, 4096);
  assert.equal(out.length, 1, 'at most 5 rewrites a second');
  clock.t += 1;
  p.update(50, 4096);
  assert.equal(out.at(-1), '\r\x1b[Kquotacheck: 50 files, 4.0 KiB so far (1 s)');
  p.finish();
  assert.equal(out.at(-1), '\r\x1b[K', 'the line is erased');
  const count = out.length;
  clock.t += 10_000;
  p.update(60, 60);
  p.finish();
  assert.equal(out.length, count, 'late reports (from the walk thread) are ignored');
});

test('quotacheck progress: a short run on a terminal leaves nothing to erase', () => {
  const { sink, out, clock } = fake(true);
  const p = new QuotaProgress(sink, () => clock.t);
  clock.t += 300;
  p.update(1, 1);
  p.finish();
  assert.deepEqual(out, []);
});
