/**
 * System user and group names to ids, for the SQL backends whose uid/gid columns may hold a name
 * (spec §3.6: getpwnam/getgrnam). Guarantees: /etc/passwd and /etc/group are read asynchronously,
 * at most once per second and only again when they changed; a missing or unreadable file means
 * "no such name". Accounts known only to NSS modules (LDAP, sssd) are not seen: use numbers there.
 */
import { readFile, stat } from 'node:fs/promises';

/** A colon-separated database (`name:x:id:...`) indexed by name, reloaded when it changes. */
export class IdFile {
  private ids = new Map<string, number>();
  private loadedId: string | undefined;
  private lastCheck = -Infinity;
  private loading: Promise<void> | undefined;

  /** `file`: /etc/passwd or /etc/group (the id is the third field of both). */
  constructor(
    readonly file: string,
    private readonly checkIntervalMs = 1000,
  ) {}

  /** The id of `name`, or undefined. */
  async lookup(name: string): Promise<number | undefined> {
    // A lookup during a reload waits for it instead of reading the previous (maybe empty) map.
    if (this.loading !== undefined) await this.loading;
    else if (Date.now() - this.lastCheck >= this.checkIntervalMs) {
      this.loading = this.reload().finally(() => (this.loading = undefined));
      await this.loading;
    }
    return this.ids.get(name);
  }

  private async reload(): Promise<void> {
    this.lastCheck = Date.now();
    try {
      const st = await stat(this.file);
      const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      if (id === this.loadedId) return;
      const ids = new Map<string, number>();
      for (const line of (await readFile(this.file, 'utf8')).split('\n')) {
        const f = line.split(':');
        if (f.length < 3 || f[0] === '' || f[0].startsWith('#') || !/^\d{1,10}$/.test(f[2])) continue;
        if (!ids.has(f[0])) ids.set(f[0], Number(f[2]));
      }
      this.ids = ids;
      this.loadedId = id;
    } catch {
      this.ids = new Map();
      this.loadedId = undefined;
    }
  }
}

/** The system user and group databases. */
export interface SystemIds {
  users: IdFile;
  groups: IdFile;
}

/** The default databases of the machine. */
export function systemIds(passwd = '/etc/passwd', group = '/etc/group'): SystemIds {
  return { users: new IdFile(passwd), groups: new IdFile(group) };
}

/**
 * A stored uid/gid: digits are the id (strtoul), anything else (or 0) is looked up as a name, as
 * Pure-FTPd does. Undefined when it resolves to nothing or to 0 (root is refused, spec §3.1).
 */
export async function resolveId(value: string, db: IdFile): Promise<number | undefined> {
  const m = /^\s*\+?(\d+)/.exec(value);
  const n = m === null ? 0 : Number(m[1]);
  if (n > 0) return n <= 0xffffffff ? n : undefined;
  const id = await db.lookup(value.trim());
  return id !== undefined && id > 0 ? id : undefined;
}
