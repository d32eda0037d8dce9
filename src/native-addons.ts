/**
 * The project's native addons (binding.gyp: tsftpd_fs, tsftpd_crypt, tsftpd_pam, tsftpd_pump,
 * tsftpd_syslog) and the optional libsodium inside tsftpd_crypt. Each comes from a source build
 * (build/Release) or from the prebuilt binaries shipped in the package (prebuilds/); the lookup
 * itself is native/addons.cjs, shared with the install script. Each addon is loaded once.
 *
 * TSFTPD_DISABLE_ADDONS=pam,sodium,... (part names or addon names) makes the listed parts behave
 * as if they were missing: for tests, and for an admin who wants the JavaScript paths.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One addon as native/addons.cjs describes it. */
export interface AddonInfo {
  name: string;
  /** Short name used by TSFTPD_DISABLE_ADDONS and the start-up line. */
  part: string;
  /** The server never starts without it. */
  required: boolean;
  /** What it provides, for messages. */
  what: string;
  /** Debian package of the shared library it links, when any. */
  runtime?: string;
  /** Debian package of the headers its build needs, when any. */
  dev?: string;
  /** Header whose absence makes binding.gyp skip the addon. */
  header?: string;
}

type LoadResult =
  | { ok: true; addon: unknown; file: string; origin: 'build' | 'prebuild' }
  | { ok: false; missing: boolean; reason: string };

/** The exports of native/addons.cjs used here. */
interface AddonsModule {
  ROOT: string;
  ADDONS: AddonInfo[];
  load(name: string): LoadResult;
}

/** Where an addon stands in this process. */
export type AddonState =
  | { ok: true; origin: 'build' | 'prebuild'; file: string }
  | { ok: false; reason: string; missing: boolean; disabled: boolean };

/** The environment variable listing parts to treat as missing. */
export const DISABLE_ENV = 'TSFTPD_DISABLE_ADDONS';
/** libsodium, optional inside tsftpd_crypt (dlopen'ed): Argon2 then uses the `argon2` package. */
export const SODIUM_PART: AddonInfo = {
  name: 'libsodium',
  part: 'sodium',
  required: false,
  what: "libsodium's Argon2 (Pure-FTPd's own, about 3x faster than the argon2 package)",
  runtime: 'libsodium23',
};

let addonsModule: AddonsModule | undefined;

/** native/addons.cjs, found by walking up from this file (src/ and dist/src/ alike). */
function addons(): AddonsModule {
  if (addonsModule !== undefined) return addonsModule;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'native', 'addons.cjs');
    if (existsSync(file)) {
      addonsModule = createRequire(import.meta.url)(file) as AddonsModule;
      return addonsModule;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('native/addons.cjs not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The package root (where package.json, build/ and prebuilds/ are). */
export function packageRoot(): string {
  return addons().ROOT;
}

/** Every addon binding.gyp builds, then libsodium. */
export function nativeParts(): readonly AddonInfo[] {
  return [...addons().ADDONS, SODIUM_PART];
}

/** The part called `nameOrPart` (`pam` or `tsftpd_pam`), if it exists. */
export function findPart(nameOrPart: string): AddonInfo | undefined {
  return nativeParts().find((p) => p.part === nameOrPart || p.name === nameOrPart);
}

/** The words of TSFTPD_DISABLE_ADDONS, lower-cased, empty ones dropped. */
export function disabledWords(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[DISABLE_ENV] ?? '')
    .split(/[\s,]+/)
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w !== '');
}

/** True when TSFTPD_DISABLE_ADDONS names this part (by part or addon name). */
export function isDisabled(info: AddonInfo, env: NodeJS.ProcessEnv = process.env): boolean {
  const words = disabledWords(env);
  return words.includes(info.part) || words.includes(info.name);
}

const loaded = new Map<string, LoadResult>();

function loadOnce(name: string): LoadResult {
  let result = loaded.get(name);
  if (result === undefined) {
    result = addons().load(name);
    loaded.set(name, result);
  }
  return result;
}

/** Whether addon `name` (e.g. `tsftpd_pam`) can be used here, and where it comes from. */
/**
 * Loads these addons now (those that can load; the rest fail later as usual): a process that is
 * about to give up root loads its code first, so it runs wherever tsftpd is installed.
 */
export function preloadAddons(names: readonly string[]): void {
  for (const name of names) {
    try {
      if (addonState(name).ok) loadOnce(name);
    } catch {
      // reported by loadAddon when used
    }
  }
}

export function addonState(name: string, env: NodeJS.ProcessEnv = process.env): AddonState {
  const info = findPart(name) ?? { name, part: name, required: false, what: name };
  if (isDisabled(info, env)) {
    return { ok: false, reason: `disabled by ${DISABLE_ENV}`, missing: false, disabled: true };
  }
  const r = loadOnce(name);
  return r.ok
    ? { ok: true, origin: r.origin, file: r.file }
    : { ok: false, reason: r.reason, missing: r.missing, disabled: false };
}

/** The command that re-runs tsftpd's install step where this copy lives. */
export function rebuildCommand(): string {
  const root = addons().ROOT;
  const parts = root.split(sep);
  if (parts.at(-2) !== 'node_modules') return `cd ${root} && npm rebuild`;
  // <prefix>/lib/node_modules/tsftpd is npm's global layout.
  return parts.at(-3) === 'lib' ? 'npm rebuild -g tsftpd' : 'npm rebuild tsftpd';
}

/** What to do so that `info` works, given why it does not. */
export function installHint(info: AddonInfo, state?: AddonState): string {
  const reason = state !== undefined && !state.ok ? state.reason : '';
  if (info === SODIUM_PART) return `apt-get install ${SODIUM_PART.runtime} (no rebuild needed)`;
  if (/GLIBC_[0-9.]+' not found/.test(reason)) {
    return (
      `the prebuilt addons need a newer glibc; compile them: apt-get install python3 make g++` +
      `${info.dev !== undefined ? ` ${info.dev}` : ''} && TSFTPD_BUILD_FROM_SOURCE=1 ${rebuildCommand()}`
    );
  }
  if (info.runtime !== undefined && /cannot open shared object file/.test(reason)) {
    return `apt-get install ${info.runtime}`;
  }
  const packages = info.dev ?? 'python3 make g++';
  return `apt-get install ${packages} && ${rebuildCommand()}`;
}

/** One sentence: why `info` cannot be used, what needs it (when given) and what to install. */
export function unavailableMessage(info: AddonInfo, state: AddonState, neededBy?: string): string {
  const why = state.ok ? 'available' : state.reason;
  const subject =
    neededBy === undefined ? `the ${info.name} addon` : `${neededBy} needs the ${info.name} addon`;
  return `${subject} (${info.what}), which is not available: ${why}. To get it: ${installHint(info, state)}`;
}

/**
 * Loads addon `name` (build/Release or prebuilds); rejects with what is missing and what to
 * install. The type parameter describes the addon's exports (the addon itself is untyped C).
 * `_hint` is accepted for older callers; the message now comes from the addon table.
 */
export function loadAddon<T>(name: string, _hint?: string): Promise<T> {
  const state = addonState(name);
  if (!state.ok) {
    const info = findPart(name) ?? { name, part: name, required: false, what: name };
    return Promise.reject(new Error(unavailableMessage(info, state)));
  }
  return Promise.resolve((loadOnce(name) as { addon: T }).addon);
}
