/**
 * Switch table, part 4: switches handled by loadConfig itself (help, version, config file, quickstart)
 * and Pure-FTPd switches tsftpd does not implement yet. Those are listed so that they, and their
 * pure-ftpd.conf keys, fail with "not supported yet" instead of "unknown" (upstream §1.2, §1.3).
 */
import type { SwitchSpec } from './switch-spec.js';

/** Help, version, --config and --quickstart. */
export const META_SWITCHES: readonly SwitchSpec[] = [
  { short: 'h', pureName: 'help', name: 'help', help: 'print this list and exit', kind: 'help' },
  { name: 'version', help: "print the version and exit (-V is Pure-FTPd's trusted IP)", kind: 'version' },
  {
    name: 'config',
    arg: 'file',
    help: 'read a pure-ftpd.conf style file first; switches on the command line override it',
    kind: 'config',
  },
  {
    name: 'debian-conf',
    arg: 'dir',
    help: "read Debian's one-file-per-option layout (DIR/conf, DIR/auth), as pure-ftpd-wrapper does; e.g. /etc/pure-ftpd",
    kind: 'debian-conf',
  },
  {
    name: 'quickstart',
    help: 'try-out preset: port 2121, anonymous root ./public, accounts in ./pureftpd.passwd, -j',
    // The defaults themselves are chosen by loadConfig before anything else is applied.
    apply: (c) => void (c.quickstart = true),
  },
];

/** Builds a not-yet-implemented entry; `arg` must be right so getopt-style parsing consumes the value. */
function unsupported(
  short: string,
  pureName: string,
  name: string,
  arg: string | undefined,
  help: string,
  conf: SwitchSpec['conf'],
): SwitchSpec {
  return { short, pureName, name, arg, help, conf, kind: 'unsupported' };
}

/** Pure-FTPd 1.0.50 switches refused on Linux (only -v: Bonjour is macOS-only). */
export const UNSUPPORTED_SWITCHES: readonly SwitchSpec[] = [
  {
    ...unsupported('v', 'bonjour', 'bonjour', 'name', 'Bonjour registration (macOS builds only)', [
      { key: 'Bonjour', form: 'value' },
    ]),
    // Pure-FTPd's Linux build has no -v either (it says "invalid option -- 'v'").
    refusal: 'Bonjour registration exists only in macOS builds; not available on Linux',
  },
];
