/**
 * The system account databases, /etc/passwd and /etc/group, read the way glibc's `files` NSS
 * module reads them: getpwnam/getpwuid/getgrnam/getgrgid and initgroups over the files. Used by
 * the anonymous account (the `ftp` user), LIST owner names, uid/gid names of the SQL backends, the
 * `-l unix` backend and the admin tools. Guarantees: files are read asynchronously and again only
 * when they change (CachedFile: at most one stat per second, shared by concurrent callers); a broken
 * or hostile line is skipped, never thrown on; the first entry of a name or an id wins, as with the
 * C library; a missing or unreadable file reads as empty ("no such user"). Accounts known only to
 * other NSS sources (LDAP, sssd) are not seen: use numeric ids there.
 */
import { CachedFile } from './cached-file.js';

/** One /etc/passwd entry. */
export interface SystemUser {
  name: string;
  /** `x` (or `##name`) when the hash lives in /etc/shadow. */
  passwd: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

/** One /etc/group entry. */
export interface SystemGroup {
  name: string;
  gid: number;
  members: string[];
}

/**
 * Splits a colon file into field arrays, skipping blank, comment and NIS compat (`+`/`-`) lines,
 * without their CR.
 */
export function colonRecords(text: string): string[][] {
  const out: string[][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    out.push(line.split(':'));
  }
  return out;
}

/** A decimal uid/gid field, or undefined when it is not one. */
function idField(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,10}$/.test(text) && Number(text) <= 0xffffffff
    ? Number(text)
    : undefined;
}

/** The valid entries of a passwd file, in file order. */
export function parsePasswd(text: string): SystemUser[] {
  const users: SystemUser[] = [];
  for (const f of colonRecords(text)) {
    const uid = idField(f[2]);
    const gid = idField(f[3]);
    if (f.length < 7 || f[0] === '' || uid === undefined || gid === undefined) continue;
    users.push({ name: f[0], passwd: f[1], uid, gid, gecos: f[4], home: f[5], shell: f[6] });
  }
  return users;
}

/** The valid entries of a group file, in file order. */
function parseGroup(text: string): SystemGroup[] {
  const groups: SystemGroup[] = [];
  for (const f of colonRecords(text)) {
    const gid = idField(f[2]);
    if (f.length < 3 || f[0] === '' || gid === undefined) continue;
    groups.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return groups;
}

/** Indexes entries by a key; the first entry of a key wins, as the C library's linear search. */
function firstBy<K, V>(list: readonly V[], key: (entry: V) => K): ReadonlyMap<K, V> {
  const map = new Map<K, V>();
  for (const entry of list) if (!map.has(key(entry))) map.set(key(entry), entry);
  return map;
}

/** A parsed passwd file, indexed by name and by uid. */
export interface UserTable {
  list: readonly SystemUser[];
  byName: ReadonlyMap<string, SystemUser>;
  byUid: ReadonlyMap<number, SystemUser>;
}

/** A parsed group file, indexed by name and by gid. */
export interface GroupTable {
  list: readonly SystemGroup[];
  byName: ReadonlyMap<string, SystemGroup>;
  byGid: ReadonlyMap<number, SystemGroup>;
}

/** Parses and indexes a passwd file. */
export function userTable(text: string): UserTable {
  const list = parsePasswd(text);
  return { list, byName: firstBy(list, (u) => u.name), byUid: firstBy(list, (u) => u.uid) };
}

/** Parses and indexes a group file. */
function groupTable(text: string): GroupTable {
  const list = parseGroup(text);
  return { list, byName: firstBy(list, (g) => g.name), byGid: firstBy(list, (g) => g.gid) };
}

/** The tables of empty (or missing) files. */
export const EMPTY_USERS: UserTable = userTable('');
const EMPTY_GROUPS: GroupTable = groupTable('');

/** Where the databases are (tests point these at their own copies). */
export interface SystemDbFiles {
  passwd: string;
  group: string;
}

/** How a SystemDb reads its files. */
export interface SystemDbOptions {
  /** `latin1` for the admin tools, which compare and print names byte-for-byte like the C tools. */
  encoding?: 'utf8' | 'latin1';
  /** Least time between two looks at a file, in ms (default 1000). */
  checkIntervalMs?: number;
}

/** The user and group databases, cached and reloaded when they change. */
export class SystemDb {
  private readonly passwd: CachedFile<UserTable>;
  private readonly group: CachedFile<GroupTable>;

  constructor(
    files: SystemDbFiles = { passwd: '/etc/passwd', group: '/etc/group' },
    options: SystemDbOptions = {},
  ) {
    this.passwd = new CachedFile(files.passwd, userTable, { ...options, missing: EMPTY_USERS });
    this.group = new CachedFile(files.group, groupTable, { ...options, missing: EMPTY_GROUPS });
  }

  /** Every user; empty when the file cannot be read. */
  users(): Promise<UserTable> {
    return this.passwd.get().catch(() => EMPTY_USERS);
  }

  /** Every group; empty when the file cannot be read. */
  groups(): Promise<GroupTable> {
    return this.group.get().catch(() => EMPTY_GROUPS);
  }

  /** getpwnam(3). */
  async userByName(name: string): Promise<SystemUser | undefined> {
    return (await this.users()).byName.get(name);
  }

  /** getpwuid(3). */
  async userById(uid: number): Promise<SystemUser | undefined> {
    return (await this.users()).byUid.get(uid);
  }

  /** getgrnam(3). */
  async groupByName(name: string): Promise<SystemGroup | undefined> {
    return (await this.groups()).byName.get(name);
  }

  /** getgrgid(3). */
  async groupById(gid: number): Promise<SystemGroup | undefined> {
    return (await this.groups()).byGid.get(gid);
  }

  /** initgroups(3): `gid` plus every group listing `user` as a member. */
  async groupIdsOf(user: string, gid: number): Promise<number[]> {
    const ids = new Set<number>([gid]);
    for (const g of (await this.groups()).list) if (g.members.includes(user)) ids.add(g.gid);
    return [...ids];
  }
}

const shared = new Map<string, SystemDb>();

/** The machine's databases, one cache per process and encoding (the server reads UTF-8). */
export function systemDb(encoding: 'utf8' | 'latin1' = 'utf8'): SystemDb {
  let db = shared.get(encoding);
  if (db === undefined) {
    db = new SystemDb(undefined, { encoding });
    shared.set(encoding, db);
  }
  return db;
}
