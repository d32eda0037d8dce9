/**
 * The measured workloads, one function per metric family. Each returns one sample (a number in the
 * metric's unit) and throws when the server did not deliver what it should (wrong size, wrong
 * count), so a broken server can never look fast.
 */
import { performance } from 'node:perf_hooks';
import { FtpControl } from './ftp-client.js';
import { retrieve, store } from './transfer.js';

/** How to reach a server and log in. */
export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

const MIB = 1 << 20;

/** Runs fn(i) for i in [0, count) with at most `concurrency` at once; stops starting new ones at the deadline. */
export async function pool(
  count: number,
  concurrency: number,
  deadlineMs: number,
  fn: (i: number) => Promise<void>,
): Promise<{ done: number; errors: number; firstError: string | undefined }> {
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const stopAt = performance.now() + deadlineMs;
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() < stopAt) {
      const i = next++;
      try {
        await fn(i);
        done++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { done, errors, firstError };
}

async function session(ep: Endpoint): Promise<FtpControl> {
  const ftp = await FtpControl.login(ep.host, ep.port, ep.user, ep.password);
  await ftp.expect('TYPE I', 200);
  return ftp;
}

/** Downloads one file (its last `tail` bytes with REST when given); MiB/s from RETR to 226. */
export async function downloadThroughput(
  ep: Endpoint,
  file: string,
  size: number,
  tail = size,
): Promise<number> {
  const ftp = await session(ep);
  try {
    if (tail < size) await ftp.expect(`REST ${size - tail}`, 350);
    const r = await retrieve(ftp, ep.host, `RETR ${file}`);
    if (r.bytes !== tail) throw new Error(`RETR ${file}: got ${r.bytes} bytes, expected ${tail}`);
    return tail / MIB / (r.ms / 1000);
  } finally {
    await ftp.quit();
  }
}

/** Uploads `size` bytes into `dir` then deletes the file; MiB/s from STOR to 226. */
export async function uploadThroughput(
  ep: Endpoint,
  dir: string,
  size: number,
  block: Buffer,
): Promise<number> {
  const ftp = await session(ep);
  const name = `${dir}/upload-${process.pid}-${Date.now()}.bin`;
  try {
    const ms = await store(ftp, ep.host, name, size, block);
    const sizeReply = await ftp.expect(`SIZE ${name}`, 213);
    if (Number(sizeReply.text.slice(4)) !== size)
      throw new Error(`STOR: server stored ${sizeReply.text.slice(4)}`);
    return size / MIB / (ms / 1000);
  } finally {
    await ftp.command(`DELE ${name}`).catch(() => undefined);
    await ftp.quit();
  }
}

/** Downloads every file, split across `sessions` parallel logged-in sessions; files per second. */
export async function smallFiles(
  ep: Endpoint,
  files: string[],
  size: number,
  sessions: number,
): Promise<number> {
  const ctrls = await Promise.all(Array.from({ length: sessions }, () => session(ep)));
  try {
    const t0 = performance.now();
    await Promise.all(
      ctrls.map(async (ftp, s) => {
        for (let i = s; i < files.length; i += sessions) {
          const r = await retrieve(ftp, ep.host, `RETR ${files[i]}`);
          if (r.bytes !== size) throw new Error(`RETR ${files[i]}: got ${r.bytes} bytes, expected ${size}`);
        }
      }),
    );
    return files.length / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(ctrls.map((c) => c.quit()));
  }
}

/** LIST or MLSD of a directory; milliseconds from the command to 226. */
export async function listingTime(
  ep: Endpoint,
  verb: 'LIST' | 'MLSD',
  dir: string,
  entries: number,
): Promise<number> {
  const ftp = await session(ep);
  try {
    const r = await retrieve(ftp, ep.host, `${verb} ${dir}`, true);
    if (r.lines < entries) throw new Error(`${verb}: ${r.lines} lines for ${entries} entries`);
    return r.ms;
  } finally {
    await ftp.quit();
  }
}

/** connect + USER + PASS + QUIT, `total` times with `concurrency` clients; logins per second. */
export async function loginRate(ep: Endpoint, total: number, concurrency: number): Promise<number> {
  const t0 = performance.now();
  const r = await pool(total, concurrency, 120_000, async () => {
    const ftp = await FtpControl.login(ep.host, ep.port, ep.user, ep.password, 30_000);
    await ftp.quit();
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.errors > 0) throw new Error(`${r.errors} of ${total} logins failed: ${r.firstError}`);
  if (r.done < total) throw new Error(`only ${r.done} of ${total} logins within the time limit`);
  return total / seconds;
}
