/**
 * The parent of the session workers (security-sensitive, see SECURITY.md). Guarantees:
 * - it parses no FTP command: it binds the listeners, accepts without reading (pauseOnConnect),
 *   applies -c and -C with exact counts over every worker (refusing with Pure-FTPd's 421), and hands
 *   each admitted connection to the worker with the fewest live sessions;
 * - it runs the authentication chain (root's files, PAM, database pools stay here), checks or
 *   creates (-j) the home of an account that authenticated, and answers the shared-state requests;
 * - started as root, workers run as the --run-as user with no supplementary group;
 * - a worker that dies is restarted (with a growing delay if it keeps dying); only its sessions end,
 *   and everything they held in the shared state is given back; the parent never dies of it;
 * - SIGTERM drains: listeners close, workers end their sessions (a grace period for transfers),
 *   then exit; SIGHUP (the caller's) reloads the certificate, which every worker gets.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/types.js';
import type { AnonymousAccount } from '../auth/anonymous.js';
import type { Authentication } from '../auth/chain.js';
import type { Credentials } from '../auth/types.js';
import { effectiveLimits } from '../policy/limits.js';
import { ensureHome, homeOf, identityOf, placement, rootOf } from '../session/login.js';
import { checkLoginRules } from '../policy/login-rules.js';
import { Channel, RpcChannel, closeFds, type RpcAnswer } from '../ipc/channel.js';
import { Brokers, type BrokerClient, type RootGrant } from './brokers.js';
import { FtpError } from '../errors.js';
import { Code } from '../session/codes.js';
import { formatReply, reply } from '../session/reply.js';
import type { EventBus } from '../telemetry/bus.js';
import type { CertificateStore } from '../tls/certificates.js';
import { bindListeners } from '../server/listeners.js';
import { StateServer, type ShareHolder } from './state-server.js';
import { LocalBans, MemoryStateStore, type StateStore } from '../policy/state.js';
import { arrive, takeSharedSlots, type Arrival } from '../server/admission.js';
import { takeForHandOff } from '../server/proxy-protocol.js';
import type { AskWhat, ParentMessage, WorkerMessage } from './protocol.js';
import type { WhoEntry } from '../telemetry/who.js';
import { isVhostRoot, vhostRoot } from '../policy/vhosts.js';
import { toWire } from './wire-error.js';
import { tr, type Msg } from '../i18n/msg.js';
import { languageOf } from '../i18n/languages.js';

/** The compiled worker entry point (worker-main.ts, next to this file). */
const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
/** How long a worker may take to start. */
const READY_TIMEOUT_MS = 30_000;
/** How long a refused connection may take to read its 421 before it is closed. */
const REFUSAL_GRACE_MS = 5000;
/**
 * A connection that arrives while no worker is ready (the first moments after start, or every
 * worker restarting) waits this long for one before its 421; at most MAX_WAITING_CONNS wait.
 */
const WORKER_WAIT_MS = 10_000;
const MAX_WAITING_CONNS = 256;
/** Restart delays of a worker that keeps dying: 0.5 s, doubling up to 30 s. */
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker alive this long is well again: its next death restarts it at the shortest delay. */
const HEALTHY_AFTER_MS = 60_000;

/** What the supervisor needs. */
export interface SupervisorOptions {
  config: Readonly<Config>;
  bus: EventBus;
  auth: Authentication;
  anonymous?: AnonymousAccount;
  tls?: CertificateStore;
  /** Number of session workers. */
  workers: number;
  /** Started as root: the unprivileged user workers run as. */
  runAs?: { name: string; uid: number; gid: number };
  ipv6Available: boolean;
  /** Sends the workers' syslog records (with -f; else they log to the inherited stderr). */
  syslog?: (records: string[]) => void;
  /** Appends the workers' transfer-log lines (-O). */
  transfers?: (lines: string[]) => void;
  /** Queues the workers' upload records (-o). */
  uploads?: (records: Buffer[]) => void;
  /** The node's store (default: memory; Redis with --state). */
  state?: StateStore;
}

/** How long a worker may take to answer an operations question, and how many may wait at once. */
const ASK_TIMEOUT_MS = 2000;
const MAX_ASKS = 1024;

/** Most syslog records in one message of a worker, and the longest record. */
const MAX_LOG_RECORDS = 1024;
const MAX_LOG_RECORD = 8192;

/** What the parent lets a connection open (brokered mode). */
interface ConnectionRoot extends RootGrant {
  /** The canonical form of `path`, once asked (a quota file's root is named so). */
  real?: string;
}

let nextClientKey = 0;

/** One session worker and what the parent knows of it. */
class WorkerSlot implements ShareHolder {
  child?: ChildProcess;
  ready = false;
  /** Connections handed over and not yet closed, by id (with their client address). */
  readonly conns = new Map<number, string>();
  /** The local address each connection reached (virtual hosts), by id. */
  readonly locals = new Map<number, string>();
  /** The roots of connections that logged in (brokered mode). */
  readonly roots = new Map<number, ConnectionRoot>();
  /** The descriptor channel to the worker (brokered mode). */
  native?: RpcChannel;
  /** The worker process, as the brokers know it. */
  client: BrokerClient = { key: 0 };
  startedAt = 0;
  restartDelay = RESTART_MIN_MS;

  constructor(readonly id: number) {}

  send(msg: ParentMessage, handle?: net.Socket): boolean {
    const c = this.child;
    if (c === undefined || !c.connected) return false;
    try {
      if (handle === undefined) c.send(msg);
      else c.send(msg, handle, { keepOpen: false });
      return true;
    } catch {
      return false;
    }
  }

  share(key: string, fraction: number): void {
    this.send({ t: 'share', key, fraction });
  }
}

/** The parent of the session workers. */
export class Supervisor {
  private readonly slots: WorkerSlot[] = [];
  private readonly state: StateServer;
  /** Gives back the shared-store slots (-c/-C across nodes) of each connection, by id. */
  private readonly sharedSlots = new Map<number, () => void>();
  private readonly listeners: net.Server[] = [];
  private readonly perIp = new Map<string, number>();
  private readonly warnedIps = new Set<string>();
  /** Refused connections flushing their 421. */
  private readonly refused = new Set<net.Socket>();
  /** Connections waiting for a ready worker (see WORKER_WAIT_MS). */
  private readonly waitingConns = new Map<
    net.Socket,
    { implicitTls: boolean; arrival: Arrival; timer: NodeJS.Timeout }
  >();
  /** Connections still reading their PROXY header or being checked. */
  private readonly arriving = new Set<net.Socket>();
  private live = 0;
  private nextConn = 0;
  private closing = false;
  /** Storage brokers (started as root), else undefined. */
  private readonly brokers?: Brokers;
  /** Questions to workers waiting for their answer (`ask`), by id. */
  private readonly asks = new Map<number, (value: unknown) => void>();
  private nextAsk = 0;

  constructor(private opts: SupervisorOptions) {
    this.state = new StateServer(opts.state ?? new MemoryStateStore(opts.config.ban));
    if (opts.runAs !== undefined) {
      this.brokers = new Brokers((level, message) => opts.bus.log(undefined, level, message));
    }
    for (let i = 1; i <= opts.workers; i++) this.slots.push(new WorkerSlot(i));
    opts.tls?.onReload((material) => {
      for (const w of this.slots) w.send({ t: 'tls', material });
    });
  }

  /**
   * SIGHUP (reload.ts): the configuration, chain and anonymous account for new sessions, in this
   * process and every worker (a worker started later gets them too).
   */
  reconfigure(next: { config: Readonly<Config>; auth: Authentication; anonymous?: AnonymousAccount }): void {
    this.opts = { ...this.opts, config: next.config, auth: next.auth, anonymous: next.anonymous };
    if (this.state.store instanceof LocalBans) this.state.store.defender.configure(next.config.ban);
    for (const w of this.slots) w.send({ t: 'config', config: next.config, anonymous: next.anonymous });
  }

  /** The node's store (bans for `tsftpd ban`, the shared session list). */
  get store(): StateStore {
    return this.state.store;
  }

  /** Sessions open in every worker. */
  get sessionCount(): number {
    return this.live;
  }

  /** Number of storage broker processes running now. */
  get brokersRunning(): number {
    return this.brokers?.count ?? 0;
  }

  /** Number of worker processes running now. */
  get workersRunning(): number {
    return this.slots.filter((w) => w.ready).length;
  }

  /**
   * Asks one worker a question of the operations side; resolves with its answer, or undefined when
   * it is not running or does not answer within ASK_TIMEOUT_MS (a busy worker delays no one else).
   */
  private ask(w: WorkerSlot, what: AskWhat, arg?: number): Promise<unknown> {
    if (!w.ready || this.asks.size >= MAX_ASKS) return Promise.resolve(undefined);
    const id = ++this.nextAsk;
    return new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => done(undefined), ASK_TIMEOUT_MS);
      const done = (value: unknown): void => {
        clearTimeout(timer);
        this.asks.delete(id);
        resolve(value);
      };
      this.asks.set(id, done);
      if (!w.send({ t: 'ask', id, what, arg })) done(undefined);
    });
  }

  /** What every session of every worker is doing (`tsftpd who`, the status page). */
  async who(): Promise<WhoEntry[]> {
    const lists = await Promise.all(this.slots.map((w) => this.ask(w, 'who')));
    return lists.flatMap((l) => (Array.isArray(l) ? (l as WhoEntry[]) : []));
  }

  /** Ends session `id` in whichever worker serves it (`tsftpd who --kill`); false when none does. */
  async kick(id: number): Promise<boolean> {
    const w = this.slots.find((x) => x.conns.has(id));
    return w !== undefined && (await this.ask(w, 'kick', id)) === true;
  }

  /** Every running worker's metrics, as prom-client's JSON (aggregated by the metrics listener). */
  async workerMetrics(): Promise<unknown[]> {
    const all = await Promise.all(this.slots.map((w) => this.ask(w, 'metrics')));
    return all.filter((m) => Array.isArray(m));
  }

  /** Starts the workers, then listens; resolves with the bound addresses. */
  async listen(): Promise<net.AddressInfo[]> {
    await Promise.all(this.slots.map((w) => this.spawn(w)));
    const servers = await bindListeners(this.opts.config, true, (socket, implicitTls) =>
      this.dispatch(socket, implicitTls),
    );
    for (const server of servers) {
      server.on('error', (err) => this.opts.bus.log(undefined, 'ERROR', `listener error: ${String(err)}`));
      this.listeners.push(server);
    }
    return servers.map((s) => s.address() as net.AddressInfo);
  }

  /** Starts (or restarts) one worker and waits until it is ready. */
  private async spawn(w: WorkerSlot): Promise<void> {
    const runAs = this.opts.runAs;
    // Brokered mode: a descriptor channel (the fifth stdio entry) carries roots and broker channels.
    const pair = this.brokers !== undefined ? await Channel.pair() : undefined;
    let child: ChildProcess;
    try {
      child = fork(WORKER_MAIN, [], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...(pair !== undefined ? [pair[1]] : [])],
        // Started as root, the worker loads its code, then drops to runAs itself before it is ready
        // (so tsftpd runs wherever it is installed, as Pure-FTPd forks before it drops root).
        // Node's own options go along (--import, --cpu-prof), not a debugger's port.
        execArgv: process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a)),
      });
    } catch (err) {
      if (pair !== undefined) closeFds([pair[0]]);
      throw err;
    } finally {
      if (pair !== undefined) closeFds([pair[1]]); // the child has its own copy
    }
    w.child = child;
    w.ready = false;
    w.startedAt = Date.now();
    w.client = { key: ++nextClientKey };
    if (pair !== undefined) {
      const native = new RpcChannel(await Channel.open(pair[0]), { timeoutMs: 30_000 });
      const client = w.client;
      native.serve({ root: (args) => this.root(w, client, args) });
      w.native = native;
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`worker ${w.id} did not start within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      child.on('message', (msg: WorkerMessage) => {
        if (msg.t === 'ready') {
          clearTimeout(timer);
          w.ready = true;
          resolve();
          this.admitWaiting();
          return;
        }
        this.onMessage(w, msg);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!w.ready)
          reject(new Error(`worker ${w.id} exited while starting (${signal ?? `status ${code}`})`));
        this.onExit(w, child, code, signal);
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      w.send({
        t: 'init',
        index: w.id,
        config: this.opts.config,
        anonymous: this.opts.anonymous,
        tls: this.opts.tls?.current,
        ipv6Available: this.opts.ipv6Available,
        privileged: this.opts.runAs !== undefined,
        runAs: runAs === undefined ? undefined : { uid: runAs.uid, gid: runAs.gid },
      });
    });
  }

  /** A worker ended: its sessions are gone; unless the server is stopping, it is started again. */
  private onExit(
    w: WorkerSlot,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (w.child !== child) return;
    w.child = undefined;
    w.ready = false;
    for (const [id, ip] of w.conns) {
      this.forget(ip, id);
      this.brokers?.connectionClosed(id);
    }
    w.conns.clear();
    w.locals.clear();
    w.roots.clear();
    w.native?.channel.close();
    w.native = undefined;
    this.brokers?.workerGone(w.client);
    this.state.dropWorker(w);
    if (this.closing) return;
    // A worker that ran well restarts at once; one that keeps dying waits longer each time.
    if (Date.now() - w.startedAt > HEALTHY_AFTER_MS) w.restartDelay = RESTART_MIN_MS;
    const delay = w.restartDelay;
    w.restartDelay = Math.min(w.restartDelay * 2, RESTART_MAX_MS);
    this.opts.bus.log(
      undefined,
      'ERROR',
      `worker ${w.id} exited (${signal ?? `status ${code}`}); its sessions ended; restarting in ${delay} ms`,
    );
    const timer = setTimeout(() => {
      if (this.closing) return;
      this.spawn(w).catch((err: unknown) =>
        this.opts.bus.log(undefined, 'ERROR', `worker ${w.id} could not restart: ${String(err)}`),
      );
    }, delay);
    timer.unref();
  }

  private onMessage(w: WorkerSlot, msg: WorkerMessage): void {
    switch (msg.t) {
      case 'closed': {
        const ip = w.conns.get(msg.id);
        if (ip === undefined) return;
        w.conns.delete(msg.id);
        w.locals.delete(msg.id);
        w.roots.delete(msg.id);
        this.brokers?.connectionClosed(msg.id);
        this.forget(ip, msg.id);
        return;
      }
      case 'release':
        this.state.release(w, msg.key);
        return;
      case 'log':
        if (Array.isArray(msg.records) && msg.records.length <= MAX_LOG_RECORDS) {
          this.opts.syslog?.(
            msg.records.filter((r) => typeof r === 'string').map((r) => r.slice(0, MAX_LOG_RECORD)),
          );
        }
        return;
      case 'xfer':
        if (Array.isArray(msg.lines) && msg.lines.length <= MAX_LOG_RECORDS) {
          this.opts.transfers?.(msg.lines.filter((l): l is string => typeof l === 'string'));
        }
        return;
      case 'upload':
        if (Array.isArray(msg.records) && msg.records.length <= MAX_LOG_RECORDS) {
          this.opts.uploads?.(
            msg.records
              .filter((r): r is string => typeof r === 'string' && r.length <= MAX_LOG_RECORD * 4)
              .map((r) => Buffer.from(r, 'latin1')),
          );
        }
        return;
      case 'join':
        this.state.join(w, msg.key);
        return;
      case 'leave':
        this.state.leave(w, msg.key);
        return;
      case 'req':
        this.answer(w, msg.id, msg.method, msg.args);
        return;
      case 'told':
        this.asks.get(msg.id)?.(msg.value);
        return;
    }
  }

  /** Answers a worker's request; errors travel back as their wire form. */
  private answer(w: WorkerSlot, id: number, method: string, args: unknown): void {
    const work = async (): Promise<unknown> => {
      const a = args as Record<string, unknown>;
      switch (method) {
        case 'acquire':
          return this.state.acquire(w, String(a.key), Number(a.max));
        case 'count':
          return this.state.count(String(a.key));
        case 'auth':
          return this.authenticate(w, String(a.login), a.cred as Credentials);
        case 'defender':
          return this.defender(a);
        case 'sni':
          // -3: the parent asks the certificate program and reads the files a worker may not.
          return this.opts.tls?.sniChooser?.(String(a.name)) ?? { kind: 'default' };
        default:
          throw new Error(`unknown request ${method}`);
      }
    };
    work().then(
      (value) => w.send({ t: 'res', id, ok: true, value }),
      (err: unknown) => w.send({ t: 'res', id, ok: false, error: toWire(err) }),
    );
  }

  /** A worker's question to the defender (policy/defender.ts), answered by the node's store. */
  private async defender(a: Record<string, unknown>): Promise<unknown> {
    const store = this.state.store;
    const ip = String(a.ip ?? '');
    switch (a.op) {
      case 'failed': {
        const verdict = await store.loginFailed(ip, String(a.login ?? ''));
        if (verdict.ban !== undefined && verdict.ban.until - Date.now() > 0) this.dropBanned(ip);
        return verdict;
      }
      case 'banned':
        return (await store.banned(ip)) ?? null;
      case 'locked':
        return (await store.accountLocked(String(a.login ?? ''))) ?? null;
      default:
        throw new Error('unknown defender request');
    }
  }

  /** A new ban: connections of that address still waiting for a worker are closed. */
  private dropBanned(ip: string): void {
    for (const [socket, { arrival, timer }] of this.waitingConns) {
      if (arrival.peer.remoteIp !== ip) continue;
      clearTimeout(timer);
      this.waitingConns.delete(socket);
      socket.destroy();
    }
  }

  /**
   * Runs the chain for a worker; for an account that logged in, checks its home (or creates it
   * with -j) with the parent's rights, since an unprivileged worker may not.
   */
  private async authenticate(w: WorkerSlot, login: string, cred: Credentials): Promise<unknown> {
    const result = await this.opts.auth.authenticate(login, cred);
    if (result.kind !== 'ok' || this.opts.runAs === undefined) return result;
    const { config } = this.opts;
    const account = result.account;
    const minUid = config.minUid;
    const refused =
      (!account.anonymous && minUid !== undefined && account.uid < minUid) ||
      checkLoginRules(account, { remoteIp: cred.remoteIp, localIp: cred.localIp, now: new Date() }) !==
        undefined;
    // The worker refuses such a login itself (and says why); nothing is prepared or granted for it.
    if (refused) return result;
    const quota = effectiveLimits(account, config).quota !== undefined;
    const place = placement(config, account, quota);
    await ensureHome(config, account, homeOf(account, place));
    const connection = cred.connection;
    if (connection !== undefined && w.conns.has(connection)) {
      // What this connection may open from now on: the account's root, as the account.
      w.roots.set(connection, {
        ...rootOf(config, place),
        weak: config.weakJail,
        identity: await identityOf(account),
      });
    }
    return result;
  }

  /**
   * A worker asks for the root of one of its connections: granted in the broker of the account's
   * identity when the connection logged in here with that root (or may log in anonymously).
   */
  private async root(w: WorkerSlot, client: BrokerClient, args: unknown): Promise<RpcAnswer> {
    const a = (args ?? {}) as { connection?: unknown; path?: unknown };
    const connection = Number(a.connection);
    const path = typeof a.path === 'string' ? a.path : '';
    const brokers = this.brokers;
    if (brokers === undefined || w.client !== client || !w.conns.has(connection)) {
      throw new FtpError('ERR_HOME', tr`Home directory not available - aborting`);
    }
    let grant: ConnectionRoot | undefined = w.roots.get(connection);
    const anon = this.opts.anonymous;
    // A virtual host's root, for anonymous sessions on that local address (upstream §6.1).
    const vroot =
      grant === undefined && anon !== undefined
        ? await vhostRoot(this.opts.config.vhostDir, w.locals.get(connection) ?? '')
        : undefined;
    // HOST (RFC 7151) may name any virtual host: its root is one of the directory's.
    const named =
      grant === undefined && anon !== undefined && path !== anon.root && path !== vroot
        ? await isVhostRoot(this.opts.config.vhostDir, path)
        : false;
    if (grant === undefined && anon !== undefined && (path === anon.root || path === vroot || named)) {
      // Anyone may log in anonymously when it is on: its root is the same for every connection
      // (to one local address).
      grant = {
        ...rootOf(this.opts.config, { root: path, chroot: true }),
        weak: this.opts.config.weakJail,
        identity: { uid: anon.uid, gid: anon.gid, groups: [anon.gid] },
      };
    }
    if (grant !== undefined && path !== grant.path) {
      grant.real ??= await realpath(grant.path).catch(() => grant!.path);
      if (path !== grant.real) grant = undefined;
    }
    if (grant === undefined) {
      this.opts.bus.log(undefined, 'ERROR', `worker ${w.id} asked for a root it was not granted: ${path}`);
      throw new FtpError('ERR_HOME', tr`Home directory not available - aborting`);
    }
    try {
      return await brokers.grantRoot(client, connection, { ...grant, path }, () => w.conns.has(connection));
    } catch (err) {
      if (err instanceof FtpError && err.detail !== undefined)
        this.opts.bus.log(undefined, 'ERROR', err.detail);
      throw err;
    }
  }

  /** A new connection: its PROXY header and the ban check, then the limits and a worker. */
  private dispatch(socket: net.Socket, implicitTls: boolean): void {
    socket.on('error', () => socket.destroy());
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.arriving.add(socket);
    arrive(socket, this.opts.config, this.opts.bus, this.state.store)
      .then((a) => {
        this.arriving.delete(socket);
        if (this.closing || socket.destroyed) socket.destroy();
        else if ('peer' in a) void this.admit(socket, implicitTls, a);
        else if (a.refusal !== undefined && !implicitTls) this.refuse(socket, a.refusal);
        else socket.destroy();
      })
      .catch(() => {
        this.arriving.delete(socket);
        socket.destroy();
      });
  }

  /** Admits a connection (-c, -C, and across nodes with a shared store) and hands it to the least busy worker. */
  private async admit(socket: net.Socket, implicitTls: boolean, arrival: Arrival): Promise<void> {
    const cfg = this.opts.config;
    const ip = arrival.peer.remoteIp;
    if (this.live >= cfg.maxClients) {
      // A TLS client would not read a plaintext 421.
      if (implicitTls) socket.destroy();
      else this.refuse(socket, tr`${cfg.maxClients} users (the maximum) are already logged in, sorry`);
      return;
    }
    const count = this.perIp.get(ip) ?? 0;
    if (cfg.maxClientsPerIp > 0 && count >= cfg.maxClientsPerIp) {
      if (!this.warnedIps.has(ip)) {
        this.warnedIps.add(ip);
        this.opts.bus.log(undefined, 'WARNING', `Too many connections (${count}) from this IP: [${ip}]`);
      }
      if (implicitTls) socket.destroy();
      else this.refuse(socket, tr`Too many connections (${count}) from this IP`);
      return;
    }
    const w = this.leastBusy();
    if (w === undefined) {
      if (this.waitingConns.size < MAX_WAITING_CONNS && !this.waitingConns.has(socket)) {
        const timer = setTimeout(() => {
          this.waitingConns.delete(socket);
          if (implicitTls) socket.destroy();
          else this.refuse(socket, tr`Service not available, try again in a moment`);
        }, WORKER_WAIT_MS);
        this.waitingConns.set(socket, { implicitTls, arrival, timer });
        socket.once('close', () => {
          clearTimeout(timer);
          this.waitingConns.delete(socket);
        });
        return;
      }
      if (implicitTls) socket.destroy();
      else this.refuse(socket, tr`Service not available, try again in a moment`);
      return;
    }
    const id = ++this.nextConn;
    w.conns.set(id, ip);
    w.locals.set(id, arrival.peer.localIp);
    this.perIp.set(ip, count + 1);
    this.live++;
    if (this.state.store.shared) {
      // Other nodes' connections count too (Redis); the slots are held until the connection ends.
      this.arriving.add(socket);
      const shared = await takeSharedSlots(this.state.store, cfg, ip).catch(() => () => undefined);
      this.arriving.delete(socket);
      if (typeof shared !== 'function' || this.closing || socket.destroyed || !w.conns.has(id)) {
        if (typeof shared === 'function') shared();
        if (w.conns.delete(id)) {
          w.locals.delete(id);
          this.forget(ip, id);
        }
        if (typeof shared !== 'function' && shared.refusal !== undefined && !implicitTls)
          this.refuse(socket, shared.refusal);
        else socket.destroy();
        return;
      }
      this.sharedSlots.set(id, shared);
    }
    // With a PROXY header read here, what Node read past it travels too (proxy-protocol.ts).
    const late = cfg.proxyProtocol !== undefined ? takeForHandOff(socket) : undefined;
    const head =
      late === undefined || late.length === 0
        ? arrival.head
        : Buffer.concat([arrival.head ?? Buffer.alloc(0), late]);
    const message = { t: 'conn' as const, id, implicitTls, live: this.live, peer: arrival.peer, head };
    if (!w.send(message, socket)) {
      w.conns.delete(id);
      w.locals.delete(id);
      this.forget(ip, id);
      socket.destroy();
    }
  }

  /** A worker became ready: the connections waiting for one are dispatched (admission checked again). */
  private admitWaiting(): void {
    const waiting = [...this.waitingConns];
    this.waitingConns.clear();
    for (const [socket, { implicitTls, arrival, timer }] of waiting) {
      clearTimeout(timer);
      if (!socket.destroyed) void this.admit(socket, implicitTls, arrival);
    }
  }

  private leastBusy(): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const w of this.slots) {
      if (!w.ready || w.child?.connected !== true) continue;
      if (best === undefined || w.conns.size < best.conns.size) best = w;
    }
    return best;
  }

  /** Connection `id` of `ip` ended. */
  private forget(ip: string, id: number): void {
    this.sharedSlots.get(id)?.();
    this.sharedSlots.delete(id);
    this.live = Math.max(0, this.live - 1);
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) {
      this.perIp.delete(ip);
      this.warnedIps.delete(ip);
    } else this.perIp.set(ip, n);
  }

  /** Sends Pure-FTPd's 421 and closes: at once if read, else after a short grace. */
  private refuse(socket: net.Socket, text: Msg): void {
    this.refused.add(socket);
    socket.once('close', () => this.refused.delete(socket));
    socket.end(formatReply(reply(Code.SERVICE_UNAVAILABLE, text), languageOf(this.opts.config).catalog));
    socket.setTimeout(REFUSAL_GRACE_MS, () => socket.destroy());
  }

  /** Stops listening, lets the workers end their sessions (at most `graceMs`), then stops them. */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    // No new connection from now on. close()'s callback waits until every connection handed to a
    // worker has ended (Node asks the workers), so it is awaited only once the workers are gone.
    const closed = this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    this.listeners.length = 0;
    for (const s of [...this.refused]) s.destroy();
    for (const s of [...this.arriving]) s.destroy();
    for (const [s, { timer }] of this.waitingConns) {
      clearTimeout(timer);
      s.destroy();
    }
    this.waitingConns.clear();
    const exits = this.slots.map((w) => {
      const child = w.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null)
        return Promise.resolve();
      return new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        if (!w.send({ t: 'stop', graceMs })) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs + 2000);
        timer.unref();
      });
    });
    await Promise.all(exits);
    await Promise.all(closed);
    await this.brokers?.close();
    await this.opts.auth.close();
  }
}
