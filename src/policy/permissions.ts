/**
 * Who may do what (upstream §6.1 anonymous rules, §6.4 -K -G -R, §1.2 -M -i): the one place that
 * decides, for a command row's permission, whether the session may go on. The gate calls
 * authorize() before any handler runs; the row holds the refusal text Pure-FTPd gives for it.
 * The rules of each permission are checked in Pure-FTPd's order (it checks -G before the anonymous
 * rule for renames, and the anonymous rule before -K for deletions).
 */
import type { Config } from '../config/types.js';

/** What a command does that an account may be refused. */
export type Permission = 'delete' | 'rename' | 'chmod' | 'utime' | 'mkdir' | 'rmdir' | 'upload';

/** Which rule refused: the anonymous restrictions, or a switch that turns the action off. */
export type Denial = 'anonymous' | 'switch';

/** What the decision depends on. */
export interface Who {
  anonymous: boolean;
  uid: number;
  /** Root or the -a trusted group: -K does not apply. */
  trusted?: boolean;
}

type Rule = (who: Who, config: Readonly<Config>) => Denial | undefined;

const anonymousOnly: Rule = (who) => (who.anonymous ? 'anonymous' : undefined);

/** Each permission's rules, in the order Pure-FTPd applies them. */
const RULES: Record<Permission, readonly Rule[]> = {
  // DELE: anonymous first, then -K (keep all files).
  delete: [anonymousOnly, (w, c) => (c.keepAllFiles && w.trusted !== true ? 'switch' : undefined)],
  // RNFR/RNTO: -G (no rename) first, then anonymous.
  rename: [(_w, c) => (c.noRename ? 'switch' : undefined), anonymousOnly],
  // SITE CHMOD: anonymous, then -R (no chmod) for everyone but root.
  chmod: [anonymousOnly, (w, c) => (c.noChmod && w.uid !== 0 ? 'switch' : undefined)],
  // MFMT, SITE UTIME: anonymous only.
  utime: [anonymousOnly],
  // MKD: anonymous unless -M.
  mkdir: [(w, c) => (w.anonymous && !c.anonymousCanCreateDirs ? 'anonymous' : undefined)],
  // RMD: never anonymous.
  rmdir: [anonymousOnly],
  // STOR APPE STOU: anonymous refused with -i.
  upload: [(w, c) => (w.anonymous && c.anonymousCantUpload ? 'anonymous' : undefined)],
};

/** The rule that refuses `need` for this account, or undefined when it is allowed. */
export function authorize(need: Permission, who: Who, config: Readonly<Config>): Denial | undefined {
  for (const rule of RULES[need]) {
    const denial = rule(who, config);
    if (denial !== undefined) return denial;
  }
  return undefined;
}
