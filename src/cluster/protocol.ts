/**
 * The messages between the parent process and its session workers (Node's IPC channel, structured
 * clone serialization: Dates, typed arrays and Maps survive). The parent never parses FTP: it hands
 * accepted connections over, answers requests (authentication, shared state, storage) and pushes
 * changes (bandwidth shares, certificates, stop). Requests carry an id; the answer carries it back.
 */
import type { Config } from '../config/types.js';
import type { AnonymousAccount } from '../auth/anonymous.js';
import type { Material } from '../tls/certificates.js';
import type { Peer } from '../server/admission.js';

/** What a worker is told once, before any connection. */
export interface InitMessage {
  t: 'init';
  /** Worker number (1-based), for logs and the process title. */
  index: number;
  config: Readonly<Config>;
  anonymous?: AnonymousAccount;
  /** The certificate and key (workers cannot read root-only key files). */
  tls?: Material;
  ipv6Available: boolean;
  /** Accounts act as themselves through storage brokers (the server was started as root). */
  privileged: boolean;
  /** Started as root: the user to become (no supplementary group) once the code is loaded. */
  runAs?: { uid: number; gid: number };
}

/** A connection accepted (and admitted) by the parent; the socket travels as the message's handle. */
export interface ConnMessage {
  t: 'conn';
  /** The parent's id of the connection, echoed when the session ends. */
  id: number;
  /** Came through an implicit-TLS listener: the TLS handshake comes first. */
  implicitTls: boolean;
  /** Sessions open in every worker, this one included (the banner's "user number N"). */
  live: number;
  /** The client and local addresses (a PROXY header's, else the socket's). */
  peer?: Peer;
  /** Bytes the parent read past a PROXY header, to be read first. */
  head?: Uint8Array;
}

/** Parent → worker. */
export type ParentMessage =
  | InitMessage
  | ConnMessage
  | { t: 'res'; id: number; ok: true; value: unknown }
  | { t: 'res'; id: number; ok: false; error: WireError }
  /** The fraction of a shared rate this worker may use. */
  | { t: 'share'; key: string; fraction: number }
  /** A renewed certificate (SIGHUP, or the files changed). */
  | { t: 'tls'; material: Material }
  /** SIGHUP: the configuration new sessions get (reload.ts). */
  | { t: 'config'; config: Readonly<Config>; anonymous?: AnonymousAccount }
  /** SIGTERM: stop taking connections, end the sessions, exit. */
  | { t: 'stop'; graceMs: number }
  /** A question for the operations side (`tsftpd who`, metrics); answered with `told`. */
  | { t: 'ask'; id: number; what: AskWhat; arg?: number };

/**
 * What the parent may ask a worker: `who` → WhoEntry[]; `kick` (arg: session id) → boolean;
 * `metrics` → the worker's prom-client metrics as JSON (MetricObjectWithValues[]).
 */
export type AskWhat = 'who' | 'kick' | 'metrics';

/** What a worker may ask the parent. */
export type RequestMethod = 'auth' | 'acquire' | 'count' | 'root' | 'sni' | 'defender';

/** Worker → parent. */
export type WorkerMessage =
  | { t: 'ready' }
  /** A connection the parent handed over ended (its session, or a failed TLS handshake). */
  | { t: 'closed'; id: number }
  | { t: 'req'; id: number; method: RequestMethod; args: unknown }
  | { t: 'release'; key: string }
  /** Syslog records for the parent to send (it can reach the socket; the worker's user may not). */
  | { t: 'log'; records: string[] }
  /** Transfer-log lines (-O) for the parent to append (it opened the file). */
  | { t: 'xfer'; lines: string[] }
  /** Upload-pipe records (-o), each as a latin1 string of its bytes. */
  | { t: 'upload'; records: string[] }
  /** The answer to an `ask`. */
  | { t: 'told'; id: number; value: unknown }
  | { t: 'join'; key: string }
  | { t: 'leave'; key: string };

/** An error as it crosses the channel: an FtpError keeps its code and texts; anything else its message. */
/** A reply text between processes: verbatim, or a translatable text's key and values (src/i18n/msg.ts). */
export type WireText = string | { key: string; args: unknown[] };

export interface WireError {
  ftp?: { code: string; text: WireText; preamble: readonly WireText[]; detail?: string };
  message: string;
}
