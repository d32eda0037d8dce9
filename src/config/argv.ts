/**
 * Command-line parsing with getopt_long's rules, which Pure-FTPd uses (upstream §1.1): clustered letters
 * (`-AjE`), attached or separate values (`-p40000:40100`, `-p 40000:40100`), `--name value` and
 * `--name=value` under Pure-FTPd's long names and the readable ones, unambiguous abbreviations, `--` to
 * end the switches. Unlike GNU getopt, a non-option argument is an error, as in Pure-FTPd, except the
 * single-argument form `tsftpd /path/to/pure-ftpd.conf`.
 */
import { ConfigError, switchError } from './errors.js';
import type { ParsedOption, SwitchSpec } from './switch-spec.js';
import { nearest } from './suggest.js';
import { findLong, findShort, longNames } from './switches.js';

/** The command line as switch occurrences, in order, and the file of the lone-argument form. */
export interface ParsedArgv {
  options: ParsedOption[];
  /** Set by `tsftpd /path/to/pure-ftpd.conf` (exactly one argument, not starting with `-`). */
  configFile?: string;
}

/** Splits argv (without node and the script) into switch occurrences; throws ConfigError on bad syntax. */
export function parseArgv(argv: readonly string[]): ParsedArgv {
  // Pure-FTPd: `argc == 2 && *argv[1] != '-'` means a config file (upstream §1.1).
  if (argv.length === 1 && !argv[0].startsWith('-')) return { options: [], configFile: argv[0] };
  const options: ParsedOption[] = [];
  let i = 0;
  const next = (): string | undefined => (i < argv.length ? argv[i++] : undefined);
  for (let arg = next(); arg !== undefined; arg = next()) {
    if (arg === '--') {
      const stray = next();
      if (stray !== undefined) throw invalidArgument(stray, options);
      break;
    }
    if (arg.startsWith('--')) {
      options.push(parseLong(arg, next));
    } else if (arg.startsWith('-') && arg !== '-') {
      parseCluster(arg, next, options);
    } else {
      throw invalidArgument(arg, options);
    }
  }
  return { options };
}

/**
 * A stray argument. Right after a switch that took the next switch as its value (`-c -S 127.0.0.1,21`
 * leaves `127.0.0.1,21` alone), the real mistake is the missing value: name that switch instead.
 */
function invalidArgument(arg: string, before: readonly ParsedOption[]): ConfigError {
  const last = before[before.length - 1];
  if (last?.swallowedSwitch === true) {
    return switchError(
      last.label,
      '',
      `needs a value (${last.spec.arg ?? ''}), got the switch ${last.shown}`,
    );
  }
  return new ConfigError(`tsftpd: invalid argument: ${JSON.stringify(arg)}`);
}

/**
 * True when `text` is a switch of the table as written on a command line (`-S`, `-AE`, `--bind=x`).
 * A negative number (`--auth-delay -1`) is taken for a value, even though `-1` is also a switch.
 */
function isSwitch(text: string): boolean {
  if (/^-\d+$/.test(text)) return false;
  if (text.startsWith('--')) {
    const found = text.length > 2 ? findLong(text.slice(2).split('=')[0]) : undefined;
    return found !== undefined && 'spec' in found;
  }
  return text.length > 1 && text.startsWith('-') && findShort(text[1]) !== undefined;
}

function parseLong(arg: string, next: () => string | undefined): ParsedOption {
  const eq = arg.indexOf('=');
  const written = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
  const found = findLong(written);
  if (found === undefined) {
    const guess = nearest(written, longNames());
    const hint = guess === undefined ? '' : `did you mean --${guess}? `;
    throw new ConfigError(`tsftpd: --${written}: unknown switch (${hint}see tsftpd --help)`);
  }
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
  if (eq >= 0) return { spec, value: arg.slice(eq + 1), label, shown: arg.slice(eq + 1) };
  const value = next();
  if (value === undefined) throw missingValue(label, spec);
  return { spec, value, label, shown: value, swallowedSwitch: isSwitch(value) };
}

function parseCluster(arg: string, next: () => string | undefined, options: ParsedOption[]): void {
  for (let j = 1; j < arg.length; j++) {
    const letter = arg[j];
    const spec = findShort(letter);
    const label = `-${letter}`;
    if (spec === undefined) throw new ConfigError(`tsftpd: ${label}: unknown switch (see tsftpd --help)`);
    if (spec.arg === undefined) {
      options.push({ spec, value: '', label, shown: '' });
      continue;
    }
    // A letter that takes a value swallows the rest of the cluster, or else the next argument.
    if (j + 1 < arg.length) {
      options.push({ spec, value: arg.slice(j + 1), label, shown: arg.slice(j + 1) });
      return;
    }
    const value = next();
    if (value === undefined) throw missingValue(label, spec);
    options.push({ spec, value, label, shown: value, swallowedSwitch: isSwitch(value) });
    return;
  }
}

function missingValue(label: string, spec: SwitchSpec): ConfigError {
  return switchError(label, '', `needs a value (${spec.arg ?? ''})`);
}
