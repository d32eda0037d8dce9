/**
 * What a command handler may see and do with its session (docs/architecture.md): the state the
 * protocol remembers and the few actions a handler takes (reply, close, switch the socket to TLS).
 * Session (session.ts) implements it; handlers, data/ and tls/ depend on this interface only, so no
 * module outside session.ts imports the Session class, and session.ts imports no command.
 * `LoggedIn` is the context of commands that need a login: the gate checks the login, and the type
 * then guarantees the account and its storage.
 */
import type net from 'node:net';
import type { Account } from '../auth/types.js';
import type { Storage, VPath } from '../storage/types.js';
import type { SessionRef } from '../telemetry/bus.js';
import type { ServerContext } from '../server/context.js';
import type { DataSetup, Transfer } from '../data/types.js';
import type { EffectiveLimits } from '../policy/limits.js';
import type { RateLimiter } from '../data/throttle.js';
import type { SessionTls } from '../tls/session-tls.js';
import type { ParsedCommand } from './line-reader.js';
import type { Reply, ReplyLine } from './reply.js';
import type { Language } from '../i18n/languages.js';

/** A control connection as command handlers see it. */
export interface SessionContext {
  readonly id: number;
  readonly ref: SessionRef;
  readonly startedAt: number;
  /** The parent's id of the connection, when a parent process accepted it (session workers). */
  readonly connection?: number;
  /** Control connection over IPv6 (not IPv4-mapped). */
  readonly ipv6: boolean;
  readonly server: ServerContext;

  // Login state.
  pendingUser?: string;
  /** HOST (RFC 7151): the virtual host the client named before logging in. */
  hostName?: string;
  account?: Account;
  storage?: Storage;
  /** True when the session is confined to its account's home (upstream §6.2). */
  chrooted: boolean;
  failedLogins: number;
  failedCwds: number;

  // Navigation and transfer parameters.
  cwd: VPath;
  /** Virtual path `~` stands for. */
  home: VPath;
  type: 'A' | 'I';
  restOffset: number;
  renameFrom?: VPath;
  data?: DataSetup;
  epsvAll: boolean;
  transfer?: Transfer;
  /** Per-session idle timeout (SITE IDLE), seconds. */
  idleSeconds: number;
  /** The language of the replies (--language, then LANG, RFC 2640 §4). */
  language: Language;

  // Per-account limits (upstream §4.2, §5), set at login.
  limits: EffectiveLimits;
  rates: { up?: RateLimiter; down?: RateLimiter };

  // Counters for QUIT and ratios.
  uploadedBytes: number;
  downloadedBytes: number;

  /** The control connection; replaced by its TLS socket after AUTH TLS. */
  socket: net.Socket;
  /** TLS state once the control connection is encrypted (AUTH TLS or implicit TLS). */
  tls?: SessionTls;

  /** True once logged in (user or anonymous). */
  readonly loggedIn: boolean;
  /** True for anonymous sessions. */
  readonly anonymous: boolean;
  /** -m: the 5-minute load average when the client connected (sampled only with -m). */
  readonly connectLoad?: number;
  /** True once close() has started. */
  readonly isClosing: boolean;

  /** Registers a callback run once when the session ends. */
  onClose(fn: () => void): void;
  /** Sends a reply (or several) on the control connection. */
  send(r: Reply): void;
  /** Shorthand for send(reply(code, ...lines)). */
  reply(code: number, ...lines: ReplyLine[]): void;
  /** Ends the session: aborts a transfer, closes data listeners, flushes and closes the socket. */
  close(reason: string): void;
  /** Stops reading the socket and forgets queued input (before a TLS handshake, upstream §10). */
  holdInput(): void;
  /** Continues the session on a new socket (the TLS socket that wraps the old one). */
  adoptSocket(socket: net.Socket): void;
  /** Drops the pending data-connection setup. */
  clearData(): void;
  /** Anti-idle bookkeeping (upstream §2.6); false when the session was closed. */
  noteActivity(counts: boolean): boolean;
  /** Changes the idle timeout (SITE IDLE). */
  setIdle(seconds: number): void;
}

/** The context of a command that needs a login: the gate guarantees the account and its storage. */
export interface LoggedIn extends SessionContext {
  account: Account;
  storage: Storage;
}

/** Runs one parsed command on a session; what the session is given instead of importing the table. */
export interface Dispatcher {
  /** Runs the command; resolves with the reply to send (or nothing when the handler replied itself). */
  execute(s: SessionContext, cmd: ParsedCommand): Promise<Reply | void>;
  /** True for the verbs handled at once while a transfer runs (ABOR, STAT, QUIT, NOOP). */
  duringTransfer(verb: string): boolean;
}
