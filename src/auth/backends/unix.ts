/**
 * `-l unix` (upstream §3.1, log_unix.c): system accounts from /etc/passwd and /etc/shadow.
 * Guarantees: a login absent from /etc/passwd is `unknown`; once found, every refusal stops the
 * chain (denied): a shell not in /etc/shells (the literal shell `ftp` excepted), an expired account
 * or password, a locked or disabled hash (`!`, `*`, `@`), a wrong password. Hashes are checked by the
 * system's crypt(3) (yescrypt, SHA-crypt, bcrypt...) on the thread pool, in constant time. uid 0 is
 * accepted, as in Pure-FTPd (upstream §15.16): `-u` is the way to refuse it, and a server running as root
 * confines every account to its home (src/session/login.ts). Only the files are read: accounts
 * that exist only in another NSS source (LDAP, sssd) are unknown here; use `-l pam` for them.
 */
import { verifyPassword } from '../hashes/index.js';
import { CachedFile } from '../cached-file.js';
import { isAcceptableLogin, recordToAccount } from '../passwd-line.js';
import { EMPTY_USERS, userTable, type UserTable } from '../system-db.js';
import type { Account, AuthResult, Authenticator, Credentials } from '../types.js';
import type { BackendLog } from './ldap.js';
import {
  DEFAULT_SHELLS,
  SYSTEM_FILES,
  parseShadow,
  parseShells,
  type ShadowEntry,
  type UnixFiles,
} from './unix-files.js';

/** Pure-FTPd's FAKE_SHELL: accounts with this shell may use FTP without being in /etc/shells. */
const FTP_SHELL = 'ftp';

/** Today in days since 1970-01-01, the unit of /etc/shadow. */
function today(now: number): number {
  return Math.floor(now / 86_400_000);
}

/** Why a shadow entry refuses the login today, or undefined. */
function shadowRefusal(entry: ShadowEntry, now = Date.now()): string | undefined {
  const d = today(now);
  // shadow(5)/pam_unix: the account is expired from the expire day on (0 = expired since 1970).
  if (entry.expire !== undefined && d >= entry.expire) return 'account expired';
  // pam_unix: last change 0 means "must change the password", which FTP cannot do.
  if (entry.lastChange === 0) return 'password must be changed';
  if (entry.maxDays !== undefined && entry.lastChange !== undefined && entry.lastChange + entry.maxDays < d) {
    return 'password expired';
  }
  return undefined;
}

/** Authenticates system accounts from the passwd/shadow files. */
export class UnixAuthenticator implements Authenticator {
  /** Backend name as given to `-l`. */
  readonly name = 'unix';
  private readonly passwd: CachedFile<UserTable>;
  private readonly shadow: CachedFile<Map<string, ShadowEntry>>;
  private readonly shells: CachedFile<ReadonlySet<string>>;
  private shadowWarned = false;

  constructor(
    private readonly log: BackendLog = () => undefined,
    files: UnixFiles = SYSTEM_FILES,
    private readonly now: () => number = Date.now,
  ) {
    // One stat per login (cheap next to crypt(3)): `useradd` or `passwd` counts at the next login.
    const atEveryLogin = { checkIntervalMs: 0 };
    this.passwd = new CachedFile(files.passwd, userTable, { ...atEveryLogin, missing: EMPTY_USERS });
    this.shadow = new CachedFile(files.shadow, parseShadow, { ...atEveryLogin, missing: new Map() });
    this.shells = new CachedFile<ReadonlySet<string>>(files.shells, parseShells, {
      ...atEveryLogin,
      missing: DEFAULT_SHELLS,
    });
  }

  /** Checks the login in Pure-FTPd's order: shell, expiry, password. */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    if (!isAcceptableLogin(login)) return { kind: 'unknown' };
    const pw = (await this.passwd.get()).byName.get(login);
    if (pw === undefined) return { kind: 'unknown' };
    if (pw.shell.toLowerCase() !== FTP_SHELL && !(await this.shells.get()).has(pw.shell)) {
      return { kind: 'denied', reason: `shell ${pw.shell || '(none)'} is not in /etc/shells` };
    }
    let hash = pw.passwd;
    if (pw.passwd === 'x' || pw.passwd === `##${login}`) {
      let shadow: Map<string, ShadowEntry>;
      try {
        shadow = await this.shadow.get();
      } catch (err) {
        // Not root: the hash cannot be checked at all, which is "not ours", not "wrong password".
        if (!this.shadowWarned) {
          this.shadowWarned = true;
          this.log(
            'ERROR',
            `unix: cannot read ${this.shadow.path} (${(err as Error).message}); -l unix needs root`,
          );
        }
        return { kind: 'unknown' };
      }
      const sp = shadow.get(login);
      if (sp !== undefined) {
        const refusal = shadowRefusal(sp, this.now());
        if (refusal !== undefined) return { kind: 'denied', reason: refusal };
        hash = sp.hash;
      }
    }
    // verifyPassword refuses `!`/`*` (locked), `@` and empty hashes before calling crypt(3).
    if (!(await verifyPassword(cred.password, hash))) return { kind: 'denied', reason: 'bad password' };
    const account = systemAccount(login, pw.uid, pw.gid, pw.home, this.name);
    return account === undefined
      ? { kind: 'denied', reason: `home directory of ${login} is not absolute` }
      : { kind: 'ok', account };
  }
}

/**
 * The Account of a system user: passwd-line's recordToAccount does the `/./` split (upstream §6.2);
 * it refuses uid/gid 0 for virtual users, which system accounts may have (upstream §3.1), so it gets
 * placeholder ids and the real ones are put back.
 */
export function systemAccount(
  login: string,
  uid: number,
  gid: number,
  home: string,
  backend: string,
): Account | undefined {
  const converted = recordToAccount({ login, hash: '', uid: 1, gid: 1, gecos: '', home }, backend);
  if ('error' in converted) return undefined;
  return { ...converted.account, uid, gid };
}
