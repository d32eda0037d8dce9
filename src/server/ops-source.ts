/**
 * What the operations side (the who socket, the metrics listener and its status page) asks of the
 * running server, whichever process model serves: one process (FtpServer) or a parent and its
 * session workers (Supervisor, which asks each worker).
 */
import type { EventBus } from '../telemetry/bus.js';
import { ParentMetrics, SessionMetrics, type MetricsJson } from '../telemetry/metrics.js';
import type { WhoEntry } from '../telemetry/who.js';
import type { FtpServer } from './server.js';
import type { Supervisor } from '../cluster/supervisor.js';
import type { Ban } from '../policy/defender.js';
import type { StateStore } from '../policy/state.js';
import type { RedisStateStore } from '../cluster/redis-state.js';

/** The server as the operations side sees it. */
export interface OpsSource {
  /** Every live session, in every process. */
  who(): Promise<WhoEntry[]>;
  /** Ends a session (421); false when there is no such session. */
  kick(id: number, node?: string): Promise<boolean>;
  /** `tsftpd ban`: the bans in force (of every node with a shared store), one added, one lifted. */
  bans(): Promise<Ban[]>;
  ban(ip: string, seconds: number | undefined): Promise<Ban | undefined>;
  unban(ip: string): Promise<boolean>;
  /** Every process's metrics (empty when --metrics is off). */
  metrics(): Promise<MetricsJson[]>;
  /** Processes serving: session workers (0 when one process serves) and all of tsftpd's. */
  processes(): { workers: number; total: number };
  /** Stops collecting. */
  close(): void;
}

/** The operations view of a one-process server; `withMetrics`: keep metrics (--metrics). */
export function singleProcessSource(server: FtpServer, bus: EventBus, withMetrics: boolean): OpsSource {
  const metrics = withMetrics ? new SessionMetrics(bus, 'main', () => server.who()) : undefined;
  return {
    who: () => Promise.resolve(server.who()),
    kick: (id) => Promise.resolve(server.kick(id)),
    ...banOps(
      () => server.context.state,
      () => Promise.resolve(server.who()),
      (id) => Promise.resolve(server.kick(id)),
    ),
    metrics: async () => (metrics === undefined ? [] : [await metrics.json()]),
    processes: () => ({ workers: 0, total: 1 }),
    close: () => metrics?.close(),
  };
}

/** The operations view of a parent and its workers; `withMetrics`: keep metrics (--metrics). */
export function supervisorSource(supervisor: Supervisor, withMetrics: boolean): OpsSource {
  const counts = (): { workers: number; brokers: number } => ({
    workers: supervisor.workersRunning,
    brokers: supervisor.brokersRunning,
  });
  const parent = withMetrics ? new ParentMetrics(counts) : undefined;
  return {
    who: () => supervisor.who(),
    kick: (id) => supervisor.kick(id),
    ...banOps(
      () => supervisor.store,
      () => supervisor.who(),
      (id) => supervisor.kick(id),
    ),
    metrics: async () => {
      if (parent === undefined) return [];
      const [own, workers] = await Promise.all([parent.json(), supervisor.workerMetrics()]);
      return [own, ...(workers as MetricsJson[])];
    },
    processes: () => {
      const c = counts();
      return { workers: c.workers, total: 1 + c.workers + c.brokers };
    },
    close: () => undefined,
  };
}

/**
 * The ban requests, answered by the node's store (memory, or Redis for every node); a ban by hand
 * also ends this node's sessions from that address (other nodes' end at their next connection).
 */
function banOps(
  store: () => StateStore,
  who: () => Promise<WhoEntry[]>,
  kick: (id: number) => Promise<boolean>,
): Pick<OpsSource, 'bans' | 'ban' | 'unban'> {
  return {
    bans: () => store().bans(),
    ban: async (ip, seconds) => {
      const ban = await store().addBan(ip, seconds);
      if (ban !== undefined) for (const e of await who()) if (e.remoteIp === ip) await kick(e.id);
      return ban;
    },
    unban: (ip) => store().removeBan(ip),
  };
}

/**
 * With a shared store (--state): this node publishes its sessions there with each heartbeat, and
 * the session list (who, the status page) holds every live node's, each entry naming its node.
 */
export function clusterSource(local: OpsSource, store: RedisStateStore): OpsSource {
  store.publishSessions(() => local.who());
  return {
    ...local,
    who: async () => {
      const [mine, others] = await Promise.all([local.who(), store.otherSessions()]);
      return [...mine.map((e) => ({ ...e, node: store.node })), ...others];
    },
    // Session ids are per node: another node's session is ended on that node (`--kill NODE:ID`
    // there); an id that several nodes have must name its node.
    kick: async (id, node) => {
      if (node !== undefined && node !== store.node) return false;
      if (node === undefined && (await store.otherSessions()).some((e) => e.id === id))
        throw new Error(
          `session ${id} exists on several nodes: name it as NODE:ID (tsftpd who --json shows each node)`,
        );
      return local.kick(id);
    },
  };
}
