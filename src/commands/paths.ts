/**
 * Path arguments (security-sensitive, see SECURITY.md): every path a command names is resolved here
 * to a normalised virtual path (storage/jail.ts) and checked against the name policy
 * (policy/names.ts) — by the gate for a row's path argument, and by handlers whose argument holds a
 * path among other words (MFMT, SITE CHMOD, LIST patterns), under the same rules.
 */
import { FtpError } from '../errors.js';
import { checkName, type NamePolicy } from '../policy/names.js';
import { resolveVirtual } from '../storage/jail.js';
import type { SessionContext } from '../session/context.js';
import type { VPath } from '../storage/types.js';
import type { PathRule } from './spec.js';
import { isTrusted } from '../policy/login-rules.js';
import { tr } from '../i18n/msg.js';

/** Root or a member of the -a trusted group. */
function trusted(s: SessionContext): boolean {
  return s.account !== undefined && isTrusted(s.account);
}

/** The name-policy inputs of a session. */
export function namePolicy(s: SessionContext): NamePolicy {
  const c = s.server.config;
  return {
    anonymous: s.anonymous,
    allowDotFiles: c.allowDotFiles,
    // Root and the -a trusted group ignore -x/-X (upstream §6.3).
    prohibitDotFilesWrite: c.prohibitDotFilesWrite && !trusted(s),
    prohibitDotFilesRead: c.prohibitDotFilesRead && !trusted(s),
    quota: s.limits.quota !== undefined,
  };
}

/**
 * Leading and trailing ASCII spaces of a new name become `_` (upstream §2.1), so names stay visible.
 * Only U+0020: other blanks (no-break, ideographic spaces) are part of the name, as in Pure-FTPd;
 * control characters never get here (the line reader made them `_`).
 */
export function blanksToUnderscores(arg: string): string {
  return arg.replace(/^ +| +$/g, (m) => '_'.repeat(m.length));
}

/** Resolves a row's path argument as its rule says; throws the FtpError the gate replies with. */
export function resolvePathRule(s: SessionContext, rule: PathRule, arg: string): VPath {
  let path: VPath;
  try {
    path = resolveVirtual(s.cwd, arg, s.home);
  } catch (err) {
    // MKD/RMD name the refusal as a directory name (upstream §2.3: `553 Prohibited directory name`).
    if (rule.dir === true && err instanceof FtpError && err.code === 'ERR_BAD_NAME') {
      throw new FtpError('ERR_BAD_NAME', tr`Prohibited directory name`);
    }
    throw err;
  }
  if (rule.file === true && path !== '/' && arg.endsWith('/')) {
    // POSIX: only a directory takes a trailing slash, so `RETR f/` or `STOR new/` must not reach
    // `f` or create `new` (Pure-FTPd gets ENOTDIR/EISDIR from open(2) and replies 550/553).
    throw rule.creates === true
      ? new FtpError('ERR_CANT_CREATE', tr`Can't open that file: Is a directory`)
      : new FtpError('ERR_NOT_DIR', tr`${arg}: Not a directory`);
  }
  checkName(path, rule.access, namePolicy(s), arg, rule.dir, rule.removes);
  return path;
}

/**
 * Resolves a path that is only part of an argument (MFMT, SITE CHMOD, LIST patterns) through the
 * same jail and name policy as the gate, so handlers with compound arguments are held to the same rules.
 */
export function resolvePathArg(s: SessionContext, arg: string, access: 'read' | 'write'): VPath {
  const p = resolveVirtual(s.cwd, arg, s.home);
  checkName(p, access, namePolicy(s), arg);
  return p;
}
