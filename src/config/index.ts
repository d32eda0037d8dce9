/**
 * Configuration loading (docs/architecture.md): built-in defaults < config file < command line,
 * validated once, frozen, then passed down; never global.
 */
import { loadAliases } from '../policy/aliases.js';
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { parseArgv } from './argv.js';
import { readConfEntries, readDebianEntries, type ConfEntry } from './conffile.js';
import { defaultConfig, quickstartConfig } from './defaults.js';
import { ConfigError, switchProblem, ValueError } from './errors.js';
import { helpText } from './help.js';
import { lookupService } from './services.js';
import type { ApplyContext, ParsedOption } from './switch-spec.js';
import type { Config } from './types.js';

export { parseArgv, type ParsedArgv } from './argv.js';
export { readConfEntries, readConfFile, type ConfEntry } from './conffile.js';
export { defaultConfig, quickstartConfig } from './defaults.js';
export { ConfigError } from './errors.js';
export { helpText } from './help.js';
export type { ConfKey, ParsedOption, SwitchKind, SwitchSpec } from './switch-spec.js';
export { SWITCHES } from './switches.js';
export type { AuthMethod, Bandwidth, Config } from './types.js';

/** What loadConfig found: a configuration to run with, or a text to print before exiting 0. */
export type LoadResult = { config: Readonly<Config> } | { help: string } | { version: string };

/**
 * Builds the configuration from argv (without node and the script). `--help` and `--version` win over
 * everything else; `--quickstart` anywhere switches the defaults; the config file comes from
 * `--config FILE` or the lone-argument form. Throws ConfigError with a printable message.
 */
export async function loadConfig(
  argv: readonly string[],
  _env: NodeJS.ProcessEnv = process.env,
): Promise<LoadResult> {
  const parsed = parseArgv(argv);
  const kindOf = (o: ParsedOption): string => o.spec.kind ?? 'set';
  const exit = parsed.options.find((o) => kindOf(o) === 'help' || kindOf(o) === 'version');
  if (exit !== undefined) {
    return kindOf(exit) === 'help' ? { help: helpText() } : { version: await versionText() };
  }

  const configSwitches = parsed.options.filter((o) => kindOf(o) === 'config');
  if (configSwitches.length > 1) throw new ConfigError('tsftpd: --config: given more than once');
  const configFile = parsed.configFile ?? configSwitches[0]?.value;
  const debianSwitches = parsed.options.filter((o) => kindOf(o) === 'debian-conf');
  if (debianSwitches.length > 1) throw new ConfigError('tsftpd: --debian-conf: given more than once');
  const debianDir = debianSwitches[0]?.value;

  const cwd = process.cwd();
  const quickstart = parsed.options.some((o) => o.spec.name === 'quickstart');
  const config = quickstart ? quickstartConfig(cwd) : defaultConfig();
  // Every problem of the file and of the command line is gathered, so one run reports them all.
  const problems: string[] = [];
  if (configFile !== undefined) await applyEntries(config, await readConfEntries(configFile), cwd, problems);
  if (debianDir !== undefined) await applyEntries(config, await readDebianEntries(debianDir), cwd, problems);
  await applyEntries(
    config,
    parsed.options.map((option) => ({ option })),
    cwd,
    problems,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  validate(config);
  // An explicit aliases file is read here; Debian's default one by the server (withDefaultFiles).
  if (config.aliasesFile !== undefined) config.aliases = await readAliases(config.aliasesFile);
  return { config: deepFreeze(config) };
}

/**
 * Applies one source's switch occurrences in order; help, version and --config are already handled.
 * A bad entry adds its message to `problems` and the next one is still applied.
 */
async function applyEntries(
  config: Config,
  entries: readonly ConfEntry[],
  cwd: string,
  problems: string[],
): Promise<void> {
  const seen = new Set<string>();
  const ctx: ApplyContext = {
    cwd,
    firstInSource: (mark) => {
      if (seen.has(mark)) return false;
      seen.add(mark);
      return true;
    },
    lookupService: (name) => lookupService(name),
  };
  for (const entry of entries) {
    if ('problem' in entry) {
      problems.push(entry.problem);
      continue;
    }
    const { option } = entry;
    const { spec } = option;
    if (spec.kind === 'unsupported') {
      problems.push(switchProblem(option.label, '', spec.refusal ?? 'not supported yet'));
      continue;
    }
    if (spec.apply === undefined) continue;
    try {
      await spec.apply(config, option.value, ctx);
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      problems.push(
        option.swallowedSwitch
          ? switchProblem(
              option.label,
              '',
              `needs a value (${spec.arg ?? ''}), got the switch ${option.shown}`,
            )
          : switchProblem(option.label, option.shown, err.message),
      );
    }
  }
}

/** Rules that involve several switches, checked once everything is applied. */
function validate(config: Config): void {
  if (config.ipv4Only && config.ipv6Only) throw new ConfigError('tsftpd: -4 and -6 cannot be used together');
  const host = config.bind.host;
  if (host !== undefined && config.ipv4Only && isIPv6(host)) {
    throw new ConfigError(`tsftpd: -4 (IPv4 only) conflicts with the IPv6 bind address ${host}`);
  }
  if (host !== undefined && config.ipv6Only && isIPv4(host)) {
    throw new ConfigError(`tsftpd: -6 (IPv6 only) conflicts with the IPv4 bind address ${host}`);
  }
  // Pure-FTPd caps -c at half the passive ports so sessions cannot run out of them (upstream §6.4); it
  // would reach 0 for a one-port range, which refuses everybody, so tsftpd keeps at least 1.
  const { first, last } = config.passivePorts;
  config.maxClients = Math.min(config.maxClients, Math.max(1, Math.floor((last - first + 1) / 2)));
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** `tsftpd <version>` from the package.json above this module (dist/src/config or src/config). */
export async function versionText(): Promise<string> {
  for (const up of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(await readFile(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'tsftpd' && typeof pkg.version === 'string') return `tsftpd ${pkg.version}`;
    } catch {
      // Not this level; try the next one.
    }
  }
  return 'tsftpd (unknown version)';
}

/** The aliases of `file` (undefined: the default file, if it exists); a damaged file is a ConfigError. */
async function readAliases(file: string | undefined): Promise<[string, string][] | undefined> {
  try {
    return await loadAliases(file);
  } catch (err) {
    throw new ConfigError(`tsftpd: ${(err as Error).message}`);
  }
}

/**
 * The configuration a running server uses: `config` plus what it reads from the machine's default
 * files when no switch named them (Debian's directory aliases file). Kept out of loadConfig so that
 * a configuration does not depend on the machine it is parsed on.
 */
export async function withDefaultFiles(config: Readonly<Config>): Promise<Readonly<Config>> {
  if (config.aliasesFile !== undefined) return config;
  const aliases = await readAliases(undefined);
  return aliases === undefined ? config : deepFreeze({ ...config, aliases });
}
