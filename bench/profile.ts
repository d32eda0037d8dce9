/**
 * Reads V8 .cpuprofile files (written by `node --cpu-prof`) and sums self time per function and per
 * category (tsftpd code, Node internals, GC, idle), plus inclusive time of tsftpd's own functions,
 * so the report can say where the server spends its CPU.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Time of one function or category. */
export interface TimeEntry {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

/** The digest of one profile. */
export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  categories: TimeEntry[];
  selfTop: TimeEntry[];
  tsftpdInclusiveTop: TimeEntry[];
}

function shortUrl(url: string): string {
  const i = url.indexOf('/.build/');
  if (i !== -1) return url.slice(i + 1);
  return url.replace(/^file:\/\//, '');
}

function category(f: CallFrame): string {
  if (f.functionName === '(idle)') return 'idle';
  if (f.functionName === '(garbage collector)') return 'garbage collector';
  if (f.functionName === '(program)') return 'V8/native (program)';
  if (f.url.includes('/.build/src/')) return 'tsftpd code';
  if (f.url.includes('/.build/bench/')) return 'bench preload';
  if (f.url.startsWith('node:')) return 'Node.js internals (JS)';
  if (f.url.includes('/node_modules/')) return 'dependencies';
  return 'native/builtins';
}

function key(f: CallFrame): string {
  const where = f.url ? ` ${shortUrl(f.url)}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${where}`;
}

function top(map: Map<string, number>, busy: number, n: number): TimeEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => ({ name, ms, share: busy > 0 ? ms / busy : 0 }));
}

/** Summarises one .cpuprofile file. */
export async function summariseProfile(file: string, topN = 20): Promise<ProfileSummary> {
  const prof = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000; // µs to ms; a sample lasts until the next one
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
  }
  const selfByKey = new Map<string, number>();
  const byCategory = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    total += ms;
    if (f.functionName === '(idle)') idle += ms;
    selfByKey.set(key(f), (selfByKey.get(key(f)) ?? 0) + ms);
    byCategory.set(category(f), (byCategory.get(category(f)) ?? 0) + ms);
  }
  // Inclusive time of tsftpd functions: walk the tree once, counting each function once per path.
  const inclusive = new Map<string, number>();
  const root = prof.nodes[0];
  const subtree = (node: ProfileNode, active: Set<string>): number => {
    let sum = self.get(node.id) ?? 0;
    const k = key(node.callFrame);
    const mine = node.callFrame.url.includes('/.build/src/') && !active.has(k);
    if (mine) active.add(k);
    for (const c of node.children ?? []) sum += subtree(byId.get(c)!, active);
    if (mine) {
      active.delete(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + sum);
    }
    return sum;
  };
  if (root) subtree(root, new Set());
  const busy = total - idle;
  return {
    file,
    totalMs: total,
    busyMs: busy,
    categories: top(byCategory, busy, 20).filter((c) => c.name !== 'idle'),
    selfTop: top(new Map([...selfByKey].filter(([k]) => k !== '(idle)')), busy, topN),
    tsftpdInclusiveTop: top(inclusive, busy, 12),
  };
}

/** Every .cpuprofile under the given files or directories (three levels deep at most). */
export async function findProfiles(paths: string[], depth = 3): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (s?.isFile() && p.endsWith('.cpuprofile')) out.push(p);
    else if (s?.isDirectory() && depth > 0) {
      const names = (await readdir(p)).sort();
      out.push(
        ...(await findProfiles(
          names.map((n) => path.join(p, n)),
          depth - 1,
        )),
      );
    }
  }
  return out;
}

/** A readable text digest. */
export function formatSummary(s: ProfileSummary, title = path.basename(s.file)): string {
  const pct = (e: TimeEntry): string =>
    `${(e.share * 100).toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(6)} ms  ${e.name}`;
  return [
    `${title}: ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(s.busyMs / 1000).toFixed(1)} s busy`,
    '  by category (share of busy time):',
    ...s.categories.map((e) => `    ${pct(e)}`),
    '  top self time:',
    ...s.selfTop.map((e) => `    ${pct(e)}`),
    '  tsftpd functions, inclusive time:',
    ...s.tsftpdInclusiveTop.map((e) => `    ${pct(e)}`),
  ].join('\n');
}
