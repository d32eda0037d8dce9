/**
 * Owner and group names in LIST (upstream §2.4): names from the system databases for sessions that
 * are not chrooted, numeric ids otherwise (a jailed user should not learn the host's accounts).
 * /etc/passwd and /etc/group come from the shared, change-aware cache (auth/system-db.ts).
 */
import { systemDb } from '../auth/system-db.js';
import type { LoggedIn } from '../session/context.js';

/** Maps an entry's uid/gid to the owner and group columns. */
export type OwnerResolver = (uid: number, gid: number) => { owner: string; group: string };

/** The owner/group resolver of a session for one listing (names loaded once, then synchronous). */
export async function ownerResolver(s: LoggedIn): Promise<OwnerResolver> {
  if (s.chrooted || s.anonymous) return (uid, gid) => ({ owner: String(uid), group: String(gid) });
  const [users, groups] = await Promise.all([systemDb().users(), systemDb().groups()]);
  return (uid, gid) => ({
    owner: users.byUid.get(uid)?.name ?? String(uid),
    group: groups.byGid.get(gid)?.name ?? String(gid),
  });
}
