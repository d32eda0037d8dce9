/**
 * Linux process bookkeeping for the benchmark: process trees from /proc, their memory (RSS and
 * PSS) and CPU time, spawning with a raised file-descriptor limit, and killing every process we
 * started by its PID (never by name). Every child is registered so SIGINT cleans up too.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Kernel clock ticks per second (USER_HZ) and page size: the values every Linux/x86 uses. */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

/** One process as /proc/<pid>/stat describes it. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  rssBytes: number;
  /** utime+stime+cutime+cstime: own CPU plus that of reaped children. */
  cpuSeconds: number;
}

/** Parses /proc/<pid>/stat; undefined when the process is gone. */
export async function readProc(pid: number): Promise<ProcInfo | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: the fields we need follow the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (i: number): number => Number(f[i - 3]);
  return {
    pid,
    ppid: num(4),
    pgrp: num(5),
    rssBytes: num(24) * PAGE_SIZE,
    cpuSeconds: (num(14) + num(15) + num(16) + num(17)) / TICKS_PER_SECOND,
  };
}

/** Every process on the machine (bounded by pid_max). */
export async function allProcesses(): Promise<ProcInfo[]> {
  const names = await readdir('/proc');
  const pids = names.filter((n) => /^\d+$/.test(n)).map(Number);
  const out: ProcInfo[] = [];
  const batch = 256;
  for (let i = 0; i < pids.length; i += batch) {
    const infos = await Promise.all(pids.slice(i, i + batch).map((p) => readProc(p)));
    for (const p of infos) if (p) out.push(p);
  }
  return out;
}

/** The process and all its descendants (found through parent ids). */
export async function processTree(root: number): Promise<ProcInfo[]> {
  const all = await allProcesses();
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const top = all.find((p) => p.pid === root);
  if (!top) return [];
  const tree: ProcInfo[] = [top];
  for (let i = 0; i < tree.length && i < all.length; i++) tree.push(...(children.get(tree[i].pid) ?? []));
  return tree;
}

/** Proportional set size of one process, from smaps_rollup (shared pages split between sharers). */
async function pssBytes(pid: number): Promise<number> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'latin1');
    const m = /^Pss:\s+(\d+) kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Memory and CPU of a whole server: every process of its tree. */
export interface TreeUsage {
  processes: number;
  rssBytes: number;
  pssBytes: number;
  cpuSeconds: number;
}

/** Sums RSS, PSS and CPU over a process tree. */
export async function treeUsage(root: number): Promise<TreeUsage> {
  const tree = await processTree(root);
  let pss = 0;
  for (let i = 0; i < tree.length; i += 128) {
    const part = await Promise.all(tree.slice(i, i + 128).map((p) => pssBytes(p.pid)));
    pss += part.reduce((a, b) => a + b, 0);
  }
  return {
    processes: tree.length,
    rssBytes: tree.reduce((a, p) => a + p.rssBytes, 0),
    pssBytes: pss,
    cpuSeconds: tree.reduce((a, p) => a + p.cpuSeconds, 0),
  };
}

/** Soft and hard RLIMIT_NOFILE of this process. */
export async function fileLimit(): Promise<{ soft: number; hard: number }> {
  const text = await readFile('/proc/self/limits', 'latin1');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const val = (s: string | undefined): number => (s === undefined || s === 'unlimited' ? 1 << 20 : Number(s));
  return { soft: val(m?.[1]), hard: val(m?.[2]) };
}

/** MemAvailable in bytes. */
export async function memAvailable(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'latin1');
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Most processes the kernel will let exist (pid_max, threads-max, cgroup pids.max). */
export async function processCeiling(): Promise<number> {
  const read = async (f: string): Promise<number> => {
    const t = await readFile(f, 'latin1').catch(() => 'max');
    return /^\d+/.test(t) ? Number.parseInt(t, 10) : Number.MAX_SAFE_INTEGER;
  };
  const values = await Promise.all([
    read('/proc/sys/kernel/pid_max'),
    read('/proc/sys/kernel/threads-max'),
    read('/sys/fs/cgroup/pids.max'),
  ]);
  return Math.min(...values);
}

const children = new Set<ChildProcess>();

/**
 * Spawns a program in its own process group through `sh -c 'ulimit -n N; exec ...'`, because Node
 * cannot call setrlimit and servers need thousands of descriptors.
 */
export function spawnWithFileLimit(
  nofile: number,
  cmd: string,
  args: string[],
  stdio: StdioOptions,
  env: NodeJS.ProcessEnv = process.env,
  ids?: { uid: number; gid: number },
): ChildProcess {
  const script = 'ulimit -n "$1" || exit 97; shift; exec "$@"';
  // With `ids` the shell already runs as that user (libuv drops the supplementary groups too); the
  // hard limit it may raise to is the benchmark's, inherited.
  const child = spawn('sh', ['-c', script, 'sh', String(nofile), cmd, ...args], {
    stdio,
    env,
    detached: true,
    ...(ids ?? {}),
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a child and everything it forked: SIGTERM to the tree (and its process group), then SIGKILL
 * to whatever is left after graceMs. Resolves with the number of processes that had to be killed.
 */
export async function killTree(child: ChildProcess, graceMs = 5000): Promise<number> {
  const root = child.pid;
  if (root === undefined) return 0;
  const pids = (await processTree(root)).map((p) => p.pid);
  if (pids.length === 0) pids.push(root);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pids.some(alive)) await sleep(50);
  const left = pids.filter(alive);
  for (const pid of left) signal(pid, 'SIGKILL');
  signal(-root, 'SIGKILL'); // the group we created: catches children re-parented meanwhile
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(20);
  const stragglers = (await allProcesses()).filter((p) => p.pgrp === root);
  for (const p of stragglers) signal(p.pid, 'SIGKILL');
  children.delete(child);
  return left.length;
}

/** Kills every child still registered, synchronously (for exit and signal handlers). */
export function killAllChildrenNow(): void {
  for (const child of children) {
    if (child.pid !== undefined) {
      signal(-child.pid, 'SIGKILL');
      signal(child.pid, 'SIGKILL');
    }
  }
  children.clear();
}
