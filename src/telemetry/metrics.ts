/**
 * Prometheus metrics (`--metrics`, docs/operations.md), kept with prom-client. Every process that
 * serves sessions (each session worker, or the one server process) has its own registry fed by its
 * telemetry bus; the process that listens for scrapes gathers every registry as JSON and lets
 * prom-client aggregate them (counters and histograms summed, per-process series kept apart by
 * their `process` label).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import type { EventBus } from './bus.js';
import type { WhoEntry, WhoState } from './who.js';

/** A registry's metrics as JSON (what crosses from a worker to the parent). */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

const STATES: Record<WhoState, string> = { IDLE: 'idle', DL: 'download', UL: 'upload', LIST: 'list' };
const KINDS = ['user', 'anonymous', 'unauthenticated'] as const;

/** Seconds: from a small file on loopback to a DVD image over a slow link. */
const TRANSFER_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];
/** Seconds: a directory listing. */
const LISTING_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];

/** The event-loop delay window restarts once it is this old (at a scrape). */
const DELAY_WINDOW_MS = 10_000;

/** Adds Node's process metrics (CPU, memory, handles, GC) and event-loop delay under `processLabel`. */
function processMetrics(registry: Registry, processLabel: string): void {
  collectDefaultMetrics({ register: registry, labels: { process: processLabel } });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let since = Date.now();
  new Gauge({
    name: 'tsftpd_event_loop_delay_seconds',
    help: 'Event-loop delay of each process over the last 10 to 20 seconds (quantile 1 = the longest)',
    labelNames: ['process', 'quantile'],
    registers: [registry],
    collect() {
      for (const q of [0.5, 0.99]) {
        this.set({ process: processLabel, quantile: String(q) }, delay.percentile(q * 100) / 1e9);
      }
      this.set({ process: processLabel, quantile: '1' }, delay.max / 1e9);
      // A window of its own, not "since the last scrape": the status page polls every second.
      if (Date.now() - since >= DELAY_WINDOW_MS) {
        delay.reset();
        since = Date.now();
      }
    },
  });
}

/** The metrics of a process that serves sessions. */
export class SessionMetrics {
  readonly registry = new Registry();
  private readonly offs: (() => void)[] = [];

  /**
   * `processLabel`: `worker-N` or `main`; `sessions`: the process's live sessions (the session
   * gauges and the bytes of transfers in progress are read from them at each scrape).
   */
  constructor(bus: EventBus, processLabel: string, sessions: () => WhoEntry[]) {
    const registers = [this.registry];
    processMetrics(this.registry, processLabel);
    const done = { in: 0, out: 0 };
    new Gauge({
      name: 'tsftpd_sessions',
      help: 'Open sessions by state (idle, download, upload, list) and kind (user, anonymous, unauthenticated)',
      labelNames: ['state', 'kind'],
      registers,
      collect() {
        const counts = new Map<string, number>();
        for (const e of sessions()) {
          const kind = e.account === '?' ? 'unauthenticated' : e.anonymous ? 'anonymous' : 'user';
          const key = `${STATES[e.state]}|${kind}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const state of Object.values(STATES))
          for (const kind of KINDS) this.set({ state, kind }, counts.get(`${state}|${kind}`) ?? 0);
      },
    });
    new Gauge({
      name: 'tsftpd_sessions_tls',
      help: 'Open sessions whose control connection is encrypted',
      registers,
      collect() {
        this.set(sessions().filter((e) => e.tls).length);
      },
    });
    new Counter({
      name: 'tsftpd_transfer_bytes_total',
      help: 'File bytes received (in) and sent (out), transfers in progress included',
      labelNames: ['direction'],
      registers,
      collect() {
        const live = { in: 0, out: 0 };
        for (const e of sessions()) {
          if (e.state === 'UL') live.in += Math.max(0, e.current - e.resume);
          else if (e.state === 'DL') live.out += Math.max(0, e.current - e.resume);
        }
        // A counter may only grow: what finished plus what is moving now (at most its final count).
        this.reset();
        this.inc({ direction: 'in' }, done.in + live.in);
        this.inc({ direction: 'out' }, done.out + live.out);
      },
    });
    const connections = new Counter({
      name: 'tsftpd_connections_total',
      help: 'Control connections accepted (sessions started)',
      registers,
    });
    const logins = new Counter({
      name: 'tsftpd_logins_total',
      help: 'Login attempts by result (ok, failed) and authentication backend (none: no backend knew the login)',
      labelNames: ['result', 'backend'],
      registers,
    });
    const transfers = new Counter({
      name: 'tsftpd_transfers_total',
      help: 'File transfers ended, by direction (upload, download) and result (ok, failed)',
      labelNames: ['direction', 'result'],
      registers,
    });
    const duration = new Histogram({
      name: 'tsftpd_transfer_duration_seconds',
      help: 'Duration of file transfers, data connection to final reply',
      labelNames: ['direction'],
      buckets: TRANSFER_BUCKETS,
      registers,
    });
    const listing = new Histogram({
      name: 'tsftpd_listing_duration_seconds',
      help: 'Duration of directory listings (LIST, NLST, MLSD)',
      buckets: LISTING_BUCKETS,
      registers,
    });
    const errors = new Counter({
      name: 'tsftpd_error_replies_total',
      help: 'Error replies (4xx, 5xx) sent, by reply code',
      labelNames: ['code'],
      registers,
    });
    this.offs.push(
      bus.on('connect', () => connections.inc()),
      bus.on('login', (e) => logins.inc({ result: 'ok', backend: e.backend })),
      bus.on('login-failed', (e) => logins.inc({ result: 'failed', backend: e.backend })),
      bus.on('transfer-end', (e) => {
        if (e.listing) {
          listing.observe(e.seconds);
          return;
        }
        if (e.direction === 'upload') done.in += e.bytes;
        else done.out += e.bytes;
        transfers.inc({ direction: e.direction, result: e.ok ? 'ok' : 'failed' });
        duration.observe({ direction: e.direction }, e.seconds);
      }),
      bus.on('reply', ({ line }) => {
        // One count per reply: its last line is `NNN text` (the lines before it are `NNN-text`).
        const code = /^([45]\d\d) /.exec(line)?.[1];
        if (code !== undefined) errors.inc({ code });
      }),
    );
  }

  /** This process's metrics as JSON (for the parent to aggregate). */
  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }

  /** Stops following the bus. */
  close(): void {
    for (const off of this.offs) off();
  }
}

/** The parent's own metrics: its process, and how many processes of each kind run. */
export class ParentMetrics {
  readonly registry = new Registry();

  constructor(counts: () => { workers: number; brokers: number }) {
    processMetrics(this.registry, 'parent');
    new Gauge({
      name: 'tsftpd_processes',
      help: 'tsftpd processes running, by kind (parent, worker, broker)',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        const c = counts();
        this.set({ kind: 'parent' }, 1);
        this.set({ kind: 'worker' }, c.workers);
        this.set({ kind: 'broker' }, c.brokers);
      },
    });
  }

  json(): Promise<MetricsJson> {
    return this.registry.getMetricsAsJSON();
  }
}

/** One registry (Prometheus text and its content type) out of several processes' JSON. */
export function aggregate(all: readonly MetricsJson[]): Registry {
  return AggregatorRegistry.aggregate(all as object[]);
}

/** Sum of a metric's values in aggregated JSON whose labels match `where`. */
export function sumOf(
  json: readonly MetricObjectWithValues<MetricValue<string>>[],
  name: string,
  where: Record<string, string> = {},
): number {
  const metric = json.find((m) => m.name === name);
  if (metric === undefined) return 0;
  let total = 0;
  for (const v of metric.values) {
    const labels = v.labels as Record<string, string | number | undefined>;
    if (Object.entries(where).every(([k, want]) => String(labels[k]) === want)) total += v.value;
  }
  return total;
}
