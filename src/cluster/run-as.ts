/**
 * The unprivileged user session workers run as when the server is started as root (--run-as, else
 * the first of tsftpd, ftp and nobody that exists).
 */
import { systemDb } from '../auth/system-db.js';

/** Users tried, in order, when --run-as is not given. */
export const DEFAULT_RUN_AS = ['tsftpd', 'ftp', 'nobody'] as const;

/** A user to run as. */
export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** The --run-as user (a name or a uid), else the first default that exists; an error line if none. */
export async function resolveRunAs(wanted: string | undefined): Promise<RunAs | { error: string }> {
  const db = systemDb();
  if (wanted !== undefined) {
    const user = /^\d+$/.test(wanted) ? await db.userById(Number(wanted)) : await db.userByName(wanted);
    if (user === undefined) {
      if (!/^\d+$/.test(wanted)) return { error: `--run-as ${wanted}: no such user` };
      // A bare uid without an account: its own number as the group, as useradd would.
      return refuseRoot({ name: wanted, uid: Number(wanted), gid: Number(wanted) });
    }
    return refuseRoot({ name: user.name, uid: user.uid, gid: user.gid });
  }
  for (const name of DEFAULT_RUN_AS) {
    const user = await db.userByName(name);
    if (user !== undefined && user.uid !== 0) return { name: user.name, uid: user.uid, gid: user.gid };
  }
  return {
    error:
      'started as root, the session workers need an unprivileged user and none of tsftpd, ftp, nobody exists: ' +
      'create one (useradd --system --no-create-home --shell /usr/sbin/nologin tsftpd) or give --run-as USER',
  };
}

function refuseRoot(user: RunAs): RunAs | { error: string } {
  if (user.uid === 0)
    return { error: `--run-as ${user.name}: session workers never run as root; name an unprivileged user` };
  return user;
}
