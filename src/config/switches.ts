/**
 * THE switch table: every switch of tsftpd once, with its Pure-FTPd letter and long name, a readable
 * long name, its pure-ftpd.conf keys, its help line and how it sets Config (upstream §1.2, §1.3). The
 * command line, the config file, --help and the documentation are all derived from it.
 */
import type { ConfKey, SwitchSpec } from './switch-spec.js';
import { ACCESS_SWITCHES } from './switches-access.js';
import { AUTH_SWITCHES } from './switches-auth.js';
import { FILE_SWITCHES } from './switches-files.js';
import { NETWORK_SWITCHES } from './switches-network.js';
import { LIMIT_SWITCHES } from './switches-limits.js';
import { META_SWITCHES, UNSUPPORTED_SWITCHES } from './switches-other.js';
import { TLS_SWITCHES } from './switches-tls.js';
import { PROCESS_SWITCHES } from './switches-process.js';
import { OPS_SWITCHES } from './switches-ops.js';
import { CLUSTER_SWITCHES } from './switches-cluster.js';

/** Every switch, in help order within each topic. */
export const SWITCHES: readonly SwitchSpec[] = [
  ...NETWORK_SWITCHES,
  ...ACCESS_SWITCHES,
  ...AUTH_SWITCHES,
  ...FILE_SWITCHES,
  ...LIMIT_SWITCHES,
  ...TLS_SWITCHES,
  ...PROCESS_SWITCHES,
  ...OPS_SWITCHES,
  ...CLUSTER_SWITCHES,
  ...META_SWITCHES,
  ...UNSUPPORTED_SWITCHES,
];

const byShort = new Map<string, SwitchSpec>();
const byLong = new Map<string, SwitchSpec>();
const byConfKey = new Map<string, { spec: SwitchSpec; confKey: ConfKey }>();

// A duplicate spelling would make one switch unreachable: fail at load, long before any user sees it.
function register<T>(map: Map<string, T>, key: string, value: T, what: string): void {
  if (map.has(key)) throw new Error(`switch table: duplicate ${what} "${key}"`);
  map.set(key, value);
}
for (const spec of SWITCHES) {
  if (spec.short !== undefined) register(byShort, spec.short, spec, 'letter');
  register(byLong, spec.name, spec, 'long name');
  if (spec.pureName !== undefined && spec.pureName !== spec.name)
    register(byLong, spec.pureName, spec, 'long name');
  for (const confKey of spec.conf ?? [])
    register(byConfKey, confKey.key.toLowerCase(), { spec, confKey }, 'key');
}

/** The switch for a letter (`p` of `-p`). */
export function findShort(letter: string): SwitchSpec | undefined {
  return byShort.get(letter);
}

/** Result of a long-name lookup: a switch, or the switches an abbreviation could mean. */
export type LongLookup = { spec: SwitchSpec } | { ambiguous: SwitchSpec[] } | undefined;

/**
 * The switch for a long name, Pure-FTPd's or the readable one. Like getopt_long (which Pure-FTPd uses),
 * an unambiguous abbreviation is accepted: `--chroot` is `--chrooteveryone`.
 */
export function findLong(name: string): LongLookup {
  const exact = byLong.get(name);
  if (exact !== undefined) return { spec: exact };
  const matches = [...byLong].filter(([long]) => long.startsWith(name));
  const specs = new Set(matches.map(([, spec]) => spec));
  if (name === '' || specs.size === 0) return undefined;
  if (specs.size === 1) return { spec: matches[0][1] };
  return { ambiguous: [...specs] };
}

/** Every pure-ftpd.conf key as Pure-FTPd spells it, for "did you mean" suggestions. */
export function confKeyNames(): string[] {
  return [...byConfKey.values()].map((v) => v.confKey.key);
}

/** Every long name (Pure-FTPd's and the readable ones), for "did you mean" suggestions. */
export function longNames(): string[] {
  return [...byLong.keys()];
}

/** The switch behind a pure-ftpd.conf key, matched case-insensitively (upstream §1.3). */
export function findConfKey(key: string): { spec: SwitchSpec; confKey: ConfKey } | undefined {
  return byConfKey.get(key.toLowerCase());
}
