/**
 * One run of one measurement group against one running server: the glue between the metric ids of
 * metrics.ts and the workloads. A group returns a value per metric id.
 */
import { availableParallelism } from 'node:os';
import type { BenchOptions } from './args.js';
import type { DataSet } from './fixtures.js';
import type { RunningServer } from './servers.js';
import { idleSessions, type IdleResult } from './sessions.js';
import { SERVER_NAMES } from './servers.js';
import { downloadTls, uploadTls, type TlsSample } from './tls-transfer.js';
import {
  downloadThroughput,
  listingTime,
  loginRate,
  smallFiles,
  uploadThroughput,
  type Endpoint,
} from './workloads.js';

/** What a group run needs. */
export interface GroupContext {
  opts: BenchOptions;
  data: DataSet;
  server: RunningServer;
  endpoint: Endpoint;
  /** The upload payload: the first MiB of the big file, repeated. */
  uploadBlock: Buffer;
  /** Warnings for the report (partial results and the like). */
  notes: string[];
}

/** The last idle-session result per server and count, for the safety estimate of bigger rounds. */
export const lastIdle = new Map<string, IdleResult>();

const MIB = 1 << 20;

/**
 * Unrecorded work before each measured round, so that neither server is timed while cold (JIT,
 * page cache, lazily loaded code): an eighth of the big file, a tenth of the small work.
 */
export async function warmUp(group: string, ctx: GroupContext): Promise<void> {
  const { opts, data, endpoint: ep } = ctx;
  const tenth = <T>(a: T[]): T[] => a.slice(0, Math.max(1, Math.ceil(a.length / 10)));
  switch (group) {
    case 'download':
      await downloadThroughput(ep, data.bigFile, opts.sizes.fileBytes, Math.ceil(opts.sizes.fileBytes / 8));
      return;
    case 'upload':
      await uploadThroughput(ep, data.uploadDir, Math.ceil(opts.sizes.fileBytes / 8), ctx.uploadBlock);
      return;
    case 'small-1':
    case 'small-16':
      await smallFiles(
        ep,
        tenth(data.smallFiles),
        opts.sizes.smallBytes,
        group === 'small-1' ? 1 : opts.parallel,
      );
      return;
    case 'tls':
      await downloadTls(ep, data.bigFile, opts.sizes.fileBytes, Math.ceil(opts.sizes.fileBytes / 8));
      await uploadTls(ep, data.uploadDir, Math.ceil(opts.sizes.fileBytes / 8), ctx.uploadBlock);
      return;
    case 'login':
      await loginRate(ep, Math.ceil(opts.logins / 10), 16);
      return;
    case 'list':
      // Both verbs, twice per CPU: a long-running server has its listing code compiled (V8's JIT)
      // already, in every session worker.
      for (let i = 0; i < 2 * availableParallelism(); i++) {
        await listingTime(ep, 'LIST', data.listDir, opts.sizes.listEntries);
        await listingTime(ep, 'MLSD', data.listDir, opts.sizes.listEntries);
      }
      return;
    default:
      return;
  }
}

/** Records once per server and direction what TLS the data connections negotiated (fairness check). */
function noteTls(ctx: GroupContext, direction: string, sample: TlsSample): void {
  const note = `${SERVER_NAMES[ctx.server.kind]} TLS ${direction} data connection: ${sample.tls}`;
  if (!ctx.notes.includes(note)) ctx.notes.push(note);
}

/** Runs one group once; values by metric id. */
export async function runGroupOnce(group: string, ctx: GroupContext): Promise<Record<string, number>> {
  const { opts, data, endpoint: ep } = ctx;
  const { sizes } = opts;
  switch (group) {
    case 'download':
      return { download: await downloadThroughput(ep, data.bigFile, sizes.fileBytes) };
    case 'upload':
      return { upload: await uploadThroughput(ep, data.uploadDir, sizes.fileBytes, ctx.uploadBlock) };
    case 'tls': {
      const down = await downloadTls(ep, data.bigFile, sizes.fileBytes);
      const up = await uploadTls(ep, data.uploadDir, sizes.fileBytes, ctx.uploadBlock);
      noteTls(ctx, 'download', down);
      noteTls(ctx, 'upload', up);
      return { 'download-tls': down.mibps, 'upload-tls': up.mibps };
    }
    case 'small-1':
      return { 'small-1': await smallFiles(ep, data.smallFiles, sizes.smallBytes, 1) };
    case 'small-16':
      return { 'small-16': await smallFiles(ep, data.smallFiles, sizes.smallBytes, opts.parallel) };
    case 'login':
      return { login: await loginRate(ep, opts.logins, 16) };
    case 'list':
      return {
        list: await listingTime(ep, 'LIST', data.listDir, sizes.listEntries),
        mlsd: await listingTime(ep, 'MLSD', data.listDir, sizes.listEntries),
      };
    default:
      break;
  }
  const m = /^sessions-(\d+)$/.exec(group);
  if (!m) throw new Error(`unknown group ${group}`);
  const n = Number(m[1]);
  const r = await idleSessions(ep, n, () => ctx.server.usage());
  lastIdle.set(`${ctx.server.kind}-${n}`, r);
  if (r.held < n) {
    const why = r.firstError ?? 'time limit';
    ctx.notes.push(`${ctx.server.kind}: ${r.opened} of ${n} sessions opened, ${r.held} held (${why})`);
  }
  return {
    [`${group}-open`]: r.openSeconds,
    [`${group}-held`]: r.held,
    [`${group}-rss`]: r.usage.rssBytes / MIB,
    [`${group}-pss`]: r.usage.pssBytes / MIB,
  };
}
