/**
 * `-l pam[:SERVICE]` (upstream §3.1): system accounts checked by PAM, service `pure-ftpd` by default.
 * Guarantees: each login is one PAM transaction (pam_authenticate + pam_acct_mgmt) run by the
 * tsftpd_pam addon on libuv's thread pool, never on the event loop; at most MAX_CONCURRENT run at
 * once so slow PAM modules cannot take every thread-pool slot from file I/O; a transaction that
 * does not finish in time counts as a failure. Every PAM failure is reported as `unknown` so the
 * chain continues (upstream §3.1); uid/gid/home come from getpwnam(3) (any NSS source). PAM_RHOST is
 * the client's address — Pure-FTPd passes its own host name (upstream §15.15), which defeats modules
 * such as pam_access or pam_tally that key on the remote host.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAddon } from '../../native-addons.js';
import { MAX_PASSWORD_LENGTH } from '../hashes/index.js';
import { isAcceptableLogin } from '../passwd-line.js';
import type { AuthResult, Authenticator, Credentials } from '../types.js';
import type { BackendLog } from './ldap.js';
import { systemAccount } from './unix.js';

/** What the addon answers for one transaction. */
export interface PamOutcome {
  ok: boolean;
  /** The failing call: start, authenticate, account or passwd (getpwnam). */
  step: string;
  code: number;
  message: string;
  uid?: number;
  gid?: number;
  home?: string;
}

/** The function exported by build/Release/tsftpd_pam.node. */
export interface PamAddon {
  authenticate(service: string, login: string, password: string, rhost: string): Promise<PamOutcome>;
}

/** Pure-FTPd's PAM service name (upstream §3.1). */
export const DEFAULT_PAM_SERVICE = 'pure-ftpd';
/** Simultaneous PAM transactions (libuv's pool has 4 threads by default, shared with fs). */
const MAX_CONCURRENT = 2;
/** Longest a transaction may take before the login is refused (a stuck network module). */
const TRANSACTION_TIMEOUT_MS = 30_000;
/** Where PAM service files live (Linux-PAM). */
const PAM_DIR = '/etc/pam.d';

/** True for a name PAM can open as /etc/pam.d/NAME. */
export function isValidPamService(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
}

/** Loads the addon (built only where the PAM headers exist). */
function loadPamAddon(): Promise<PamAddon> {
  return loadAddon<PamAddon>('tsftpd_pam');
}

/** Options of the PAM backend. */
export interface PamOptions {
  /** PAM service (file in /etc/pam.d); default `pure-ftpd`. */
  service?: string;
  log?: BackendLog;
  /** Tests inject an addon or an effective uid. */
  addon?: Promise<PamAddon>;
  geteuid?: () => number;
}

/** Authenticates system accounts through PAM. */
export class PamAuthenticator implements Authenticator {
  /** Backend name as given to `-l`. */
  readonly name = 'pam';
  readonly service: string;
  private readonly addon: Promise<PamAddon | undefined>;
  private readonly log: BackendLog;
  private readonly geteuid: () => number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private warnedNotRoot = false;

  /** Throws when the service name is not a plain file name. */
  constructor(opts: PamOptions = {}) {
    this.service = opts.service ?? DEFAULT_PAM_SERVICE;
    if (!isValidPamService(this.service)) throw new Error(`-l pam:${this.service}: invalid PAM service name`);
    this.log = opts.log ?? (() => undefined);
    this.geteuid = opts.geteuid ?? (() => process.geteuid?.() ?? -1);
    // PAM silently falls back to /etc/pam.d/other for a missing service: say so once, at start-up.
    const serviceFile = join(PAM_DIR, this.service);
    void access(serviceFile).catch(() =>
      this.log('WARNING', `pam: ${serviceFile} does not exist; PAM will use its "other" service instead`),
    );
    // Loaded now so a missing addon is reported at start-up, not at the first login.
    this.addon = (opts.addon ?? loadPamAddon()).catch((err: unknown) => {
      this.log(
        'ERROR',
        `pam: PAM support is not available (${(err as Error).message}); -l pam answers "unknown"`,
      );
      return undefined;
    });
  }

  /** Runs one PAM transaction; any failure is `unknown`, as Pure-FTPd's pw_pam_check (upstream §3.1). */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    if (!isAcceptableLogin(login) || cred.password.length > MAX_PASSWORD_LENGTH) return { kind: 'unknown' };
    const addon = await this.addon;
    if (addon === undefined) return { kind: 'unknown' };
    if (this.geteuid() !== 0) {
      // pam_unix can only check the caller's own password without root (no /etc/shadow access).
      if (!this.warnedNotRoot) {
        this.warnedNotRoot = true;
        this.log(
          'ERROR',
          'pam: tsftpd is not running as root, PAM cannot check system passwords; -l pam answers "unknown"',
        );
      }
      return { kind: 'unknown' };
    }
    let outcome: PamOutcome;
    try {
      outcome = await this.limited(() =>
        addon.authenticate(this.service, login, cred.password, cred.remoteIp),
      );
    } catch (err) {
      this.log('ERROR', `pam: ${login}: ${(err as Error).message}`);
      return { kind: 'unknown' };
    }
    if (!outcome.ok) {
      this.log('INFO', `pam: ${login}: ${outcome.step} failed: ${outcome.message}`);
      return { kind: 'unknown' };
    }
    const account = systemAccount(login, outcome.uid ?? -1, outcome.gid ?? -1, outcome.home ?? '', this.name);
    if (account === undefined || outcome.uid === undefined || outcome.gid === undefined) {
      this.log('WARNING', `pam: ${login}: home directory "${outcome.home ?? ''}" is not absolute`);
      return { kind: 'unknown' };
    }
    return { kind: 'ok', account };
  }

  /** Runs `job` when a slot is free, bounded by TRANSACTION_TIMEOUT_MS. */
  private async limited<T>(job: () => Promise<T>): Promise<T> {
    while (this.running >= MAX_CONCURRENT) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    // An async wrapper turns a synchronous throw (oversized argument) into a rejection.
    const work = (async () => job())();
    // The slot stays taken until the thread really finishes, even after a timeout.
    void work
      .catch(() => undefined)
      .finally(() => {
        this.running--;
        this.waiting.shift()?.();
      });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('PAM transaction timed out')), TRANSACTION_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
