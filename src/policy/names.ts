/**
 * Name policy (upstream §6.3, §12 "Name hygiene"): dot-names for anonymous and users (-z, -x, -X), and
 * the names tsftpd keeps for itself. The gate calls checkName() for every path argument before a
 * handler runs, so no handler can forget it.
 */
import { FtpError } from '../errors.js';
import type { VPath } from '../storage/types.js';
import { tr } from '../i18n/msg.js';

/** What the command does with its path. */
export type Access = 'read' | 'write';

/** The switches and account facts the policy depends on. */
export interface NamePolicy {
  anonymous: boolean;
  /** -z: anonymous may read dot-names. */
  allowDotFiles: boolean;
  /** -x: users can't write dot-names. */
  prohibitDotFilesWrite: boolean;
  /** -X: users can't read or write dot-names. */
  prohibitDotFilesRead: boolean;
  /** Quotas apply: names containing `.ftpquota` cannot be written (upstream §5.1). */
  quota?: boolean;
}

/** True when some component of the path starts with `.` (other than `.` and `..`, already resolved). */
export function hasDotComponent(p: VPath): boolean {
  return p.includes('/.');
}

/**
 * True when the session may see and read dot-names (upstream §6.3): users unless -X, anonymous only with
 * -z. Listings hide dot entries when this is false, whatever `-a` or -D ask, since reading is refused.
 */
export function dotNamesReadable(policy: NamePolicy): boolean {
  return policy.anonymous ? policy.allowDotFiles : !policy.prohibitDotFilesRead;
}

/** Names reserved for tsftpd's own files (temp uploads); never writable by clients. */
export function isReservedName(name: string): boolean {
  return name.startsWith('.pureftpd-');
}

/** True for the temp file name of an upload (upstream §6.4 `.pureftpd-upload.*`). */
export function isUploadTemp(p: VPath): boolean {
  return p.slice(p.lastIndexOf('/') + 1).startsWith('.pureftpd-upload.');
}

/**
 * Throws 553 when the policy forbids this access to the path (upstream §6.3).
 * @param shown the argument as the client typed it, for the reply text
 * @param removal the command removes the name (DELE)
 */
export function checkName(
  p: VPath,
  access: Access,
  policy: NamePolicy,
  shown: string,
  isDir = false,
  removal = false,
): void {
  const refuse = (): never => {
    throw new FtpError(
      'ERR_BAD_NAME',
      isDir ? tr`Prohibited directory name` : tr`Prohibited file name: ${shown}`,
    );
  };
  const last = p.slice(p.lastIndexOf('/') + 1);
  // A stale upload temp file (a crash left it) may be deleted; the storage refuses a live one.
  if (access === 'write' && isReservedName(last) && !(removal && isUploadTemp(p))) refuse();
  if (access === 'write' && policy.quota === true && p.includes('.ftpquota')) refuse();
  if (!hasDotComponent(p)) return;
  if (policy.anonymous) {
    if (access === 'write' || !policy.allowDotFiles) refuse();
    return;
  }
  if (policy.prohibitDotFilesRead) refuse();
  if (access === 'write' && policy.prohibitDotFilesWrite) refuse();
}
