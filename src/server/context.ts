/**
 * What every session shares with the server: the frozen config, the telemetry bus, the
 * authentication chain and the anonymous account. Built once at start-up (docs/architecture.md).
 */
import type { Config } from '../config/types.js';
import type { EventBus } from '../telemetry/bus.js';
import type { Authentication } from '../auth/chain.js';
import type { AnonymousAccount } from '../auth/anonymous.js';
import type { StateStore } from '../policy/state.js';
import type { RateLimiters } from '../data/throttle.js';
import type { CertificateStore } from '../tls/certificates.js';
import type { RootOpener } from '../storage/types.js';
import type { Identity } from '../storage/confined.js';

/** Services and shared state handed to every session. */
export interface ServerContext {
  readonly config: Readonly<Config>;
  readonly bus: EventBus;
  readonly auth: Authentication;
  /** Undefined when anonymous FTP is off (-E, or no anonymous root). */
  readonly anonymous?: AnonymousAccount;
  /** True when IPv6 is usable on this host (for the banner and EPSV 2). */
  readonly ipv6Available: boolean;
  /**
   * True when the server was started as root: accounts act with their own uid, gid and groups (the
   * kernel judges their file access) and every account is placed by its own rules.
   */
  readonly privileged: boolean;
  /** True when the parent process checked (or created, -j) each home right after authentication. */
  readonly homesByParent?: boolean;
  /**
   * Set when this process serves one session only (inetd mode, started as root): turns the whole
   * process into the account (groups, gid, uid) once it has logged in.
   */
  readonly becomeAccount?: (identity: Identity) => void;
  /** The server certificate, when TLS is enabled (-Y > 0 or implicit TLS). */
  readonly tls?: CertificateStore;
  /** Per-account session counts (-y, per-account max sessions). */
  readonly state: StateStore;
  /** Bandwidth limiters shared by the sessions of one account. */
  readonly rateLimiters: RateLimiters;
  /** Sessions currently open, in every process (for the banner's "user number N"). */
  sessionCount(): number;
  /** Opens an account's root (ConfinedRoot here, or a storage broker's when running as root). */
  readonly roots: RootOpener;
}
