/**
 * Virtual users read straight from a `pureftpd.passwd` text file (upstream §3.2) — a tsftpd
 * convenience: Pure-FTPd itself only reads the `.pdb`. Guarantees: the file is read
 * asynchronously and only when its identity (inode, size, mtime) changed, checked at most once per
 * interval; a missing file means no users; the lines indexed are exactly those `pure-pw mkdb`
 * would index, and the first line of a login wins, as in a `.pdb` lookup.
 */
import { errnoCode } from '../../errors.js';
import { CachedFile } from '../cached-file.js';
import { isAcceptableLogin, passwdFileEntries } from '../passwd-line.js';
import type { AuthResult, Authenticator, Credentials } from '../types.js';
import { checkPasswdEntry, type PasswdBackendOptions } from './puredb.js';

/** Login → the rest of its line, for the lines `pure-pw mkdb` would index (the first line wins). */
function indexAccounts(text: string): ReadonlyMap<string, string> {
  const users = new Map<string, string>();
  for (const [login, rest] of passwdFileEntries(text)) if (!users.has(login)) users.set(login, rest);
  return users;
}

/** Authenticates virtual users against a pureftpd.passwd file, reloaded when it changes. */
export class PasswdFileAuthenticator implements Authenticator {
  /** Backend name as given to `-l`. */
  readonly name = 'passwd';
  /** Path of the passwd file. */
  readonly path: string;
  private readonly onWarning?: (message: string) => void;
  private readonly file: CachedFile<ReadonlyMap<string, string>>;
  private users: ReadonlyMap<string, string> = new Map();

  /** `checkIntervalMs` defaults to 1000: at most one stat per second whatever the login rate. */
  constructor(path: string, opts: PasswdBackendOptions = {}) {
    this.path = path;
    this.onWarning = opts.onWarning;
    this.file = new CachedFile(path, indexAccounts, {
      missing: new Map(),
      checkIntervalMs: opts.checkIntervalMs ?? 1000,
      // A transient error (EACCES, EIO...) keeps the last good copy rather than locking everyone out.
      onReadError: (err) =>
        this.onWarning?.(
          `passwd: cannot read ${path}: ${errnoCode(err) ?? String(err)}; keeping the previous accounts`,
        ),
    });
  }

  /** Unknown login → next backend; wrong password, uid/gid 0 or malformed line → denied. */
  async authenticate(login: string, cred: Credentials): Promise<AuthResult> {
    if (!isAcceptableLogin(login)) return { kind: 'unknown' };
    await this.refresh();
    const rest = this.users.get(login);
    if (rest === undefined) return { kind: 'unknown' };
    return checkPasswdEntry(login, rest, cred.password, this.name, this.onWarning);
  }

  /** Number of accounts currently loaded (for logs and tests). */
  get size(): number {
    return this.users.size;
  }

  /** Reloads the file if it changed; `force` looks now even if the interval has not passed. */
  async refresh(force = false): Promise<void> {
    this.users = await this.file.get(force);
  }
}
