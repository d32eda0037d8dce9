/**
 * Shared by the auth unit tests that compare with the real Pure-FTPd tools: where they are, and
 * whether a test must skip (tool absent, outside CI) or fail (tool absent with CI=true).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ciSkip } from '../helpers/ci.js';

/** The real pure-pw (Debian package pure-ftpd). */
export const PURE_PW = '/usr/bin/pure-pw';

/** node:test `skip` value: a reason when pure-pw is absent outside CI, else false (CI then fails loudly). */
export function purePwSkip(): string | false {
  return ciSkip(
    existsSync(PURE_PW)
      ? undefined
      : `${PURE_PW} not installed (apt-get install pure-ftpd); set CI=true to make this a failure`,
  );
}

/** Runs pure-pw with `args`, feeding `input` on stdin; returns stdout. */
export function purePw(args: string[], input = ''): string {
  if (!existsSync(PURE_PW)) throw new Error(`${PURE_PW} is required for this test (CI=true)`);
  return execFileSync(PURE_PW, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}
