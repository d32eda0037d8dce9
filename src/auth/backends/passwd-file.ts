/**
 * Virtual users read straight from a `pureftpd.passwd` text file (spec §3.2) — a tsftpd
 * convenience: Pure-FTPd itself only reads the `.pdb`. Guarantees: the file is read
 * asynchronously and only when its identity (inode, size, mtime) changed, checked at most once per
 * interval; a missing file means no users; the lines indexed are exactly those `pure-pw mkdb`
 * would index, and the first line of a login wins, as in a `.pdb` lookup.
 */
import { readFile, stat } from 'node:fs/promises';
import { errnoCode } from '../../errors.js';
import { isAcceptableLogin, passwdFileEntries } from '../passwd-line.js';
import type { AuthResult, Authenticator, Credentials } from '../types.js';
import { checkPasswdEntry, type PasswdBackendOptions } from './puredb.js';

/** Authenticates virtual users against a pureftpd.passwd file, reloaded when it changes. */
export class PasswdFileAuthenticator implements Authenticator {
  /** Backend name as given to `-l`. */
  readonly name = 'passwd';
  /** Path of the passwd file. */
  readonly path: string;
  private readonly checkIntervalMs: number;
  private readonly onWarning?: (message: string) => void;
  private users = new Map<string, string>();
  private loadedId: string | undefined;
  private lastCheck = -Infinity;
  private loading: Promise<void> | undefined;

  /** `checkIntervalMs` defaults to 1000: at most one stat per second whatever the login rate. */
  constructor(path: string, opts: PasswdBackendOptions = {}) {
    this.path = path;
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
    this.onWarning = opts.onWarning;
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

  /** Reloads the file now if it changed (also used at start-up to fail early on a bad path). */
  async refresh(force = false): Promise<void> {
    // A login that arrives while a reload runs must wait for it, not see the old (maybe empty) map.
    if (this.loading !== undefined) return this.loading;
    if (!force && Date.now() - this.lastCheck < this.checkIntervalMs) return;
    this.loading ??= this.reload().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async reload(): Promise<void> {
    this.lastCheck = Date.now();
    try {
      const st = await stat(this.path);
      const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
      if (id === this.loadedId) return;
      const text = await readFile(this.path, 'utf8');
      const users = new Map<string, string>();
      for (const [login, rest] of passwdFileEntries(text)) if (!users.has(login)) users.set(login, rest);
      this.users = users;
      this.loadedId = id;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.users = new Map();
        this.loadedId = undefined;
        return;
      }
      // A transient error (EACCES, EIO...) keeps the last good copy rather than locking everyone out.
      this.onWarning?.(
        `passwd: cannot read ${this.path}: ${code ?? String(err)}; keeping the previous accounts`,
      );
    }
  }
}
