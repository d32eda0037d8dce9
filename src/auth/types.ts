/**
 * Accounts and the Authenticator contract (docs/architecture.md, upstream §3.1): every backend answers
 * ok (stop, logged in), unknown (try the next backend) or denied (stop, login fails).
 */

/** An IPv4 or IPv6 network; `bits` is the prefix length. */
export interface Cidr {
  /** 4 bytes for IPv4, 16 for IPv6. */
  address: Uint8Array;
  bits: number;
  /** The entry as written in the account source, for logs. */
  text: string;
}

/** An authenticated account with its per-user overrides (absent = the global value). */
export interface Account {
  login: string;
  uid: number;
  gid: number;
  /** Absolute home directory as configured, without the `/./` marker. */
  home: string;
  /** True when the account is confined to `home` (a `/./` home, -A, quotas, ...). */
  chroot: boolean;
  /** Virtual start directory inside the root (`/./sub` homes), default `/`. */
  startDir?: string;
  anonymous: boolean;
  quota?: { files?: number; bytes?: number };
  ratio?: { up: number; down: number };
  /** Bytes per second. */
  bandwidth?: { up?: number; down?: number };
  allowClient?: Cidr[];
  denyClient?: Cidr[];
  allowLocal?: Cidr[];
  denyLocal?: Cidr[];
  /** Minutes since midnight; `from > to` wraps past midnight. */
  timeWindow?: { from: number; to: number };
  maxSessions?: number;
  expires?: Date;
  /** Name of the backend that accepted the login (for logs). */
  backend: string;
  /**
   * Root, or a member (primary or supplementary group) of the -a trusted group (set by the chain):
   * not chrooted by -A/-a, no quota, no ratio, -x/-X and -K do not apply (upstream §6.2).
   */
  trusted?: boolean;
  /** An anonymous session of a virtual host: the local address whose directory is its root. */
  vhost?: string;
}

/** What a backend knows about the connection a login comes from. */
export interface Credentials {
  password: string;
  remoteIp: string;
  localIp: string;
  localPort: number;
  tls: boolean;
  /** TLS server name asked by the client, when any. */
  sni?: string;
  /** The parent's id of the connection (session workers), so its file access can be granted. */
  connection?: number;
}

/** The tri-state result of one backend (upstream §3.1). */
export type AuthResult =
  | { kind: 'ok'; account: Account }
  | { kind: 'unknown' }
  /** `backend`: the name of the backend that refused (set by the chain). */
  | { kind: 'denied'; reason: string; backend?: string };

/** One authentication backend of the chain. */
export interface Authenticator {
  readonly name: string;
  authenticate(login: string, cred: Credentials): Promise<AuthResult>;
  /** Releases pools, watchers and sockets. */
  close?(): Promise<void>;
}
