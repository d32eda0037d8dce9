/**
 * Command-line parsing with getopt_long's rules, which Pure-FTPd uses (spec §1.1): clustered letters
 * (`-AjE`), attached or separate values (`-p40000:40100`, `-p 40000:40100`), `--name value` and
 * `--name=value` under Pure-FTPd's long names and the readable ones, unambiguous abbreviations, `--` to
 * end the switches. Unlike GNU getopt, a non-option argument is an error, as in Pure-FTPd, except the
 * single-argument form `tsftpd /path/to/pure-ftpd.conf`.
 */
import { ConfigError, switchError } from './errors.js';
import type { ParsedOption, SwitchSpec } from './switch-spec.js';
import { findLong, findShort } from './switches.js';

/** The command line as switch occurrences, in order, and the file of the lone-argument form. */
export interface ParsedArgv {
  options: ParsedOption[];
  /** Set by `tsftpd /path/to/pure-ftpd.conf` (exactly one argument, not starting with `-`). */
  configFile?: string;
}

/** Splits argv (without node and the script) into switch occurrences; throws ConfigError on bad syntax. */
export function parseArgv(argv: readonly string[]): ParsedArgv {
  // Pure-FTPd: `argc == 2 && *argv[1] != '-'` means a config file (spec §1.1).
  if (argv.length === 1 && !argv[0]!.startsWith('-')) return { options: [], configFile: argv[0]! };
  const options: ParsedOption[] = [];
  let i = 0;
  const next = (): string | undefined => (i < argv.length ? argv[i++] : undefined);
  for (let arg = next(); arg !== undefined; arg = next()) {
    if (arg === '--') {
      const stray = next();
      if (stray !== undefined) throw invalidArgument(stray);
      break;
    }
    if (arg.startsWith('--')) {
      options.push(parseLong(arg, next));
    } else if (arg.startsWith('-') && arg !== '-') {
      parseCluster(arg, next, options);
    } else {
      throw invalidArgument(arg);
    }
  }
  return { options };
}

function invalidArgument(arg: string): ConfigError {
  return new ConfigError(`tsftpd: invalid argument: ${JSON.stringify(arg)}`);
}

function parseLong(arg: string, next: () => string | undefined): ParsedOption {
  const eq = arg.indexOf('=');
  const written = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
  const found = findLong(written);
  if (found === undefined) throw new ConfigError(`tsftpd: --${written}: unknown switch (see tsftpd --help)`);
  if ('ambiguous' in found) {
    const names = found.ambiguous.map((spec) => `--${spec.name}`).join(', ');
    throw new ConfigError(`tsftpd: --${written}: ambiguous, could be ${names}`);
  }
  const { spec } = found;
  const label = `--${written}`;
  if (spec.arg === undefined) {
    if (eq >= 0) throw switchError(label, '', 'takes no value');
    return { spec, value: '', label, shown: '' };
  }
  // getopt_long takes the next argument as the value even when it starts with '-'.
  const value = eq >= 0 ? arg.slice(eq + 1) : next();
  if (value === undefined) throw missingValue(label, spec);
  return { spec, value, label, shown: value };
}

function parseCluster(arg: string, next: () => string | undefined, options: ParsedOption[]): void {
  for (let j = 1; j < arg.length; j++) {
    const letter = arg[j]!;
    const spec = findShort(letter);
    const label = `-${letter}`;
    if (spec === undefined) throw new ConfigError(`tsftpd: ${label}: unknown switch (see tsftpd --help)`);
    if (spec.arg === undefined) {
      options.push({ spec, value: '', label, shown: '' });
      continue;
    }
    // A letter that takes a value swallows the rest of the cluster, or else the next argument.
    const value = j + 1 < arg.length ? arg.slice(j + 1) : next();
    if (value === undefined) throw missingValue(label, spec);
    options.push({ spec, value, label, shown: value });
    return;
  }
}

function missingValue(label: string, spec: SwitchSpec): ConfigError {
  return switchError(label, '', `needs a value (${spec.arg ?? ''})`);
}
