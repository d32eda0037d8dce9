/**
 * `tsftpd quotacheck -u <user|uid> -d <dir> [-g <group|gid>]`: rebuilds `<dir>/.ftpquota` (upstream
 * §5.1), the pure-quotacheck of tsftpd, with its options, messages and exit statuses (-1..-5, i.e.
 * 255..251). Run as root it counts with the account's own ids, inside the tree as if chrooted there
 * (see quota-walk.ts), and leaves the file owned by the account; otherwise it counts with its own
 * ids. The file is replaced atomically with mode 0600: the server reading it never sees a
 * half-written count. On a terminal, a long count shows a progress line (quota-progress.ts).
 */
import { constants } from 'node:fs';
import { access, chmod, lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { getopt } from './getopt.js';
import { errorLine, strerror, toBinary } from './output.js';
import {
  QUOTA_FILE_NAME,
  canWriteIn,
  countTree,
  permits,
  quotaAddon,
  type WalkIdentity,
} from './quota-walk.js';
import { QuotaProgress } from './quota-progress.js';
import { systemDb } from '../auth/system-db.js';
import { cUnsigned } from './c-number.js';

/** Exit statuses: pure-quotacheck returns -1..-5 from main(). */
const EXIT = { usage: 255, ids: 254, enter: 253, traverse: 252, write: 251 } as const;

/** Our own usage text; printed on stdout with status 0, as pure-quotacheck's help. */
const USAGE = `
Usage:

tsftpd quotacheck -u <user|uid> -d <directory> [-g <group|gid>]

-d <directory>  the account's root (its chroot), where .ftpquota is written
-g <group|gid>  group to count as (default: the user's primary group)
-u <user|uid>   account to count as (must not be root)
-h              this help

`;

/** Prints the usage, status 0. */
function usage(): number {
  process.stdout.write(USAGE);
  return 0;
}

/** Parsed command line, or an exit status when parsing already decided. */
async function parseArgs(
  argv: string[],
  root: boolean,
): Promise<{ dir: string; uid: number; gid: number } | number> {
  let uid = root ? 0 : (process.geteuid?.() ?? 0);
  let gid = root ? 0 : (process.getegid?.() ?? 0);
  let dir: string | undefined;
  for (const item of getopt(argv, 'd:g:u:h').items) {
    if (item.kind === 'error') {
      errorLine(`tsftpd quotacheck: ${item.message}`);
      return usage();
    }
    const v = item.value ?? '';
    if (item.option === 'h') return usage();
    if (item.option === 'd') {
      if (dir !== undefined) {
        errorLine(toBinary(`Already one startpath: [${dir}]`));
        return EXIT.usage;
      }
      dir = v;
    } else if (item.option === 'g') {
      // As pure-quotacheck: a second -g (or any -g when not root, whose gid is already set) is refused.
      if (gid > 0) {
        errorLine('You already gave a gid');
        return EXIT.usage;
      }
      const group = await systemDb('latin1').groupByName(toBinary(v));
      gid = group !== undefined ? group.gid : Number(cUnsigned(v, 32));
    } else if (item.option === 'u') {
      const user = await systemDb('latin1').userByName(toBinary(v));
      uid = user !== undefined ? user.uid : Number(cUnsigned(v, 32));
      if (user !== undefined && gid === 0) gid = user.gid;
    }
  }
  if (dir === undefined) {
    errorLine('Missing path');
    return EXIT.usage;
  }
  if (uid <= 0 || gid <= 0) {
    errorLine(`Invalid/insecure/missing ${uid <= 0 ? 'uid' : 'gid'} - must be > 0`);
    return EXIT.ids;
  }
  return { dir, uid, gid };
}

/** Who the walk counts as, and the real root path; an exit status when the tree cannot be entered. */
async function identity(
  dir: string,
  uid: number,
  gid: number,
  root: boolean,
): Promise<{ who: WalkIdentity; top: string } | number> {
  const fail = (what: string, why: string): number => {
    errorLine(toBinary(`${what} [${dir}]: [${why}]`));
    return EXIT.enter;
  };
  try {
    const top = root ? await realpath(dir) : path.resolve(dir);
    const st = await stat(top, { bigint: true });
    if (!st.isDirectory()) return fail(root ? "Can't chroot to" : "Can't enter directory", 'Not a directory');
    if (!root) {
      await access(top, constants.X_OK);
      return { who: { uid, gid, groups: [gid], confined: false }, top };
    }
    // initgroups() needs the account's name: pure-quotacheck gives up without one.
    const user = await systemDb('latin1').userById(uid);
    if (user === undefined) return fail("Can't chroot to", `no account has uid ${uid}`);
    const who: WalkIdentity = {
      uid,
      gid,
      groups: await systemDb('latin1').groupIdsOf(user.name, gid),
      confined: true,
    };
    // After dropping privileges pure-quotacheck does chdir("/") in the chroot: it needs search permission.
    if (!permits(who, st, 1)) {
      errorLine("Can't switch uid/gid: [Permission denied]");
      return EXIT.enter;
    }
    return { who, top };
  } catch (err) {
    return fail(root ? "Can't chroot to" : "Can't enter directory", strerror(err));
  }
}

/** Writes `<files> <bytes>\n`, refusing what the account itself could not write (root mode). */
async function writeQuota(top: string, who: WalkIdentity, gid: number, text: string): Promise<void> {
  const file = path.join(top, QUOTA_FILE_NAME);
  if (who.confined) {
    const dirStat = await stat(top, { bigint: true });
    if (!canWriteIn(who, dirStat)) throw Object.assign(new Error('denied'), { code: 'EACCES' });
    const existing = await lstat(file, { bigint: true }).catch(() => undefined);
    if (existing?.isFile() === true && !permits(who, existing, 2)) {
      throw Object.assign(new Error('denied'), { code: 'EACCES' });
    }
  }
  await writeFileAtomic(file, text, { mode: 0o600, owner: who.confined ? { uid: who.uid, gid } : undefined });
}

/** Runs `tsftpd quotacheck ...`; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) return usage();
  const root = process.geteuid?.() === 0;
  const args = await parseArgs(argv, root);
  if (typeof args === 'number') return args;
  const entered = await identity(args.dir, args.uid, args.gid, root);
  if (typeof entered === 'number') return entered;
  const { who, top } = entered;
  // Loaded before the walk: as root, the walk runs with the account's ids, which may not read it.
  const addon = await quotaAddon();
  const progress = new QuotaProgress();
  let totals;
  try {
    totals = await countTree(top, who, (files, bytes) => progress.update(files, bytes), addon);
  } catch (err) {
    progress.finish();
    errorLine(toBinary(`Unable to traverse [${args.dir}]: [${strerror(err)}]`));
    return EXIT.traverse;
  }
  progress.finish();
  try {
    // pure-quotacheck gives the account u+rwx on its own root before writing the file there.
    const st = await stat(top, { bigint: true });
    if ((Number(st.mode) & 0o700) !== 0o700 && Number(st.uid) === args.uid) {
      await chmod(top, (Number(st.mode) & 0o7777) | 0o700).catch(() => undefined);
    }
    await writeQuota(top, who, args.gid, `${totals.files} ${totals.bytes}\n`);
  } catch (err) {
    errorLine(`Unable to update the quota file (${QUOTA_FILE_NAME}): [${strerror(err)}]`);
    return EXIT.write;
  }
  return 0;
}
