/**
 * Shape of one entry of the switch table (switches.ts). One entry serves the short letter, both long
 * names, the pure-ftpd.conf keys and the help line, so the four never drift apart (upstream §1.2, §1.3).
 */
import type { Config } from './types.js';

/** How a pure-ftpd.conf key feeds its switch (upstream §1.3). */
export interface ConfKey {
  /** Key as Pure-FTPd spells it; matched case-insensitively. */
  readonly key: string;
  /**
   * `bool`: yes/no; "yes" applies the switch, "no" omits it (Pure-FTPd has no negative switches).
   * `value`: the rest of the line is the switch value. `pair`: two numbers separated by a space
   * (or a colon) become `a:b`, the switch's own syntax.
   */
  readonly form: 'bool' | 'value' | 'pair';
  /** For a `bool` key of a valued switch: the value it passes (`UnixAuthentication` → `-l unix`). */
  readonly value?: string;
  /** For a `value` key: text put before the value (`PureDB path` → `-l puredb:path`). */
  readonly prefix?: string;
}

/** Per-source helpers given to a switch while it is applied. */
export interface ApplyContext {
  /**
   * True the first time `mark` is seen in the current source (command line, or the file with its
   * includes). Repeatable switches (-l, -d) restart from scratch in a later source so flags replace
   * the file's list; -S and -P keep the first address of a source, like Pure-FTPd (upstream §1.2).
   */
  firstInSource(mark: string): boolean;
  /** Port of a TCP service name from /etc/services, or undefined (-S accepts service names). */
  lookupService(name: string): Promise<number | undefined>;
  /** Directory relative paths are resolved against (the working directory at start-up). */
  readonly cwd: string;
}

/** What a switch does once parsed. `set` switches change Config; the others are handled by loadConfig. */
export type SwitchKind = 'set' | 'help' | 'version' | 'config' | 'debian-conf' | 'unsupported';

/** One switch: every spelling of it, its help line, and how its value changes Config. */
export interface SwitchSpec {
  /** Pure-FTPd's letter (`A`), absent for tsftpd-only switches. */
  readonly short?: string;
  /** Pure-FTPd's getopt_long name (`chrooteveryone`), absent for tsftpd-only switches. */
  readonly pureName?: string;
  /** Readable hyphenated long name (`chroot-everyone`); may equal pureName (`bind`). */
  readonly name: string;
  /** Placeholder of the value (`first:last`); present if and only if the switch takes a value. */
  readonly arg?: string;
  /** One-line help. */
  readonly help: string;
  /** pure-ftpd.conf keys that map to this switch. */
  readonly conf?: readonly ConfKey[];
  /** Defaults to `set`. */
  readonly kind?: SwitchKind;
  /** An `unsupported` switch's refusal, when it is not "not supported yet". */
  readonly refusal?: string;
  /**
   * Validates `value` ('' for a switch without value) and sets Config fields; throws ValueError with
   * the reason only. Absent for non-`set` kinds.
   */
  readonly apply?: (config: Config, value: string, ctx: ApplyContext) => void | Promise<void>;
}

/** One occurrence of a switch, from the command line or a config file, ready to be applied. */
export interface ParsedOption {
  readonly spec: SwitchSpec;
  /** Value handed to `apply` ('' for a switch without value). */
  readonly value: string;
  /** How the user wrote the switch, for messages: `-p`, `--bind`, `/etc/pure-ftpd.conf:7: Bind`. */
  readonly label: string;
  /** The value as the user wrote it, for messages (may differ from `value` for file keys). */
  readonly shown: string;
  /**
   * The value is the next argument and is itself a switch (`-c -S ...`): getopt takes it as the
   * value, as Pure-FTPd does, but a resulting error names the switch that swallowed it.
   */
  readonly swallowedSwitch?: boolean;
}
