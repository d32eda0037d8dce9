/**
 * Where the virtual-user files live by default (upstream §3.2), in a module of its own so that the
 * admin tools (`tsftpd pw`) can share the server's defaults without loading every auth backend.
 */
import path from 'node:path';

/** Pure-FTPd's configuration directory on Debian (upstream §3.2). */
export const CONFDIR = '/etc/pure-ftpd';

/** The default `.pdb` and `pureftpd.passwd` paths (env overrides first, as pure-pw does). */
export function defaultUserFiles(
  quickstart: boolean,
  env: NodeJS.ProcessEnv = process.env,
): { pdb: string; passwd: string } {
  const dir = quickstart ? process.cwd() : CONFDIR;
  return {
    pdb: env.PURE_DBFILE ?? path.join(dir, 'pureftpd.pdb'),
    passwd: env.PURE_PASSWDFILE ?? path.join(dir, 'pureftpd.passwd'),
  };
}
