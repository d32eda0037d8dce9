/**
 * Running one measurement group: rounds alternate between the servers, and so does the one that
 * goes first (tsftpd, Pure-FTPd, Pure-FTPd, tsftpd, ...), so that a busy spell of the machine and
 * the state a previous group left hit both alike; each round starts its server fresh, warms it
 * up, measures once and stops every process of it, so only one server runs at a time.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { runGroupOnce, lastIdle, warmUp, type GroupContext } from './groups.js';
import { LOOP_RESOLUTION_MS } from './loop-monitor.js';
import { findProfiles, formatSummary, summariseProfile } from './profile.js';
import type { CpuEntry, LoopEntry } from './results.js';
import { skipReason, waitForQuiet, type Limits } from './safety.js';
import { SERVER_NAMES, startServer, type ServerEnv, type ServerKind } from './servers.js';

/** Progress lines go to stderr; the table goes to stdout. */
export const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

/** Collected samples, by metric id and server. */
export class Samples {
  readonly values = new Map<string, Partial<Record<ServerKind, number[]>>>();
  readonly notRun = new Map<string, Partial<Record<ServerKind, string>>>();
  readonly shared = new Map<string, number[]>();

  add(id: string, kind: ServerKind, v: number): void {
    const m = this.values.get(id) ?? {};
    (m[kind] ??= []).push(v);
    this.values.set(id, m);
  }

  skip(ids: string[], kind: ServerKind, why: string): void {
    for (const id of ids) this.notRun.set(id, { ...this.notRun.get(id), [kind]: why });
  }
}

/** What every group shares. */
export interface GroupEnv {
  env: ServerEnv;
  base: Omit<GroupContext, 'server' | 'endpoint'>;
  samples: Samples;
  limits: Limits;
  /** With --profile: bench/profiles (one folder per group). */
  profileRoot: string | undefined;
  loop: LoopEntry[];
  cpu: CpuEntry[];
}

interface RoundOutcome {
  loop: { p50Ms: number; p99Ms: number; maxMs: number } | undefined;
  client: { p99Ms: number; maxMs: number };
  cpuSeconds: number;
}

const stall = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);

async function runRound(group: string, kind: ServerKind, g: GroupEnv, round: string): Promise<RoundOutcome> {
  const profileDir = g.profileRoot && kind === 'tsftpd' ? path.join(g.profileRoot, group) : undefined;
  const server = await startServer(kind, g.env, { profileDir, tls: group === 'tls' });
  try {
    const { user, password } = g.env.account;
    const endpoint = { host: server.host, port: server.port, user, password };
    // Event-loop delay counts from here: start-up is excluded, a cold server's first work is not.
    await server.loopReport();
    const client = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    client.enable();
    await warmUp(group, { ...g.base, server, endpoint });
    const cpu0 = (await server.usage()).cpuSeconds;
    const values = await runGroupOnce(group, { ...g.base, server, endpoint });
    const cpuSeconds = (await server.usage()).cpuSeconds - cpu0;
    for (const [id, v] of Object.entries(values)) g.samples.add(id, kind, v);
    const shown = Object.entries(values).map(([id, v]) => `${id} ${v.toFixed(v < 10 ? 2 : 0)}`);
    log(`${SERVER_NAMES[kind]} ${group} round ${round}: ${shown.join(', ')}`);
    const loop = await server.loopReport();
    client.disable();
    return {
      loop: loop && { p50Ms: loop.p50Ms, p99Ms: loop.p99Ms, maxMs: loop.maxMs },
      client: { p99Ms: stall(client.percentile(99)), maxMs: stall(client.max) },
      cpuSeconds,
    };
  } finally {
    await server.stop();
  }
}

/** Runs `runs` alternating rounds of a group; resolves with true when a server failed. */
export async function runGroup(
  group: string,
  servers: ServerKind[],
  ids: string[],
  runs: number,
  g: GroupEnv,
): Promise<boolean> {
  const n = Number(/^sessions-(\d+)$/.exec(group)?.[1] ?? 0);
  const out = new Map<ServerKind, RoundOutcome[]>();
  const stopped = new Set<ServerKind>();
  let failed = false;
  if (g.profileRoot) {
    await rm(path.join(g.profileRoot, group), { recursive: true, force: true });
    await mkdir(path.join(g.profileRoot, group), { recursive: true });
  }
  for (let r = 0; r < runs; r++) {
    // Who goes first alternates: the first server of a round meets whatever the previous group left
    // (page cache full of its files, dirty pages); the second one finds it cleaned up.
    for (const kind of r % 2 === 0 ? servers : [...servers].reverse()) {
      if (stopped.has(kind)) continue;
      // Pure-FTPd above 1,000 sessions forks thousands of processes for minutes: one round only.
      if (kind === 'pureftpd' && n > 1000 && r > 0) {
        if (r === 1) g.base.notes.push(`${SERVER_NAMES[kind]} ${group}: one round only (time bound)`);
        continue;
      }
      const why = await skipReason(
        group,
        kind,
        g.limits,
        n > 1000 ? lastIdle.get(`${kind}-1000`) : undefined,
      );
      if (why) {
        log(`${SERVER_NAMES[kind]} ${group}: not run: ${why}`);
        if (!g.samples.values.get(ids[0])?.[kind]) g.samples.skip(ids, kind, why);
        else g.base.notes.push(`${SERVER_NAMES[kind]} ${group}: round ${r + 1} and later not run: ${why}`);
        stopped.add(kind);
        continue;
      }
      const busy = g.base.opts.mode === 'smoke' ? 0 : await waitForQuiet(log);
      if (busy >= 0.5) {
        g.base.notes.push(
          `${SERVER_NAMES[kind]} ${group} round ${r + 1} began with the machine ${(busy * 100).toFixed(0)}% busy`,
        );
      }
      try {
        const o = await runRound(group, kind, g, `${r + 1}/${runs}`);
        out.set(kind, [...(out.get(kind) ?? []), o]);
      } catch (err) {
        failed = true;
        stopped.add(kind);
        const msg = err instanceof Error ? err.message : String(err);
        log(`${SERVER_NAMES[kind]} ${group}: FAILED: ${msg}`);
        g.samples.skip(ids, kind, `failed: ${msg.slice(0, 120)}`);
        g.base.notes.push(`${SERVER_NAMES[kind]} ${group} failed: ${msg}`);
      }
    }
  }
  for (const [kind, rounds] of out) {
    g.cpu.push({ group, server: kind, seconds: rounds.reduce((a, o) => a + o.cpuSeconds, 0) });
    const loops = rounds.flatMap((o) => (o.loop ? [o.loop] : []));
    if (loops.length === 0) continue;
    const worst = (f: (x: { p50Ms: number; p99Ms: number; maxMs: number }) => number): number =>
      Math.max(...loops.map(f));
    g.loop.push({
      group,
      p50Ms: worst((l) => l.p50Ms),
      p99Ms: worst((l) => l.p99Ms),
      maxMs: worst((l) => l.maxMs),
      clientP99Ms: Math.max(...rounds.map((o) => o.client.p99Ms)),
      clientMaxMs: Math.max(...rounds.map((o) => o.client.maxMs)),
    });
  }
  if (g.profileRoot) {
    for (const f of await findProfiles([path.join(g.profileRoot, group)])) {
      process.stdout.write(`\n${formatSummary(await summariseProfile(f, 15), `profile of ${group}`)}\n`);
    }
  }
  return failed;
}
