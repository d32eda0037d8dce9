/**
 * Configuration errors. The message is complete and printable as is (`tsftpd: -p 80:90: ...`): start-up
 * prints it and exits, as Pure-FTPd does with `421 Configuration error` (upstream §1.1), but naming the switch.
 * A config file is checked to the end, so one run reports every bad line (Pure-FTPd stops at the first).
 */

/** A configuration problem found at start-up; `message` names the switch, key or file line at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Every problem, one printable line each (the message adds a count line when there are several). */
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(
      list.length > 1
        ? [...list, `tsftpd: ${list.length} problems in the configuration; nothing was started`].join('\n')
        : (list[0] ?? 'tsftpd: configuration error'),
    );
    this.problems = list;
  }
}

/**
 * What a switch's value parser throws: only the reason (`the first passive port must be >= 1024`).
 * The caller knows how the switch was written (letter, long name, file line) and builds the ConfigError.
 */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** The message for one switch occurrence: `tsftpd: <label>[ <value>]: <reason>`. */
export function switchProblem(label: string, shown: string, reason: string): string {
  return `tsftpd: ${label}${shown === '' ? '' : ` ${shown}`}: ${reason}`;
}

/** The ConfigError for one switch occurrence: `tsftpd: <label>[ <value>]: <reason>`. */
export function switchError(label: string, shown: string, reason: string): ConfigError {
  return new ConfigError(switchProblem(label, shown, reason));
}
