/** Running short helper programs (openssl, pure-pw, socat) with a time bound. */
import { execFile } from 'node:child_process';

/** Output of a finished helper program. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program to completion (30 s at most); rejects on a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`.trim()));
      else resolve({ stdout, stderr });
    });
  });
}

/** Like run(), but resolves with undefined instead of failing (missing program, error exit). */
export async function tryRun(
  cmd: string,
  args: string[],
  timeoutMs = 10_000,
): Promise<RunResult | undefined> {
  try {
    return await run(cmd, args, timeoutMs);
  } catch {
    return undefined;
  }
}
