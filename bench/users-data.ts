/**
 * The data of the users benchmark (issue #4): a pureftpd.passwd of N accounts written in big chunks,
 * timed `mkdb` runs with their peak memory, and a byte-for-byte comparison of the two .pdb files.
 */
import { access, open, readFile, rm, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { killTree, spawnWithFileLimit } from './proc.js';
import type { MkdbRun } from './users-report.js';

const GNU_TIME = '/usr/bin/time';
/** Lines assembled per write. */
const LINES_PER_CHUNK = 20_000;

/** The login of account `i`: `u` and seven digits (u0000000 ... u1499999). */
export function loginName(i: number): string {
  return `u${String(i).padStart(7, '0')}`;
}

/** What every account's passwd line holds after `login:`. */
export function accountRest(hash: string, uid: number, gid: number, home: string): string {
  return `${hash}:${uid}:${gid}::${home}/./::::::::::::`;
}

/** Writes `accounts` passwd lines (all with the same hash) to `file`; resolves with its size. */
export async function writePasswdFile(file: string, accounts: number, rest: string): Promise<number> {
  const fh = await open(file, 'w', 0o600);
  let bytes = 0;
  try {
    for (let first = 0; first < accounts; first += LINES_PER_CHUNK) {
      const lines: string[] = [];
      for (let i = first; i < Math.min(accounts, first + LINES_PER_CHUNK); i++)
        lines.push(loginName(i), ':', rest, '\n');
      const chunk = Buffer.from(lines.join(''), 'latin1');
      for (let done = 0; done < chunk.length;) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, bytes + done);
        done += bytesWritten;
      }
      bytes += chunk.length;
    }
  } finally {
    await fh.close();
  }
  return bytes;
}

async function vmHwmKiB(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'latin1').catch(() => '');
  const m = /^VmHWM:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Runs `cmd args` to completion (killed after timeoutMs) and times it. Peak memory comes from GNU time
 * (`%M`, the child's maximum RSS) when /usr/bin/time exists, else from polling VmHWM every 20 ms.
 */
export async function timedRun(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { nofile: number; workDir: string; timeoutMs: number },
): Promise<{ seconds: number; peakRssMiB: number | undefined }> {
  const gnuTime = await access(GNU_TIME).then(
    () => true,
    () => false,
  );
  const timeFile = `${opts.workDir}/time-${Date.now()}.txt`;
  const argv = gnuTime ? ['-f', '%M', '-o', timeFile, cmd, ...args] : args;
  const t0 = performance.now();
  const child = spawnWithFileLimit(
    opts.nofile,
    gnuTime ? GNU_TIME : cmd,
    argv,
    ['ignore', 'ignore', 'pipe'],
    env,
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))),
  );
  let polled: number | undefined;
  let code: number | undefined;
  const deadline = t0 + opts.timeoutMs;
  void exited.then((c) => (code = c));
  while (code === undefined && performance.now() < deadline) {
    if (!gnuTime && child.pid !== undefined) polled = Math.max(polled ?? 0, (await vmHwmKiB(child.pid)) ?? 0);
    await Promise.race([exited, sleep(20)]);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (code === undefined) {
    await killTree(child, 1000);
    throw new Error(`${cmd} ${args.join(' ')}: still running after ${opts.timeoutMs / 1000} s, killed`);
  }
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr.trim()}`);
  let kib = polled;
  if (gnuTime) {
    const text = await readFile(timeFile, 'utf8').catch(() => '');
    const last = text.trim().split('\n').pop();
    kib = last !== undefined && /^\d+$/.test(last) ? Number(last) : undefined;
    await rm(timeFile, { force: true });
  }
  return { seconds, peakRssMiB: kib === undefined ? undefined : kib / 1024 };
}

/** A timed mkdb run with the size of what it wrote. */
export async function mkdb(
  cmd: string,
  args: string[],
  pdb: string,
  opts: { nofile: number; workDir: string; timeoutMs: number },
): Promise<MkdbRun> {
  const env = { ...process.env };
  delete env['PURE_PASSWDFILE'];
  delete env['PURE_DBFILE'];
  const r = await timedRun(cmd, args, env, opts);
  return { ...r, pdbBytes: (await stat(pdb)).size };
}

/** True when two files hold the same bytes (compared in 4 MiB positional reads). */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()]);
    if (sa.size !== sb.size) return false;
    const size = 4 << 20;
    const [ba, bb] = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    for (let pos = 0; pos < sa.size; pos += size) {
      const len = Math.min(size, sa.size - pos);
      const [ra, rb] = await Promise.all([fa.read(ba, 0, len, pos), fb.read(bb, 0, len, pos)]);
      if (ra.bytesRead !== len || rb.bytesRead !== len) return false;
      if (!ba.subarray(0, len).equals(bb.subarray(0, len))) return false;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
