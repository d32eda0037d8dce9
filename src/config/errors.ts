/**
 * Configuration errors. The message is complete and printable as is (`tsftpd: -p 80:90: ...`): start-up
 * prints it and exits, as Pure-FTPd does with `421 Configuration error` (spec §1.1), but naming the switch.
 */

/** A configuration problem found at start-up; `message` names the switch, key or file line at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * What a switch's value parser throws: only the reason (`the first passive port must be >= 1024`).
 * The caller knows how the switch was written (letter, long name, file line) and builds the ConfigError.
 */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** The ConfigError for one switch occurrence: `tsftpd: <label>[ <value>]: <reason>`. */
export function switchError(label: string, shown: string, reason: string): ConfigError {
  return new ConfigError(`tsftpd: ${label}${shown === '' ? '' : ` ${shown}`}: ${reason}`);
}
