/**
 * The system account files (/etc/passwd, /etc/group, /etc/shadow) read asynchronously, for the
 * admin tools: `pw -u/-g` and `show` (getpwnam/getpwuid/getgrnam/getgrgid in pure-pw), `quotacheck`
 * (ids and initgroups) and `pw import-system` (pure-pwconvert). Strings are kept as "binary"
 * (latin1) strings so that names compare and print byte-for-byte like the C tools.
 */
import { readFile } from 'node:fs/promises';

/** One /etc/passwd entry. */
export interface SystemUser {
  name: string;
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

/** Where the files are (overridable for tests of odd account databases). */
export interface SystemFiles {
  passwd: string;
  group: string;
  shadow: string;
  shells: string;
}

/** The standard locations. */
export const SYSTEM_FILES: SystemFiles = {
  passwd: '/etc/passwd',
  group: '/etc/group',
  shadow: '/etc/shadow',
  shells: '/etc/shells',
};

/** Splits a colon file into field arrays, skipping blank, comment and NIS (`+`/`-`) lines. */
function colonRecords(text: string): string[][] {
  const out: string[][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    out.push(line.split(':'));
  }
  return out;
}

/** A decimal id field, or undefined when it is not one. */
function idField(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,10}$/.test(text) && Number(text) <= 0xffffffff
    ? Number(text)
    : undefined;
}

const cache = new Map<string, Promise<string | undefined>>();

/** Reads a file once per process as a binary string; undefined when it cannot be read. */
function readCached(file: string): Promise<string | undefined> {
  let p = cache.get(file);
  if (p === undefined) {
    p = readFile(file, 'latin1').catch(() => undefined);
    cache.set(file, p);
  }
  return p;
}

/** Every user of the passwd file, in file order. */
export async function systemUsers(files: SystemFiles = SYSTEM_FILES): Promise<SystemUser[]> {
  const text = (await readCached(files.passwd)) ?? '';
  const users: SystemUser[] = [];
  for (const f of colonRecords(text)) {
    const uid = idField(f[2]);
    const gid = idField(f[3]);
    if (f.length < 7 || f[0] === '' || uid === undefined || gid === undefined) continue;
    users.push({ name: f[0], passwd: f[1], uid, gid, gecos: f[4], home: f[5], shell: f[6] });
  }
  return users;
}

/** Every group of the group file, in file order. */
export async function systemGroups(files: SystemFiles = SYSTEM_FILES): Promise<SystemGroup[]> {
  const text = (await readCached(files.group)) ?? '';
  const groups: SystemGroup[] = [];
  for (const f of colonRecords(text)) {
    const gid = idField(f[2]);
    if (f.length < 3 || f[0] === '' || gid === undefined) continue;
    groups.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter((m) => m !== '') });
  }
  return groups;
}

/** getpwnam(3) over the files. */
export async function userByName(name: string, files?: SystemFiles): Promise<SystemUser | undefined> {
  return (await systemUsers(files)).find((u) => u.name === name);
}

/** getpwuid(3) over the files (first entry with that uid, as the C library returns). */
export async function userById(uid: number, files?: SystemFiles): Promise<SystemUser | undefined> {
  return (await systemUsers(files)).find((u) => u.uid === uid);
}

/** getgrnam(3) over the files. */
export async function groupByName(name: string, files?: SystemFiles): Promise<SystemGroup | undefined> {
  return (await systemGroups(files)).find((g) => g.name === name);
}

/** getgrgid(3) over the files. */
export async function groupById(gid: number, files?: SystemFiles): Promise<SystemGroup | undefined> {
  return (await systemGroups(files)).find((g) => g.gid === gid);
}

/** initgroups(3): `gid` plus every group listing `user` as a member. */
export async function groupsOf(user: string, gid: number, files?: SystemFiles): Promise<number[]> {
  const ids = new Set<number>([gid]);
  for (const g of await systemGroups(files)) if (g.members.includes(user)) ids.add(g.gid);
  return [...ids];
}

/** Shadow hashes by login, or undefined when the shadow file cannot be read (not root). */
export async function shadowHashes(
  files: SystemFiles = SYSTEM_FILES,
): Promise<Map<string, string> | undefined> {
  const text = await readFile(files.shadow, 'latin1').catch(() => undefined);
  if (text === undefined) return undefined;
  const map = new Map<string, string>();
  for (const f of colonRecords(text)) if (f.length >= 2 && !map.has(f[0])) map.set(f[0], f[1]);
  return map;
}

/**
 * The shells getusershell(3) returns: the first `/...` word of every line that is not a comment;
 * with no readable /etc/shells, the C library's built-in `/bin/sh` and `/bin/csh`.
 */
export async function loginShells(files: SystemFiles = SYSTEM_FILES): Promise<string[]> {
  const text = await readFile(files.shells, 'latin1').catch(() => undefined);
  if (text === undefined) return ['/bin/sh', '/bin/csh'];
  const shells: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^[^#/]*(\/[^\s#]*)/.exec(line);
    if (m !== null) shells.push(m[1]);
  }
  return shells;
}

/** strtoul(3) then a cast to a `bits`-wide unsigned type: lenient, as the C tools parse numbers. */
export function cUnsigned(text: string, bits: 32 | 64): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(text) ?? ['', '', ''];
  const max64 = (1n << 64n) - 1n;
  let v = m[2] === '' ? 0n : BigInt(m[2]);
  if (v > max64) v = max64; // strtoul saturates at ULONG_MAX
  if (m[1] === '-' && v !== max64) v = (1n << 64n) - v;
  v &= max64;
  return bits === 32 ? v & 0xffffffffn : v;
}
