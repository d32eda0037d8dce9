/**
 * The server's configuration: one typed object, built once from defaults < config file < command
 * line, validated, then frozen (docs/architecture.md). Switch letters follow Pure-FTPd (upstream §1.2).
 */
import type { AltLogSpec } from '../telemetry/altlog.js';
import type { BanSettings } from '../policy/defender.js';

/** One `-l method[:arg]` entry of the authentication chain, in command-line order (upstream §3.1). */
export interface AuthMethod {
  method: 'puredb' | 'unix' | 'pam' | 'ldap' | 'mysql' | 'pgsql' | 'extauth';
  /** File or socket argument (`puredb:/etc/pure-ftpd/pureftpd.pdb`); PAM service for pam; absent for unix. */
  arg?: string;
}

/** A pair of byte rates in bytes per second; undefined means unlimited. */
export interface Bandwidth {
  up?: number;
  down?: number;
}

/** The validated, frozen server configuration. */
export interface Config {
  /** -S: listen address (undefined = every address) and port. */
  bind: { host?: string; port: number };
  /** -4 / -6 */
  ipv4Only: boolean;
  ipv6Only: boolean;
  /** -c: maximum simultaneous sessions. */
  maxClients: number;
  /** -C: maximum sessions per client IP; 0 = unlimited. */
  maxClientsPerIp: number;
  /** -I: idle timeout in seconds (the switch takes minutes). */
  maxIdleSeconds: number;
  /** -p: passive port range, inclusive. */
  passivePorts: { first: number; last: number };
  /**
   * -P: address announced in 227 replies: one address or host name, or rules per client network
   * (`10.0.0.0/8=10.1.2.3,*=ftp.example.com`, data/passive-address.ts); host names are re-resolved.
   */
  forcePassiveIp?: string;
  /** --proxy-protocol: the proxies (CIDR) whose connections carry a PROXY header; others are refused. */
  proxyProtocol?: string[];
  /** --ban-*: the brute-force defender (policy/defender.ts). */
  ban: BanSettings;
  /** --state: the shared store of several nodes (`redis://host:port/db`); undefined: this node's memory. */
  state?: string;
  /** --node-name: this node's name in the shared store (default: host name and port). */
  nodeName?: string;
  /** -e: anonymous logins only. */
  anonymousOnly: boolean;
  /** --vhost-dir: per-local-address anonymous roots (`DIR/<ip>`); undefined: Debian's; false: off. */
  vhostDir?: string | false;
  /** --hash-limit: MB each session may hash per minute (HASH, XMD5, ...); 0 turns them off. */
  hashLimitMb?: number;
  /** --language: the tag of the replies' language (src/i18n/languages.ts); undefined: English. */
  language?: string;
  /** --aliases-file: the directory aliases file; undefined: Debian's, when it exists. */
  aliasesFile?: string;
  /** The aliases read from it at start (and at SIGHUP): [alias, directory] pairs. */
  aliases?: [string, string][];
  /** -a: the trusted group (not chrooted, exempt from quotas, ratios, -x/-X, -K); every other account is chrooted. */
  trustedGid?: number;
  /** -V: accounts log in only on connections to this local address (others are anonymous-only). */
  trustedIp?: string;
  /** -E: no anonymous logins. */
  noAnonymous: boolean;
  /** -i: anonymous users cannot upload. */
  anonymousCantUpload: boolean;
  /** -M: anonymous users may create directories. */
  anonymousCanCreateDirs: boolean;
  /** -N: active mode only (PASV/EPSV/ESTA unknown). */
  natMode: boolean;
  /** -U: creation masks. */
  umask: { file: number; dir: number };
  /** -0: uploads go through a temp file renamed over the target at the end. */
  noTruncate: boolean;
  /** -r: never overwrite; uploads land as name.1, name.2, ... */
  autoRename: boolean;
  /** -K: DELE forbidden. */
  keepAllFiles: boolean;
  /** -G: RNFR/RNTO forbidden. */
  noRename: boolean;
  /** -R: SITE CHMOD forbidden (except uid 0). */
  noChmod: boolean;
  /** -D: LIST always shows dot-names. */
  displayDotFiles: boolean;
  /** -x: users cannot write dot-names. */
  prohibitDotFilesWrite: boolean;
  /** -X: users can neither read nor write dot-names. */
  prohibitDotFilesRead: boolean;
  /** -z: anonymous users may read dot-names. */
  allowDotFiles: boolean;
  /** -L: listing limits. */
  limitRecursion: { files: number; depth: number };
  /** -w / -W: FXP for users / for everybody. */
  allowUserFxp: boolean;
  allowAnonymousFxp: boolean;
  /** -H: no reverse DNS of clients. */
  dontResolve: boolean;
  /** -d: 0 none, 1 commands, 2 commands and replies. */
  verboseLog: number;
  /** -B: fork to the background. */
  daemonize: boolean;
  /** -g: PID file. */
  pidFile?: string;
  /** -b: compatibility hacks for broken clients. */
  brokenClients: boolean;
  /** -A: chroot every account (except uid 0). */
  chrootEveryone: boolean;
  /** -j: create missing home directories at login. */
  createHomeDir: boolean;
  /** -u: non-anonymous logins with a lower uid are refused after the password check (upstream §6.2). */
  minUid?: number;
  /** -l: authentication chain, in order. Empty = the default user database. */
  auth: AuthMethod[];
  /** --anonymous-root: home of anonymous; undefined = home of the `ftp` system account. */
  anonymousRoot?: string;
  /** --passwd-file: a pureftpd.passwd text file read directly (after the -l chain). */
  passwdFile?: string;
  /** --auth-delay: unit of the failed-login delay in milliseconds (upstream §12: 3 s). */
  authDelayMs: number;
  /** --follow-symlinks-out: follow admin-placed symlinks that point outside an account's root. */
  followSymlinksOut: boolean;
  /** --weak-jail: without openat2, confine by a userland walk instead of refusing confined accounts. */
  weakJail: boolean;
  /** --workers: session worker processes; undefined: one per CPU (docs/architecture.md "Processes"). */
  workers?: number;
  /** --run-as: the user session workers run as when started as root; undefined: tsftpd, ftp or nobody. */
  runAs?: string;
  /** --who-socket: the session-list socket (`tsftpd who`); undefined: the default place; false: off. */
  whoSocket?: string | false;
  /** --metrics: where the metrics and status-page listener binds; undefined: off. */
  metrics?: { host: string; port: number };
  /** --metrics-auth: file with `USER:PASSWORD` for HTTP basic authentication on the metrics listener. */
  metricsAuth?: string;
  /** --inetd: serve the connection on standard input (also detected when it is a TCP socket). */
  inetd: boolean;
  /** --quickstart: the `npm start` preset (port 2121, ./public, ./pureftpd.passwd). */
  quickstart: boolean;
  /** --log-format: text (Pure-FTPd style) or json lines on stderr. */
  logFormat: 'text' | 'json';
  /** -f: syslog facility or 'none'; tsftpd logs to stderr unless a facility is given. */
  syslogFacility?: string;
  /** -O: the transfer log (format and file). */
  altLog?: AltLogSpec;
  /** -F: the fortune file whose cookies replace the greeting. */
  fortunesFile?: string;
  /** -m: anonymous downloads refused when the 5-minute load average at connect time is at least this. */
  maxLoad?: number;
  /** -k: uploads refused when the file system is more than this percent full. */
  maxDiskUsage?: number;
  /** -s: anonymous users may not download files owned by the anonymous (ftp) uid. */
  antiWarez: boolean;
  /** -Z: SITE CHMOD keeps the owner's rw (files) or rwx (directories). */
  customerProof: boolean;
  /** -o: completed uploads go to the upload pipe. */
  uploadScript: boolean;
  /** --upload-pipe: the FIFO of -o (default DEFAULT_UPLOAD_PIPE). */
  uploadPipe?: string;
  /** -1: add the PID to syslog records. */
  logPid: boolean;
  /** --syslog-socket: the local syslog datagram socket. */
  syslogSocket: string;
  /** -n: virtual quota for every non-anonymous account (bytes from the switch's MB). */
  quota?: { files?: number; bytes?: number };
  /** -q: upload/download ratio for anonymous sessions. */
  anonymousRatio?: { up: number; down: number };
  /** -Q: upload/download ratio for every account but uid 0. */
  userRatio?: { up: number; down: number };
  /** -t / -T: the one bandwidth pair they share (bytes per second). */
  bandwidth?: Bandwidth;
  /** -t: throttle anonymous sessions. */
  throttleAnonymous: boolean;
  /** -T: throttle every session. */
  throttleUsers: boolean;
  /** -Y: 0 no TLS, 1 optional, 2 required for the control channel, 3 also for data (upstream §10). */
  tls: number;
  /** -2: PEM file with the certificate chain (and the key, unless keyFile is set). */
  certFile: string;
  /** -3: the socket of the certificate program (tsftpd certd / pure-certd) asked per SNI name. */
  extCertSocket?: string;
  /** -2 cert,key: separate key file. */
  keyFile?: string;
  /** -J: OpenSSL cipher list (without the -C:/-S: prefixes). */
  tlsCiphers?: string;
  /** -J -C:...: require and verify a client certificate against the CAs in the cert file. */
  tlsClientCert: boolean;
  /** --implicit-tls: extra listeners where TLS starts at connect (port 990 by convention). */
  implicitTls: { host?: string; port: number }[];
  /** Data connections must resume the control connection's TLS session (--no-tls-session-binding). */
  tlsSessionBinding: boolean;
  /** -y: concurrent sessions per account / in total for anonymous. */
  perUserLimits?: { perUser: number; anonymous: number };
}
