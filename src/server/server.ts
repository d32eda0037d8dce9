/**
 * Listeners and connection admission (upstream §1.2 -S -4 -6 -c -C, §6.4). Guarantees: never more than
 * -c sessions and -C sessions per client address at once; a refused connection gets Pure-FTPd's
 * 421 text and is closed without a banner; one failing session never affects the others.
 */
import net from 'node:net';
import os from 'node:os';
import type { Config } from '../config/types.js';
import { EventBus } from '../telemetry/bus.js';
import type { Authentication } from '../auth/chain.js';
import type { AnonymousAccount } from '../auth/anonymous.js';
import { Session } from '../session/session.js';
import { greeting } from '../commands/info.js';
import { commandDispatcher } from '../commands/table.js';
import type { ServerContext } from './context.js';
import { LocalBans, MemoryStateStore, type StateStore } from '../policy/state.js';
import { arrive, takeSharedSlots, type Arrival, type Peer } from './admission.js';
import { ConfinedRoot, type Identity } from '../storage/confined.js';
import type { RootOpener } from '../storage/types.js';
import { RateLimiters } from '../data/throttle.js';
import type { CertificateStore } from '../tls/certificates.js';
import type { SessionTls } from '../tls/session-tls.js';
import { acceptImplicitTls, logHandshake } from '../tls/control.js';
import type { TLSSocket } from 'node:tls';
import { Code } from '../session/codes.js';
import { formatReply, reply } from '../session/reply.js';
import { bindListeners } from './listeners.js';
import type { WhoEntry, WhoState } from '../telemetry/who.js';
import { tr, type Msg } from '../i18n/msg.js';
import { languageOf } from '../i18n/languages.js';

/** How long a refused connection may take to read its 421 before it is closed. */
const REFUSAL_GRACE_MS = 5000;
/** True when this host has an IPv6 address (for the banner line and EPSV 2). */
export function hostHasIpv6(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6'));
}

/** Inputs of a server. */
export interface ServerOptions {
  config: Readonly<Config>;
  auth: Authentication;
  anonymous?: AnonymousAccount;
  bus?: EventBus;
  /** The certificate, when TLS is on (-Y > 0 or implicit TLS). */
  tls?: CertificateStore;
  /** Shared state (default: this process's memory; a worker's goes to the parent). */
  state?: StateStore;
  /** How account roots are opened (default: in this process). */
  roots?: RootOpener;
  /** Accounts act as themselves (default: the process runs as root). */
  privileged?: boolean;
  /** The parent checks homes at authentication (unprivileged workers). */
  homesByParent?: boolean;
  /** Known by the parent (a worker is told); default: looked up on this host. */
  ipv6Available?: boolean;
  /** inetd mode as root: the process becomes the account after login (ServerContext.becomeAccount). */
  becomeAccount?: (identity: Identity) => void;
}

/** One session as `tsftpd who` shows it. */
function whoEntry(s: Session, worker: number | undefined): WhoEntry {
  const t = s.transfer;
  const state: WhoState =
    t === undefined ? 'IDLE' : t.listing ? 'LIST' : t.direction === 'upload' ? 'UL' : 'DL';
  return {
    id: s.id,
    pid: process.pid,
    worker,
    account: s.account === undefined ? '?' : s.account.anonymous ? 'ftp' : s.account.login,
    anonymous: s.anonymous,
    since: s.startedAt,
    state,
    file: t?.path ?? '',
    remoteIp: s.ref.remoteIp,
    remotePort: s.ref.remotePort,
    localIp: s.ref.localIp,
    localPort: s.ref.localPort,
    tls: s.tls !== undefined,
    transferStart: t?.startedAt ?? 0,
    resume: t?.offset ?? 0,
    current: t === undefined ? 0 : t.offset + t.bytes(),
    total: t !== undefined && t.direction === 'download' && !t.listing ? (t.total ?? 0) : 0,
  };
}

/** The FTP server: listening sockets plus the set of live sessions. */
export class FtpServer {
  readonly bus: EventBus;
  /** What new sessions get (replaced by reconfigure(); a session keeps the one it started with). */
  context: ServerContext;
  private readonly sessions = new Set<Session>();
  private readonly perIp = new Map<string, number>();
  private readonly listeners: net.Server[] = [];
  private readonly warnedIps = new Set<string>();
  /** Implicit-TLS connections still in their handshake (up to 30 s each): they count against -c. */
  private pendingHandshakes = 0;
  /** Sockets that are not sessions: refused ones flushing their 421, implicit-TLS handshakes. */
  private readonly unadmitted = new Set<net.Socket>();
  private closing = false;
  /** Sessions of every process, as the parent last said (0 in a single process). */
  private liveSessions = 0;

  constructor(private opts: ServerOptions) {
    this.bus = opts.bus ?? new EventBus();
    const sessions = this.sessions;
    this.context = {
      config: opts.config,
      bus: this.bus,
      auth: opts.auth,
      anonymous: opts.config.noAnonymous ? undefined : opts.anonymous,
      ipv6Available: opts.ipv6Available ?? hostHasIpv6(),
      privileged: opts.privileged ?? process.geteuid?.() === 0,
      homesByParent: opts.homesByParent,
      becomeAccount: opts.becomeAccount,
      // In a worker, the parent's count of every worker's sessions (told with each connection).
      sessionCount: () => Math.max(sessions.size, this.liveSessions),
      tls: opts.tls,
      state: opts.state ?? new MemoryStateStore(opts.config.ban),
      rateLimiters: new RateLimiters(),
      roots: opts.roots ?? ((realPath, request) => ConfinedRoot.open(realPath, request)),
    };
  }

  /**
   * SIGHUP (reload.ts): new sessions get this configuration, authentication chain and anonymous
   * account; open sessions keep theirs. The listeners stay as they are.
   */
  reconfigure(next: { config: Readonly<Config>; auth: Authentication; anonymous?: AnonymousAccount }): void {
    this.opts = { ...this.opts, config: next.config, auth: next.auth, anonymous: next.anonymous };
    this.context = {
      ...this.context,
      config: next.config,
      auth: next.auth,
      anonymous: next.config.noAnonymous ? undefined : next.anonymous,
    };
    if (this.context.state instanceof LocalBans) this.context.state.defender.configure(next.config.ban);
  }

  /** The parent's count of sessions in every worker (the banner's "user number N"). */
  setLiveSessions(n: number): void {
    this.liveSessions = n;
  }

  /** Number of open sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** What every session of this process is doing now (`tsftpd who`, metrics, the status page). */
  who(worker?: number): WhoEntry[] {
    return [...this.sessions].map((s) => whoEntry(s, worker));
  }

  /**
   * Ends the session `id` (`tsftpd who --kill`): 421, a transfer in progress aborted (an upload's
   * previous file kept), the connection closed. False when no such session is here.
   */
  kick(id: number): boolean {
    const s = [...this.sessions].find((x) => x.id === id);
    if (s === undefined || s.isClosing) return false;
    this.bus.log(s.ref, 'NOTICE', 'Session ended by the administrator');
    s.reply(Code.SERVICE_UNAVAILABLE, tr`Disconnected by the administrator`);
    s.close('Disconnected by the administrator');
    s.socket.destroy();
    return true;
  }

  /** Starts listening as -S/-4/-6 say; resolves with the bound addresses. */
  async listen(): Promise<net.AddressInfo[]> {
    const servers = await bindListeners(
      this.opts.config,
      false,
      (socket, implicitTls) => void this.arrive(socket, implicitTls),
    );
    for (const server of servers) {
      server.on('error', (err) => this.bus.log(undefined, 'ERROR', `listener error: ${String(err)}`));
      this.listeners.push(server);
    }
    return this.listeners.map((l) => l.address() as net.AddressInfo);
  }

  /**
   * Starts the session of a connection another process accepted and admitted (a worker's, from its
   * parent): no -c/-C check here, the parent counted it. `onEnd` runs once when it is over.
   */
  adopt(
    socket: net.Socket,
    opts: { implicitTls: boolean; connection?: number; peer?: Peer; head?: Uint8Array; onEnd: () => void },
  ): void {
    let ended = false;
    // Bytes the parent read past a PROXY header come first.
    if (opts.head !== undefined && opts.head.length > 0) socket.unshift(Buffer.from(opts.head));
    const end = (): void => {
      if (ended) return;
      ended = true;
      opts.onEnd();
    };
    socket.once('close', end);
    if (!opts.implicitTls) {
      this.startSession(socket, undefined, end, opts.connection, opts.peer);
      return;
    }
    const store = this.context.tls;
    socket.on('error', () => socket.destroy());
    if (store === undefined) {
      socket.destroy();
      return;
    }
    this.unadmitted.add(socket);
    acceptImplicitTls(socket, store)
      .then(
        ({ socket: secure, state }) => this.startSession(secure, state, end, opts.connection, opts.peer),
        (err: unknown) => {
          if (!this.closing) {
            this.bus.log(undefined, 'WARNING', `implicit TLS handshake failed: ${(err as Error).message}`);
          }
          socket.destroy();
        },
      )
      .finally(() => this.unadmitted.delete(socket));
  }

  /**
   * A new connection: its PROXY header (--proxy-protocol) and the ban check, then the TLS handshake
   * (implicit TLS) and the limits.
   */
  private async arrive(socket: net.Socket, implicitTls: boolean): Promise<void> {
    socket.on('error', () => socket.destroy());
    this.unadmitted.add(socket);
    let a;
    try {
      a = await arrive(socket, this.opts.config, this.bus, this.context.state);
    } finally {
      this.unadmitted.delete(socket);
    }
    if (this.closing || socket.destroyed) {
      socket.destroy();
      return;
    }
    if (!('peer' in a)) {
      if (a.refusal !== undefined && !implicitTls) this.refuse(socket, a.refusal);
      else socket.destroy();
      return;
    }
    if (a.head !== undefined) socket.unshift(a.head);
    if (implicitTls) this.admitImplicitTls(socket, a);
    else await this.admit(socket, undefined, a);
  }

  /** Implicit FTPS: the TLS handshake comes first, then the usual admission and greeting. */
  private admitImplicitTls(raw: net.Socket, arrival: Arrival): void {
    const store = this.context.tls;
    // Counting handshakes in progress keeps a flood of connections that never finish theirs from
    // holding unbounded sockets and TLS state while the session count still looks low.
    if (store === undefined || this.sessions.size + this.pendingHandshakes >= this.opts.config.maxClients) {
      raw.destroy();
      return;
    }
    this.pendingHandshakes++;
    this.unadmitted.add(raw);
    acceptImplicitTls(raw, store)
      .then(
        ({ socket, state }) => this.admit(socket, state, arrival),
        (err: unknown) => {
          if (!this.closing) {
            this.bus.log(undefined, 'WARNING', `implicit TLS handshake failed: ${(err as Error).message}`);
          }
          raw.destroy();
        },
      )
      .finally(() => {
        this.pendingHandshakes--;
        this.unadmitted.delete(raw);
      });
  }

  /**
   * Sends the 421 of a refused connection and closes it: at once if the client reads it, else after
   * a short grace, so a client that never reads cannot hold the socket (nor delay close()).
   */
  private refuse(socket: net.Socket, text: Msg): void {
    this.unadmitted.add(socket);
    socket.once('close', () => this.unadmitted.delete(socket));
    socket.end(formatReply(reply(Code.SERVICE_UNAVAILABLE, text), languageOf(this.opts.config).catalog));
    socket.setTimeout(REFUSAL_GRACE_MS, () => socket.destroy());
  }

  private async admit(socket: net.Socket, tls: SessionTls | undefined, arrival: Arrival): Promise<void> {
    const cfg = this.opts.config;
    socket.on('error', () => socket.destroy());
    const ip = arrival.peer.remoteIp;
    if (this.sessions.size >= cfg.maxClients) {
      this.refuse(socket, tr`${cfg.maxClients} users (the maximum) are already logged in, sorry`);
      return;
    }
    const count = this.perIp.get(ip) ?? 0;
    if (cfg.maxClientsPerIp > 0 && count >= cfg.maxClientsPerIp) {
      if (!this.warnedIps.has(ip)) {
        this.warnedIps.add(ip);
        this.bus.log(undefined, 'WARNING', `Too many connections (${count}) from this IP: [${ip}]`);
      }
      this.refuse(socket, tr`Too many connections (${count}) from this IP`);
      return;
    }
    this.perIp.set(ip, count + 1);
    const forget = (): void => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) {
        this.perIp.delete(ip);
        this.warnedIps.delete(ip);
      } else this.perIp.set(ip, n);
    };
    // Other nodes' connections count too when the store is shared (Redis).
    this.unadmitted.add(socket);
    const shared = await takeSharedSlots(this.context.state, cfg, ip).catch(() => () => undefined);
    this.unadmitted.delete(socket);
    if (typeof shared !== 'function' || this.closing || socket.destroyed) {
      forget();
      if (typeof shared === 'function') {
        shared();
        socket.destroy();
      } else if (shared.refusal !== undefined) this.refuse(socket, shared.refusal);
      return;
    }
    this.startSession(
      socket,
      tls,
      () => {
        forget();
        shared();
      },
      undefined,
      arrival.peer,
    );
  }

  /** Creates the session of an admitted connection and greets it; `onEnd` runs when it closes. */
  private startSession(
    socket: net.Socket,
    tls: SessionTls | undefined,
    onEnd: () => void,
    connection?: number,
    peer?: Peer,
  ): void {
    socket.on('error', () => socket.destroy());
    const session = new Session(socket, this.context, commandDispatcher, connection, peer);
    if (tls !== undefined) {
      session.tls = tls;
      logHandshake(session, tls, socket as TLSSocket);
    }
    this.sessions.add(session);
    // A connection paused to read its PROXY header (admission.ts) reads again now that the session
    // listens (a 'data' listener alone does not resume an explicitly paused stream).
    if (socket.readableFlowing === false) socket.resume();
    session.onClose(() => {
      this.sessions.delete(session);
      onEnd();
    });
    this.bus.emit('connect', { session: session.ref });
    session.send(greeting(session));
  }

  /** Stops listening and ends every session. */
  async close(graceMs = 0): Promise<void> {
    this.closing = true;
    const closed = this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    this.listeners.length = 0;
    // Refused connections and TLS handshakes in progress are no session yet, but still sockets.
    for (const socket of [...this.unadmitted]) socket.destroy();
    this.unadmitted.clear();
    const shut = (s: Session): void => {
      if (!this.sessions.has(s)) return;
      s.reply(Code.SERVICE_UNAVAILABLE, tr`Server shutting down`);
      s.close('Server shutting down');
      s.socket.destroy();
    };
    // Draining: a command in progress (a transfer above all) may finish within the grace period.
    const finishing = [...this.sessions].map((s) => s.finishCurrent().then(() => shut(s)));
    if (graceMs > 0 && finishing.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(finishing),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    for (const s of [...this.sessions]) shut(s);
    await Promise.all(closed);
    await this.opts.auth.close();
  }
}
