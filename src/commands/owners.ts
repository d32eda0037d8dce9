/**
 * Owner and group names in LIST (spec §2.4): names from the system databases for sessions that
 * are not chrooted, numeric ids otherwise (a jailed user should not learn the host's accounts).
 * /etc/passwd and /etc/group are read asynchronously and cached for a minute.
 */
import { readFile } from 'node:fs/promises';
import type { Session } from '../session/session.js';

const REFRESH_MS = 60_000;

interface NameCache {
  loadedAt: number;
  users: Map<number, string>;
  groups: Map<number, string>;
}

let cache: NameCache | undefined;
let loading: Promise<NameCache> | undefined;

async function parseIds(file: string): Promise<Map<number, string>> {
  const map = new Map<number, string>();
  try {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && !map.has(Number(f[2]))) map.set(Number(f[2]), f[0]!);
    }
  } catch {
    // no database: numeric ids
  }
  return map;
}

async function names(): Promise<NameCache> {
  if (cache !== undefined && Date.now() - cache.loadedAt < REFRESH_MS) return cache;
  loading ??= Promise.all([parseIds('/etc/passwd'), parseIds('/etc/group')]).then(([users, groups]) => {
    cache = { loadedAt: Date.now(), users, groups };
    loading = undefined;
    return cache;
  });
  return loading;
}

/** Maps an entry's uid/gid to the owner and group columns. */
export type OwnerResolver = (uid: number, gid: number) => { owner: string; group: string };

/** The owner/group resolver of a session for one listing (names loaded once, then synchronous). */
export async function ownerResolver(s: Session): Promise<OwnerResolver> {
  if (s.chrooted || s.anonymous) return (uid, gid) => ({ owner: String(uid), group: String(gid) });
  const c = await names();
  return (uid, gid) => ({ owner: c.users.get(uid) ?? String(uid), group: c.groups.get(gid) ?? String(gid) });
}
